// The compiler runs each unit in four stages, so that declarations may refer forward:
//   1. load: parse the root file, follow #pragma include depth-first, track #pragma namespace,
//      and collect qualifier declarations, classes and instances with their namespace;
//   2. declare every qualifier (classes anywhere in the unit may use them);
//   3. define classes in source order, defining a class's superclass from the same unit first
//      when it comes later (a cycle is an error), then check the classes named by references and
//      EmbeddedInstance, which may be declared anywhere in the unit;
//   4. define instances, resolving $alias values to the aliased instance's key path, defining
//      that instance first when it comes later.
// Checks run here, before the repository sees a class, because only here are the source
// locations known; the repository repeats the class-level ones for other producers. A class
// that fails is remembered so that its subclasses and instances do not repeat the error.
#include "cimom/mof/compiler.hpp"

#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "cimom/mof/arena.hpp"
#include "cimom/mof/parser.hpp"
#include "cimom/name.hpp"
#include "cimom/object_path.hpp"

namespace vsnapd::cim::mof {

namespace {

constexpr std::size_t max_include_depth = 64;

// ---- small helpers ----

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string where_text(const source_manager& sm, source_location l) {
  std::string out = l.file < sm.size() ? sm.file(l.file).path : std::string("<unknown>");
  return out + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

bool read_file(const std::string& path, std::string& out, std::string& why) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    why = std::strerror(errno);
    return false;
  }
  out.clear();
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    why = "read error";
    return false;
  }
  return true;
}

cim_type to_cim_type(ast::data_type t) {
  switch (t) {
    case ast::data_type::boolean:
      return cim_type::boolean;
    case ast::data_type::uint8:
      return cim_type::uint8;
    case ast::data_type::sint8:
      return cim_type::sint8;
    case ast::data_type::uint16:
      return cim_type::uint16;
    case ast::data_type::sint16:
      return cim_type::sint16;
    case ast::data_type::uint32:
      return cim_type::uint32;
    case ast::data_type::sint32:
      return cim_type::sint32;
    case ast::data_type::uint64:
      return cim_type::uint64;
    case ast::data_type::sint64:
      return cim_type::sint64;
    case ast::data_type::real32:
      return cim_type::real32;
    case ast::data_type::real64:
      return cim_type::real64;
    case ast::data_type::char16:
      return cim_type::char16;
    case ast::data_type::string:
      return cim_type::string;
    case ast::data_type::datetime:
      return cim_type::datetime;
    case ast::data_type::reference:
      return cim_type::reference;
  }
  return cim_type::string;
}

std::uint16_t to_cim_scopes(std::uint16_t bits) {
  std::uint16_t out = 0;
  auto map = [&](std::uint16_t from, scope to) {
    if ((bits & from) != 0) {
      out |= static_cast<std::uint16_t>(to);
    }
  };
  map(ast::scope_class, scope::class_);
  map(ast::scope_association, scope::association);
  map(ast::scope_indication, scope::indication);
  map(ast::scope_qualifier, scope::qualifier);
  map(ast::scope_property, scope::property);
  map(ast::scope_reference, scope::reference);
  map(ast::scope_method, scope::method);
  map(ast::scope_parameter, scope::parameter);
  return out;
}

std::string scope_names(std::uint16_t cim_scopes) {
  if ((cim_scopes & static_cast<std::uint16_t>(scope::any)) ==
      static_cast<std::uint16_t>(scope::any)) {
    return "any";
  }
  static constexpr std::pair<scope, std::string_view> names[] = {
      {scope::class_, "class"},          {scope::association, "association"},
      {scope::indication, "indication"}, {scope::property, "property"},
      {scope::reference, "reference"},   {scope::method, "method"},
      {scope::parameter, "parameter"},   {scope::qualifier, "qualifier"}};
  std::string out;
  for (const auto& [s, n] : names) {
    if ((cim_scopes & static_cast<std::uint16_t>(s)) != 0) {
      if (!out.empty()) {
        out += ", ";
      }
      out += n;
    }
  }
  return out.empty() ? "nothing" : out;
}

// Applies the flavors written at a declaration or use over @p base. Returns false (with
// @p conflict set) when the text names both halves of a pair.
bool apply_flavors(std::uint8_t written, std::uint8_t& base, std::string& conflict) {
  if ((written & ast::flavor_enable_override) && (written & ast::flavor_disable_override)) {
    conflict = "EnableOverride and DisableOverride";
    return false;
  }
  if ((written & ast::flavor_to_subclass) && (written & ast::flavor_restricted)) {
    conflict = "ToSubclass and Restricted";
    return false;
  }
  const auto eo = static_cast<std::uint8_t>(flavor::enable_override);
  const auto ts = static_cast<std::uint8_t>(flavor::to_subclass);
  const auto tr = static_cast<std::uint8_t>(flavor::translatable);
  if (written & ast::flavor_enable_override) {
    base |= eo;
  }
  if (written & ast::flavor_disable_override) {
    base &= static_cast<std::uint8_t>(~eo);
  }
  if (written & ast::flavor_to_subclass) {
    base |= ts;
  }
  if (written & ast::flavor_restricted) {
    base &= static_cast<std::uint8_t>(~ts);
  }
  if (written & ast::flavor_translatable) {
    base |= tr;
  }
  return true;
}

std::string_view kind_name(const ast::value& v) {
  switch (v.k) {
    case ast::value::kind::null:
      return "NULL";
    case ast::value::kind::boolean:
      return "a boolean";
    case ast::value::kind::integer:
      return "an integer";
    case ast::value::kind::real:
      return "a real number";
    case ast::value::kind::string:
      return "a string";
    case ast::value::kind::char16:
      return "a char16";
    case ast::value::kind::alias:
      return "an alias";
    case ast::value::kind::array:
      return "an array";
  }
  return "a value";
}

std::string type_text(cim_type t, bool is_array) {
  std::string s(to_string(t));
  if (is_array) {
    s += " array";
  }
  return s;
}

struct int_range {
  bool is_signed;
  std::uint64_t max_positive;  // largest allowed magnitude when positive
  std::uint64_t max_negative;  // largest allowed magnitude when negative
  const char* text;
};

int_range range_of(cim_type t) {
  switch (t) {
    case cim_type::uint8:
      return {false, 0xFF, 0, "0 to 255"};
    case cim_type::sint8:
      return {true, 0x7F, 0x80, "-128 to 127"};
    case cim_type::uint16:
      return {false, 0xFFFF, 0, "0 to 65535"};
    case cim_type::sint16:
      return {true, 0x7FFF, 0x8000, "-32768 to 32767"};
    case cim_type::uint32:
      return {false, 0xFFFFFFFFull, 0, "0 to 4294967295"};
    case cim_type::sint32:
      return {true, 0x7FFFFFFFull, 0x80000000ull, "-2147483648 to 2147483647"};
    case cim_type::uint64:
      return {false, UINT64_MAX, 0, "0 to 18446744073709551615"};
    default:
      return {true, 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull,
              "-9223372036854775808 to 9223372036854775807"};
  }
}

// Resolves `$alias` to a reference value (instances only); nullopt after reporting an error.
using alias_resolver = std::function<std::optional<scalar>(const ast::value&)>;

// ---- the compilation unit ----

struct unit_qualifier {
  ast::qualifier_decl decl;
  std::string_view ns;
};

enum class class_state : std::uint8_t { pending, in_progress, done, failed };

struct unit_class {
  ast::class_decl decl;
  std::string_view ns;
  class_state state = class_state::pending;
};

enum class instance_state : std::uint8_t { pending, in_progress, done, failed };

struct unit_instance {
  ast::instance_decl decl;
  std::string_view ns;
  instance_state state = instance_state::pending;
  const class_decl* cls = nullptr;
  instance lowered;
  std::optional<object_path> path;
};

struct deferred_class_check {
  std::string ns;
  std::string name;
  source_location where;
  std::string what;  // "reference 'X.P'" / "EmbeddedInstance of property 'X.P'"
};

}  // namespace

struct compiler::impl {
  impl(class_repository& r, compile_options o) : repo(r), options(std::move(o)) {}

  class_repository& repo;
  compile_options options;
  source_manager sources;
  diagnostics diags;
  text_arena arena;
  std::size_t classes_added = 0;
  std::vector<compiled_instance> instances;

  // Per-unit state, cleared by begin_unit().
  std::deque<std::string> namespaces;  // stable storage for the views below
  std::vector<unit_qualifier> qualifiers;
  std::vector<unit_class> classes;
  std::vector<unit_instance> unit_instances;
  std::vector<std::uint32_t> include_stack;
  std::vector<deferred_class_check> deferred;
  // (namespace, folded class name) -> index into `classes`
  std::unordered_map<std::string, std::size_t> class_index;
  // folded class names (with namespace) whose declaration failed: silence follow-on errors
  std::unordered_set<std::string> failed_classes;
  // folded alias name -> instance indices defining it, in order
  std::unordered_map<std::string, std::vector<std::size_t>> aliases;

  bool read(const std::string& path, std::string& text, std::string& why) const {
    return options.read_file ? options.read_file(path, text, why) : read_file(path, text, why);
  }

  static std::string key(std::string_view ns, std::string_view name) {
    std::string k = fold_name(ns);
    k += ':';
    k += fold_name(name);
    return k;
  }

  void begin_unit() {
    namespaces.clear();
    qualifiers.clear();
    classes.clear();
    unit_instances.clear();
    include_stack.clear();
    deferred.clear();
    class_index.clear();
    failed_classes.clear();
    aliases.clear();
  }

  std::string_view intern_ns(std::string_view ns) {
    std::string n = normalize_namespace(ns);
    for (const auto& existing : namespaces) {
      if (existing == n) {
        return existing;
      }
    }
    namespaces.push_back(std::move(n));
    return namespaces.back();
  }

  bool ensure_namespace(std::string_view ns, source_location where) {
    if (repo.has_namespace(ns)) {
      return true;
    }
    if (auto r = repo.add_namespace(ns); !r) {
      diags.error(where, "cannot create namespace " + quote(ns) + ": " + r.error().description);
      return false;
    }
    return true;
  }

  // ---- stage 1: load files, act on pragmas, collect productions ----

  // Parses one file and its includes in place; `ns` is the current namespace, which an
  // included file's #pragma namespace changes for the rest of the including file too (as
  // textual inclusion would).
  void load(std::uint32_t file, std::string_view& ns) {
    if (include_stack.size() >= max_include_depth) {
      diags.error({file, 1, 1}, "includes nested deeper than " + std::to_string(max_include_depth) +
                                    " files (expected an include chain without a cycle)");
      return;
    }
    include_stack.push_back(file);
    auto productions = parse(file, sources.file(file).text, arena, diags);
    for (auto& p : productions) {
      if (auto* pr = std::get_if<ast::pragma>(&p)) {
        pragma(*pr, ns);
      } else if (auto* q = std::get_if<ast::qualifier_decl>(&p)) {
        qualifiers.push_back({std::move(*q), ns});
      } else if (auto* c = std::get_if<ast::class_decl>(&p)) {
        classes.push_back({std::move(*c), ns});
      } else {
        unit_instances.push_back({std::move(std::get<ast::instance_decl>(p)), ns});
      }
    }
    include_stack.pop_back();
  }

  void pragma(const ast::pragma& p, std::string_view& ns) {
    if (iequals(p.name, "include")) {
      include(p, ns);
    } else if (iequals(p.name, "namespace")) {
      if (p.value.empty()) {
        diags.error(p.value_where, "expected a namespace name in #pragma namespace, found \"\"");
        return;
      }
      ns = intern_ns(p.value);
    } else if (iequals(p.name, "locale")) {
      // ISO 639 language, optionally '_' and an ISO 3166 country: "en_US", "de".
      const std::string_view v = p.value;
      auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
      auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
      const bool ok = (v.size() == 2 && lower(v[0]) && lower(v[1])) ||
                      (v.size() == 5 && lower(v[0]) && lower(v[1]) && v[2] == '_' && upper(v[3]) &&
                       upper(v[4]));
      if (!ok) {
        diags.warning(p.value_where, "pragma locale value \"" + std::string(v) +
                                         "\" is not a locale (expected language_COUNTRY, e.g. "
                                         "\"en_US\"); ignored");
      }
    } else if (iequals(p.name, "instancelocale") || iequals(p.name, "source") ||
               iequals(p.name, "sourcetype") || iequals(p.name, "nonlocal") ||
               iequals(p.name, "nonlocaltype")) {
      diags.warning(p.where,
                    "pragma " + quote(p.name) + " is not implemented by this compiler; ignored");
    } else {
      diags.warning(p.where, "unknown pragma " + quote(p.name) +
                                 " (expected include, namespace or locale); ignored");
    }
  }

  // Relative includes are looked up next to the including file first (how the DMTF schema
  // is laid out), then in the configured include directories.
  void include(const ast::pragma& p, std::string_view& ns) {
    namespace fs = std::filesystem;
    const fs::path wanted(std::string(p.value));
    std::vector<fs::path> candidates;
    if (wanted.is_absolute()) {
      candidates.push_back(wanted);
    } else {
      const fs::path here = fs::path(sources.file(p.where.file).path).parent_path();
      candidates.push_back(here / wanted);
      for (const auto& dir : options.include_dirs) {
        candidates.push_back(fs::path(dir) / wanted);
      }
    }
    std::string why;
    for (const auto& c : candidates) {
      std::string text;
      if (!read(c.lexically_normal().string(), text, why)) {
        continue;
      }
      const std::string path = c.lexically_normal().string();
      for (const auto open : include_stack) {
        if (sources.file(open).path == path) {
          diags.error(p.value_where, "file " + quote(path) +
                                         " includes itself (expected an include chain without "
                                         "a cycle)");
          return;
        }
      }
      const std::uint32_t id = sources.add(path, std::move(text));
      load(id, ns);
      return;
    }
    std::string looked;
    for (const auto& c : candidates) {
      looked += looked.empty() ? "" : ", ";
      looked += c.string();
    }
    diags.error(p.value_where, "cannot open included file \"" + std::string(p.value) +
                                   "\" (looked for " + looked + ": " + why + ")");
  }

  // ---- values ----

  // Converts one literal to a scalar of `type`, or reports why it cannot: integers are
  // range-checked exactly (sign and 64-bit magnitude), integers widen to reals (DSP0004 allows
  // it), strings become datetimes or object paths only when they parse as such.
  std::optional<scalar> lower_scalar(const ast::value& v, cim_type type, const std::string& what,
                                     const alias_resolver* aliases_fn) {
    auto mismatch = [&]() -> std::optional<scalar> {
      diags.error(v.where, std::string(type == cim_type::object ? "expected an " : "expected a ") +
                               std::string(to_string(type)) + " value for " + what + ", found " +
                               std::string(kind_name(v)));
      return std::nullopt;
    };
    switch (v.k) {
      case ast::value::kind::boolean:
        if (type != cim_type::boolean) {
          return mismatch();
        }
        return scalar(v.boolean);
      case ast::value::kind::integer: {
        if (is_real(type)) {
          if (v.overflow) {
            break;
          }
          const double d =
              v.negative ? -static_cast<double>(v.magnitude) : static_cast<double>(v.magnitude);
          if (type == cim_type::real32) {
            return scalar(static_cast<float>(d));
          }
          return scalar(d);
        }
        if (!is_integer(type)) {
          return mismatch();
        }
        const int_range r = range_of(type);
        const bool fits =
            !v.overflow && (v.negative ? (r.is_signed && v.magnitude <= r.max_negative)
                                       : v.magnitude <= r.max_positive);
        if (!fits) {
          // magnitude 0 with a '-' sign is just zero
          if (!(v.negative && v.magnitude == 0 && !v.overflow)) {
            diags.error(v.where, "value " + std::string(v.text) + " is out of range for " + what +
                                     " (expected a " + std::string(to_string(type)) + ", " +
                                     r.text + ")");
            return std::nullopt;
          }
        }
        const std::uint64_t m = v.magnitude;
        const std::int64_t sv =
            v.negative ? static_cast<std::int64_t>(0 - m) : static_cast<std::int64_t>(m);
        switch (type) {
          case cim_type::uint8:
            return scalar(static_cast<std::uint8_t>(m));
          case cim_type::sint8:
            return scalar(static_cast<std::int8_t>(sv));
          case cim_type::uint16:
            return scalar(static_cast<std::uint16_t>(m));
          case cim_type::sint16:
            return scalar(static_cast<std::int16_t>(sv));
          case cim_type::uint32:
            return scalar(static_cast<std::uint32_t>(m));
          case cim_type::sint32:
            return scalar(static_cast<std::int32_t>(sv));
          case cim_type::uint64:
            return scalar(static_cast<std::uint64_t>(m));
          default:
            return scalar(sv);
        }
      }
      case ast::value::kind::real:
        if (!is_real(type)) {
          return mismatch();
        }
        if (type == cim_type::real32) {
          if (std::isfinite(v.real) && std::fabs(v.real) > FLT_MAX) {
            diags.error(v.where, "value " + std::string(v.text) + " is out of range for " + what +
                                     " (expected a real32, at most 3.40282347e+38 in magnitude)");
            return std::nullopt;
          }
          return scalar(static_cast<float>(v.real));
        }
        if (std::isinf(v.real)) {
          diags.error(v.where, "value " + std::string(v.text) + " is out of range for " + what +
                                   " (expected a real64, at most 1.7976931348623157e+308)");
          return std::nullopt;
        }
        return scalar(v.real);
      case ast::value::kind::char16:
        if (type != cim_type::char16) {
          return mismatch();
        }
        return scalar(v.ch);
      case ast::value::kind::string:
        switch (type) {
          case cim_type::string:
            return scalar(std::string(v.text));
          case cim_type::datetime: {
            auto dt = datetime::parse(v.text);
            if (!dt) {
              diags.error(v.where, "invalid datetime \"" + std::string(v.text) + "\" for " + what +
                                       ": " + dt.error().description);
              return std::nullopt;
            }
            return scalar(*dt);
          }
          case cim_type::reference: {
            auto path = object_path::parse(v.text);
            if (!path) {
              diags.error(v.where, "invalid object path \"" + std::string(v.text) + "\" for " +
                                       what + ": " + path.error().description);
              return std::nullopt;
            }
            return scalar(std::make_shared<const object_path>(std::move(*path)));
          }
          case cim_type::object:
            diags.error(v.where, "expected an embedded instance for " + what +
                                     ", found a string (MOF text of embedded objects is not "
                                     "supported; use NULL)");
            return std::nullopt;
          default:
            return mismatch();
        }
      case ast::value::kind::alias:
        if (type != cim_type::reference) {
          return mismatch();
        }
        if (aliases_fn == nullptr) {
          diags.error(v.where, "alias $" + std::string(v.text) + " used for " + what +
                                   " (expected a value: aliases are allowed only in instance "
                                   "property values)");
          return std::nullopt;
        }
        return (*aliases_fn)(v);
      case ast::value::kind::null:
      case ast::value::kind::array:
        break;
    }
    return mismatch();
  }

  // Checks @p v against the type; @p lenient_array accepts a scalar where an array is
  // expected (qualifier values such as ValueMap("1")).
  std::optional<value> lower_value(const ast::value& v, cim_type type, bool is_array,
                                   const std::string& what, bool lenient_array = false,
                                   const alias_resolver* aliases_fn = nullptr) {
    if (v.k == ast::value::kind::null) {
      return value::null(type, is_array);
    }
    if (v.k == ast::value::kind::array) {
      if (!is_array) {
        diags.error(v.where, "expected a scalar " + std::string(to_string(type)) + " value for " +
                                 what + ", found an array");
        return std::nullopt;
      }
      std::vector<scalar> elements;
      elements.reserve(v.elements.size());
      bool ok = true;
      for (const auto& e : v.elements) {
        if (e.k == ast::value::kind::null || e.k == ast::value::kind::array) {
          diags.error(e.where, "expected a " + std::string(to_string(type)) +
                                   " array element for " + what + ", found " +
                                   std::string(kind_name(e)));
          ok = false;
          continue;
        }
        auto s = lower_scalar(e, type, what, aliases_fn);
        if (!s) {
          ok = false;
          continue;
        }
        elements.push_back(std::move(*s));
      }
      if (!ok) {
        return std::nullopt;
      }
      return value::array(type, std::move(elements));
    }
    if (is_array && !lenient_array) {
      diags.error(v.where, "expected an array value {...} of " + std::string(to_string(type)) +
                               " for " + what + ", found " + std::string(kind_name(v)));
      return std::nullopt;
    }
    auto s = lower_scalar(v, type, what, aliases_fn);
    if (!s) {
      return std::nullopt;
    }
    if (is_array) {
      std::vector<scalar> one;
      one.push_back(std::move(*s));
      return value::array(type, std::move(one));
    }
    return value(std::move(*s));
  }

  // ---- stage 2: qualifier declarations ----

  // A qualifier declaration's default flavors are DSP0004's (EnableOverride, ToSubclass);
  // the written ones override them pairwise.
  void declare_qualifier(const unit_qualifier& uq) {
    const ast::qualifier_decl& q = uq.decl;
    if (!ensure_namespace(uq.ns, q.where)) {
      return;
    }
    qualifier_decl d;
    d.name = std::string(q.name);
    d.type = to_cim_type(q.type.type);
    d.is_array = q.type.is_array;
    if (q.type.array_size != 0) {
      d.array_size = q.type.array_size;
    }
    d.scopes = to_cim_scopes(q.scopes);
    d.flavors = default_flavors;
    std::string conflict;
    if (!apply_flavors(q.flavors, d.flavors, conflict)) {
      diags.error(q.where, "qualifier declaration " + quote(q.name) + " has conflicting flavors " +
                               conflict + " (expected at most one of each pair)");
      return;
    }
    const std::string what = "the default of qualifier " + quote(q.name);
    if (q.default_value) {
      auto v = lower_value(*q.default_value, d.type, d.is_array, what);
      if (!v) {
        return;
      }
      d.default_value = std::move(*v);
    } else {
      d.default_value = value::null(d.type, d.is_array);
    }
    if (d.type == cim_type::reference) {
      diags.error(q.type.where, "qualifier " + quote(q.name) +
                                    " cannot have a reference type (expected an intrinsic type)");
      return;
    }
    if (auto r = repo.add_qualifier_decl(uq.ns, std::move(d)); !r) {
      diags.error(q.where, r.error().description);
    }
  }

  // ---- stage 3: classes ----

  // Checks and lowers the qualifiers of one element. @p allowed is the set of scopes the
  // element satisfies; @p inherited are the qualifiers the element inherits (for
  // DisableOverride). Returns false after reporting errors.
  bool lower_qualifiers(const ast::qualifier_list& in, std::string_view ns, std::uint16_t allowed,
                        std::string_view element_kind, const std::string& element,
                        const qualifier_list* inherited, std::string_view inherited_from,
                        qualifier_list& out) {
    bool ok = true;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const ast::qualifier& q = in[i];
      bool dup = false;
      for (std::size_t j = 0; j < i; ++j) {
        if (iequals(in[j].name, q.name)) {
          diags.error(q.where, "qualifier " + quote(q.name) + " appears twice on " + element +
                                   " (first at " + where_text(sources, in[j].where) + ")");
          dup = true;
          break;
        }
      }
      if (dup) {
        ok = false;
        continue;
      }
      const qualifier_decl* decl = repo.find_qualifier_decl(ns, q.name);
      if (decl == nullptr) {
        diags.error(q.where, "qualifier " + quote(q.name) + " is not declared in namespace " +
                                 quote(ns) +
                                 " (expected a 'Qualifier' declaration before it is used)");
        ok = false;
        continue;
      }
      if ((decl->scopes & allowed) == 0) {
        diags.error(q.where, "qualifier " + quote(decl->name) + " is not allowed on " +
                                 std::string(element_kind) + " " + element +
                                 " (its declared scope is " + scope_names(decl->scopes) + ")");
        ok = false;
        continue;
      }
      qualifier out_q;
      out_q.name = decl->name;
      out_q.flavors = decl->flavors;
      std::string conflict;
      if (!apply_flavors(q.flavors, out_q.flavors, conflict)) {
        diags.error(q.where, "qualifier " + quote(q.name) + " has conflicting flavors " + conflict +
                                 " (expected at most one of each pair)");
        ok = false;
        continue;
      }
      if (q.argument) {
        auto v = lower_value(*q.argument, decl->type, decl->is_array,
                             "qualifier " + quote(decl->name), true);
        if (!v) {
          ok = false;
          continue;
        }
        out_q.v = std::move(*v);
      } else if (decl->type == cim_type::boolean && !decl->is_array) {
        out_q.v = value(scalar(true));  // DSP0004: a boolean qualifier named alone is TRUE
      } else {
        out_q.v = decl->default_value;
      }
      if (inherited != nullptr) {
        if (const qualifier* old = inherited->find(decl->name);
            old != nullptr && !old->has(flavor::enable_override) && !(old->v == out_q.v)) {
          diags.error(q.where, "qualifier " + quote(decl->name) + " of " +
                                   std::string(element_kind) + " " + element +
                                   " cannot be overridden: it is DisableOverride in " +
                                   std::string(inherited_from) +
                                   " (expected the inherited value or no qualifier)");
          ok = false;
          continue;
        }
      }
      out.set(std::move(out_q));
    }
    return ok;
  }

  // EmbeddedInstance / EmbeddedObject turn a string element into an embedded object.
  bool apply_embedding(const qualifier_list& quals, cim_type& type, std::string& embedded_class,
                       const std::string& element, source_location where, std::string_view ns) {
    const qualifier* ei = quals.find("EmbeddedInstance");
    const bool eo = quals.is_true("EmbeddedObject");
    const bool has_ei = ei != nullptr && ei->v.get_if<std::string>() != nullptr;
    if (!has_ei && !eo) {
      return true;
    }
    if (type != cim_type::string) {
      diags.error(where, std::string(has_ei ? "EmbeddedInstance" : "EmbeddedObject") + " on " +
                             element + " requires type string, found " +
                             std::string(to_string(type)));
      return false;
    }
    if (has_ei && eo) {
      diags.error(where, element + " has both EmbeddedInstance and EmbeddedObject (expected one)");
      return false;
    }
    type = cim_type::object;
    if (has_ei) {
      embedded_class = *ei->v.get_if<std::string>();
      deferred.push_back(
          {std::string(ns), embedded_class, where, "EmbeddedInstance of " + element});
    }
    return true;
  }

  // The superclass may be declared later in the unit (define it now) or in an earlier unit
  // (the repository has it). `failed` means the class cannot be defined; the reason has been
  // reported, here or where the superclass failed.
  const class_decl* resolve_superclass(unit_class& uc, bool& failed) {
    failed = false;
    const ast::class_decl& c = uc.decl;
    if (c.superclass.empty()) {
      return nullptr;
    }
    if (auto it = class_index.find(key(uc.ns, c.superclass)); it != class_index.end()) {
      unit_class& sup = classes[it->second];
      if (sup.state == class_state::in_progress) {
        diags.error(c.superclass_where, "class " + quote(c.name) + " inherits from itself via " +
                                            quote(c.superclass) +
                                            " (expected an inheritance chain without a cycle)");
        failed = true;
        return nullptr;
      }
      if (sup.state == class_state::pending) {
        define_class(it->second);
      }
      if (sup.state == class_state::failed) {
        failed = true;  // its own errors were reported
        return nullptr;
      }
    }
    const class_decl* super = repo.find_class(uc.ns, c.superclass);
    if (super == nullptr) {
      if (failed_classes.contains(key(uc.ns, c.superclass))) {
        failed = true;
        return nullptr;
      }
      diags.error(c.superclass_where, "superclass " + quote(c.superclass) + " of class " +
                                          quote(c.name) + " is not declared in namespace " +
                                          quote(uc.ns) +
                                          " (expected a class declared before or in this "
                                          "compilation)");
      failed = true;
    }
    return super;
  }

  void define_class(std::size_t index) {
    unit_class& uc = classes[index];
    uc.state = class_state::in_progress;
    const bool ok = define_class_body(uc);
    // `classes` is not resized while defining, so uc stays valid.
    uc.state = ok ? class_state::done : class_state::failed;
    if (!ok) {
      failed_classes.insert(key(uc.ns, uc.decl.name));
    }
  }

  // Checks one class declaration against DSP0004 and its resolved superclass, lowers it, and
  // hands it to the repository, which resolves inheritance and stores it.
  bool define_class_body(unit_class& uc) {
    const ast::class_decl& c = uc.decl;
    if (!ensure_namespace(uc.ns, c.where)) {
      return false;
    }
    if (repo.find_class(uc.ns, c.name) != nullptr) {
      diags.error(c.where, "class " + quote(c.name) + " is already defined in namespace " +
                               quote(uc.ns) + " (expected a new class name)");
      return false;
    }
    bool super_failed = false;
    const class_decl* super = resolve_superclass(uc, super_failed);
    if (super_failed) {
      return false;
    }
    const std::string cname = "class " + quote(c.name);
    bool ok = true;

    // Association / indication: by keyword, by local qualifier, or inherited. Needed before the
    // qualifiers are checked, because it decides which scopes the class qualifiers may have.
    bool is_assoc = c.keyword == ast::class_keyword::association ||
                    (super != nullptr && super->is_association());
    bool is_indic =
        c.keyword == ast::class_keyword::indication || (super != nullptr && super->is_indication());
    for (const auto& q : c.qualifiers) {
      const bool on =
          !q.argument || (q.argument->k == ast::value::kind::boolean && q.argument->boolean);
      if (iequals(q.name, "Association") && on) {
        is_assoc = true;
      } else if (iequals(q.name, "Indication") && on) {
        is_indic = true;
      }
    }
    std::uint16_t class_scope = static_cast<std::uint16_t>(scope::class_);
    if (is_assoc) {
      class_scope |= static_cast<std::uint16_t>(scope::association);
    }
    if (is_indic) {
      class_scope |= static_cast<std::uint16_t>(scope::indication);
    }

    class_decl local;
    local.name = std::string(c.name);
    local.superclass = super != nullptr ? super->name : std::string();
    const std::string super_text = super != nullptr ? "superclass " + quote(super->name) : "";
    ok &= lower_qualifiers(c.qualifiers, uc.ns, class_scope, "class", quote(c.name),
                           super != nullptr ? &super->qualifiers : nullptr, super_text,
                           local.qualifiers);
    auto add_marker = [&](std::string_view name) {
      if (local.qualifiers.find(name) == nullptr) {
        qualifier q;
        const qualifier_decl* d = repo.find_qualifier_decl(uc.ns, name);
        q.name = d != nullptr ? d->name : std::string(name);
        q.flavors = d != nullptr ? d->flavors : default_flavors;
        q.v = value(scalar(true));
        local.qualifiers.set(std::move(q));
      }
    };
    if (c.keyword == ast::class_keyword::association) {
      add_marker("Association");
    } else if (c.keyword == ast::class_keyword::indication) {
      add_marker("Indication");
    }

    const bool super_has_keys = super != nullptr && !super->keys().empty();

    // Properties and references.
    for (std::size_t i = 0; i < c.properties.size(); ++i) {
      const ast::property& p = c.properties[i];
      const std::string pname = quote(std::string(c.name) + "." + std::string(p.name));
      bool dup = false;
      for (std::size_t j = 0; j < i; ++j) {
        if (iequals(c.properties[j].name, p.name)) {
          diags.error(p.where, "property " + quote(p.name) + " is declared twice in " + cname +
                                   " (first at " + where_text(sources, c.properties[j].where) +
                                   ")");
          dup = true;
          break;
        }
      }
      for (const auto& m : c.methods) {
        if (iequals(m.name, p.name)) {
          diags.error(p.where, "property " + quote(p.name) + " of " + cname +
                                   " has the name of a method (at " + where_text(sources, m.where) +
                                   ")");
          dup = true;
          break;
        }
      }
      if (dup) {
        ok = false;
        continue;
      }
      const bool is_ref = p.type.type == ast::data_type::reference;
      const property_decl* inherited = super != nullptr ? super->property(p.name) : nullptr;
      property_decl pd;
      pd.name = std::string(p.name);
      pd.type = to_cim_type(p.type.type);
      pd.is_array = p.type.is_array;
      if (p.type.array_size != 0) {
        pd.array_size = p.type.array_size;
      }
      pd.ref_class = std::string(p.type.ref_class);
      bool pok = lower_qualifiers(
          p.qualifiers, uc.ns,
          static_cast<std::uint16_t>(is_ref ? scope::reference : scope::property), "property",
          pname, inherited != nullptr ? &inherited->qualifiers : nullptr,
          inherited != nullptr ? "class " + quote(inherited->class_origin) : "", pd.qualifiers);
      if (!pok) {
        ok = false;
        continue;
      }
      if (const qualifier* ov = pd.qualifiers.find("Override")) {
        const std::string* target = ov->v.get_if<std::string>();
        if (target != nullptr && (super == nullptr || super->property(*target) == nullptr)) {
          diags.error(p.where, "property " + pname + " has Override(\"" + *target + "\") but " +
                                   (super == nullptr ? cname + " has no superclass"
                                                     : super_text + " has no such property") +
                                   " (expected the name of an inherited property)");
          ok = false;
          continue;
        }
      }
      if (inherited != nullptr &&
          (inherited->type != pd.type || inherited->is_array != pd.is_array)) {
        diags.error(p.where, "property " + pname + " overrides the inherited " +
                                 type_text(inherited->type, inherited->is_array) +
                                 " property from " + quote(inherited->class_origin) +
                                 " with type " + type_text(pd.type, pd.is_array) +
                                 " (expected the same type)");
        ok = false;
        continue;
      }
      if (pd.is_key() && super_has_keys && (inherited == nullptr || !inherited->is_key())) {
        diags.error(p.where, "key property " + pname + " is added in a subclass of " + super_text +
                                 ", which already has keys (expected keys only in the class "
                                 "that introduces them)");
        ok = false;
        continue;
      }
      if (pd.is_key() && pd.is_array) {
        diags.error(p.where, "key property " + pname + " is an array (expected a scalar key)");
        ok = false;
        continue;
      }
      if (!apply_embedding(pd.qualifiers, pd.type, pd.embedded_class, "property " + pname, p.where,
                           uc.ns)) {
        ok = false;
        continue;
      }
      if (is_ref) {
        deferred.push_back({std::string(uc.ns), pd.ref_class, p.type.where, "reference " + pname});
      }
      if (p.default_value) {
        if (pd.type == cim_type::object && p.default_value->k != ast::value::kind::null) {
          diags.error(p.default_value->where,
                      "embedded object property " + pname +
                          " cannot have a default value in MOF (expected NULL)");
          ok = false;
          continue;
        }
        auto v =
            lower_value(*p.default_value, pd.type, pd.is_array, "the default of property " + pname);
        if (!v) {
          ok = false;
          continue;
        }
        pd.default_value = std::move(*v);
      } else {
        pd.default_value = value::null(pd.type, pd.is_array);
      }
      local.properties.push_back(std::move(pd));
    }

    // Methods.
    for (std::size_t i = 0; i < c.methods.size(); ++i) {
      const ast::method& m = c.methods[i];
      const std::string mname = quote(std::string(c.name) + "." + std::string(m.name) + "()");
      bool dup = false;
      for (std::size_t j = 0; j < i; ++j) {
        if (iequals(c.methods[j].name, m.name)) {
          diags.error(m.where, "method " + quote(m.name) + " is declared twice in " + cname +
                                   " (first at " + where_text(sources, c.methods[j].where) + ")");
          dup = true;
          break;
        }
      }
      if (dup) {
        ok = false;
        continue;
      }
      const method_decl* inherited = super != nullptr ? super->method(m.name) : nullptr;
      method_decl md;
      md.name = std::string(m.name);
      md.return_type = to_cim_type(m.return_type.type);
      bool mok = lower_qualifiers(
          m.qualifiers, uc.ns, static_cast<std::uint16_t>(scope::method), "method", mname,
          inherited != nullptr ? &inherited->qualifiers : nullptr,
          inherited != nullptr ? "class " + quote(inherited->class_origin) : "", md.qualifiers);
      if (m.return_type.is_array) {
        diags.error(m.return_type.where,
                    "method " + mname + " returns an array (expected a scalar return type)");
        mok = false;
      }
      if (m.return_type.type == ast::data_type::reference) {
        deferred.push_back({std::string(uc.ns), std::string(m.return_type.ref_class),
                            m.return_type.where, "return type of " + mname});
      }
      std::string unused_embedded;
      mok = mok && apply_embedding(md.qualifiers, md.return_type, unused_embedded,
                                   "method " + mname, m.where, uc.ns);
      for (std::size_t k = 0; k < m.parameters.size(); ++k) {
        const ast::parameter& p = m.parameters[k];
        const std::string pname = quote(std::string(p.name)) + " of method " + mname;
        bool pdup = false;
        for (std::size_t j = 0; j < k; ++j) {
          if (iequals(m.parameters[j].name, p.name)) {
            diags.error(p.where, "parameter " + pname + " is declared twice (first at " +
                                     where_text(sources, m.parameters[j].where) + ")");
            pdup = true;
            break;
          }
        }
        if (pdup) {
          mok = false;
          continue;
        }
        parameter_decl pd;
        pd.name = std::string(p.name);
        pd.type = to_cim_type(p.type.type);
        pd.is_array = p.type.is_array;
        if (p.type.array_size != 0) {
          pd.array_size = p.type.array_size;
        }
        pd.ref_class = std::string(p.type.ref_class);
        if (!lower_qualifiers(p.qualifiers, uc.ns, static_cast<std::uint16_t>(scope::parameter),
                              "parameter", pname, nullptr, "", pd.qualifiers) ||
            !apply_embedding(pd.qualifiers, pd.type, pd.embedded_class, "parameter " + pname,
                             p.where, uc.ns)) {
          mok = false;
          continue;
        }
        if (p.default_value) {
          // DSP0004 3 allows parameter defaults; the data model has no slot for them, but
          // they are still type-checked.
          if (!lower_value(*p.default_value, pd.type, pd.is_array,
                           "the default of parameter " + pname)) {
            mok = false;
            continue;
          }
        }
        if (pd.type == cim_type::reference) {
          deferred.push_back(
              {std::string(uc.ns), pd.ref_class, p.type.where, "parameter " + pname});
        }
        md.parameters.push_back(std::move(pd));
      }
      if (!mok) {
        ok = false;
        continue;
      }
      local.methods.push_back(std::move(md));
    }
    if (!ok) {
      return false;
    }

    // Class-level rules that need the merged view: references count across the inheritance
    // chain (a subclass of an association inherits its ends).
    std::size_t refs = 0;
    std::size_t local_refs = 0;
    for (const auto& p : local.properties) {
      local_refs += p.is_reference() ? 1 : 0;
    }
    refs = local_refs;
    if (super != nullptr) {
      for (const auto& p : super->properties) {
        if (p.is_reference() && local.property(p.name) == nullptr) {
          ++refs;
        }
      }
    }
    if (is_assoc && refs < 2) {
      diags.error(c.where, "association " + quote(c.name) + " has " + std::to_string(refs) +
                               (refs == 1 ? " reference" : " references") +
                               " (expected at least two)");
      return false;
    }
    if (!is_assoc && local_refs > 0) {
      for (const auto& p : c.properties) {
        if (p.type.type == ast::data_type::reference) {
          diags.error(p.where, "reference " + quote(p.name) + " is declared in " + cname +
                                   ", which is not an association (expected the Association "
                                   "qualifier or the 'association' keyword)");
          break;
        }
      }
      return false;
    }

    auto stored = repo.add_class(uc.ns, std::move(local));
    if (!stored) {
      diags.error(c.where, stored.error().description);
      return false;
    }
    ++classes_added;
    return true;
  }

  // ---- stage 4: instances ----

  // An alias value becomes a reference to the aliased instance's path, which needs that
  // instance's keys: so the target is defined first, and a cycle through keys is an error.
  std::optional<scalar> resolve_alias(const ast::value& v, std::size_t user) {
    const auto it = aliases.find(fold_name(v.text));
    if (it == aliases.end()) {
      diags.error(v.where, "undefined alias $" + std::string(v.text) +
                               " (expected an alias defined with 'instance of Class as $" +
                               std::string(v.text) + "' in this compilation)");
      return std::nullopt;
    }
    // The latest definition before the use, else the first one after it (a forward reference).
    std::size_t target = it->second.front();
    for (const std::size_t d : it->second) {
      if (d < user) {
        target = d;
      }
    }
    if (target == user) {
      diags.error(v.where, "instance aliased $" + std::string(v.text) +
                               " refers to itself (expected another instance's alias)");
      return std::nullopt;
    }
    unit_instance& t = unit_instances[target];
    if (t.state == instance_state::in_progress) {
      diags.error(v.where, "alias $" + std::string(v.text) +
                               " is part of a reference cycle between instance keys (expected "
                               "key references that end)");
      return std::nullopt;
    }
    if (t.state == instance_state::pending) {
      define_instance(target);
    }
    if (t.state == instance_state::failed) {
      return std::nullopt;  // reported where it was declared
    }
    if (!t.path) {
      auto p = t.lowered.path(t.ns, *t.cls);
      if (!p) {
        diags.error(v.where, "cannot refer to the instance aliased $" + std::string(v.text) +
                                 " (at " + where_text(sources, t.decl.where) +
                                 "): " + p.error().description);
        return std::nullopt;
      }
      t.path = std::move(*p);
    }
    return scalar(std::make_shared<const object_path>(*t.path));
  }

  void define_instance(std::size_t index) {
    unit_instances[index].state = instance_state::in_progress;
    const bool ok = define_instance_body(index);
    unit_instances[index].state = ok ? instance_state::done : instance_state::failed;
  }

  bool define_instance_body(std::size_t index) {
    unit_instance& ui = unit_instances[index];
    const ast::instance_decl& d = ui.decl;
    const class_decl* cls = repo.find_class(ui.ns, d.class_name);
    if (cls == nullptr) {
      if (!failed_classes.contains(key(ui.ns, d.class_name))) {
        diags.error(d.where, "instance of unknown class " + quote(d.class_name) + " in namespace " +
                                 quote(ui.ns) +
                                 " (expected a class declared before or in this compilation)");
      }
      return false;
    }
    if (cls->is_abstract()) {
      // Abstract is Restricted, so a resolved class carries it only where it was written.
      diags.error(d.where, "class " + quote(cls->name) +
                               " is abstract (expected an instance of a concrete subclass)");
      return false;
    }
    ui.cls = cls;
    bool ok = true;
    qualifier_list ignored;
    ok &= lower_qualifiers(d.qualifiers, ui.ns, static_cast<std::uint16_t>(scope::any),
                           "instance of", quote(d.class_name), nullptr, "", ignored);
    instance inst(cls->name);
    const alias_resolver resolver = [this, index](const ast::value& v) {
      return resolve_alias(v, index);
    };
    for (std::size_t i = 0; i < d.values.size(); ++i) {
      const ast::property_value& pv = d.values[i];
      for (std::size_t j = 0; j < i; ++j) {
        // OpenPegasus's ValidMof4a.mof sets a property twice and expects success, so this is
        // a warning; the last value wins as in those compilers.
        if (iequals(d.values[j].name, pv.name)) {
          diags.warning(pv.where,
                        "property " + quote(pv.name) + " is set twice in this instance (first at " +
                            where_text(sources, d.values[j].where) + "); the last value is used");
          break;
        }
      }
      const property_decl* p = cls->property(pv.name);
      if (p == nullptr) {
        diags.error(pv.where, "class " + quote(cls->name) + " has no property " + quote(pv.name) +
                                  " (expected a property of the class or its superclasses)");
        ok = false;
        continue;
      }
      qualifier_list pq;
      ok &= lower_qualifiers(pv.qualifiers, ui.ns,
                             static_cast<std::uint16_t>(scope::property) |
                                 static_cast<std::uint16_t>(scope::reference),
                             "property", quote(pv.name), nullptr, "", pq);
      auto v = lower_value(pv.val, p->type, p->is_array,
                           "property " + quote(cls->name + "." + p->name), false, &resolver);
      if (!v) {
        ok = false;
        continue;
      }
      inst.set(p->name, std::move(*v));
    }
    if (!ok) {
      return false;
    }
    // DSP0004: every key of an instance has a non-NULL value, given here or by the class's
    // default; otherwise the instance has no path.
    for (const property_decl* k : cls->keys()) {
      const value* v = inst.get(k->name);
      if (v == nullptr && !k->default_value.is_null()) {
        inst.set(k->name, k->default_value);  // so the instance has its path
        continue;
      }
      if (v == nullptr || v->is_null()) {
        diags.error(d.where, "instance of " + quote(cls->name) + " has no value for key property " +
                                 quote(k->name) + " (expected a non-NULL value)");
        ok = false;
      }
    }
    if (!ok) {
      return false;
    }
    ui.lowered = std::move(inst);
    return true;
  }

  // ---- the unit ----

  // One compilation unit (see the stages at the top of this file).
  bool run_unit(std::uint32_t root) {
    begin_unit();
    const std::size_t errors_before = diags.error_count();
    std::string_view ns = intern_ns(options.default_namespace);
    load(root, ns);

    for (const auto& q : qualifiers) {
      declare_qualifier(q);
    }

    for (std::size_t i = 0; i < classes.size(); ++i) {
      const std::string k = key(classes[i].ns, classes[i].decl.name);
      if (auto [it, inserted] = class_index.emplace(k, i); !inserted) {
        diags.error(classes[i].decl.where, "class " + quote(classes[i].decl.name) +
                                               " is declared twice (first at " +
                                               where_text(sources, classes[it->second].decl.where) +
                                               "; expected a new class name)");
        classes[i].state = class_state::failed;
      }
    }
    for (std::size_t i = 0; i < classes.size(); ++i) {
      if (classes[i].state == class_state::pending) {
        define_class(i);
      }
    }

    for (const auto& check : deferred) {
      if (repo.find_class(check.ns, check.name) == nullptr &&
          !failed_classes.contains(key(check.ns, check.name))) {
        diags.error(check.where, check.what + " names class " + quote(check.name) +
                                     ", which is not declared in namespace " + quote(check.ns) +
                                     " (expected a class declared in this compilation or "
                                     "earlier)");
      }
    }

    for (std::size_t i = 0; i < unit_instances.size(); ++i) {
      const ast::instance_decl& d = unit_instances[i].decl;
      if (d.alias.empty()) {
        continue;
      }
      auto& defs = aliases[fold_name(d.alias)];
      if (!defs.empty()) {
        diags.warning(d.alias_where,
                      "alias $" + std::string(d.alias) + " is defined again (first at " +
                          where_text(sources, unit_instances[defs.front()].decl.alias_where) +
                          "); later references use this instance");
      }
      defs.push_back(i);
    }
    for (std::size_t i = 0; i < unit_instances.size(); ++i) {
      if (unit_instances[i].state == instance_state::pending) {
        define_instance(i);
      }
    }
    for (auto& ui : unit_instances) {
      if (ui.state == instance_state::done) {
        instances.push_back(
            {std::string(ui.ns), std::string(ui.decl.alias), std::move(ui.lowered), ui.decl.where});
      }
    }
    return diags.error_count() == errors_before;
  }
};

compiler::compiler(class_repository& repo, compile_options options)
    : impl_(std::make_unique<impl>(repo, std::move(options))) {}

compiler::~compiler() = default;

bool compiler::compile_file(std::string_view path) {
  std::string text;
  std::string why;
  const std::string p(path);
  if (!impl_->read(p, text, why)) {
    const std::uint32_t id = impl_->sources.add(p, {});
    impl_->diags.error({id, 0, 0}, "cannot open MOF file: " + why);
    return false;
  }
  return impl_->run_unit(impl_->sources.add(p, std::move(text)));
}

bool compiler::compile_text(std::string name, std::string text) {
  return impl_->run_unit(impl_->sources.add(std::move(name), std::move(text)));
}

const diagnostics& compiler::diags() const { return impl_->diags; }
const source_manager& compiler::sources() const { return impl_->sources; }
std::size_t compiler::classes_added() const { return impl_->classes_added; }
const std::vector<compiled_instance>& compiler::instances() const { return impl_->instances; }

}  // namespace vsnapd::cim::mof
