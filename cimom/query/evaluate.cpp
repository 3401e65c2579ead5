// WHERE evaluation (three-valued), schema validation and projection.

#include "cimom/class_decl.hpp"
#include "cimom/class_repository.hpp"
#include "cimom/name.hpp"
#include "cimom/query/detail/ast.hpp"
#include "cimom/query/detail/lexer.hpp"
#include "cimom/query/query.hpp"
#include "common/assert.hpp"

#include <algorithm>

namespace vsnapd::cim {
namespace {

using ql::node;
using ql::operand;
using ql::system_property;

__extension__ typedef __int128 i128;  // GNU extension; -Wpedantic would flag plain __int128

// SQL three-valued logic, which both WMI and DSP0202 follow: a comparison with NULL is unknown,
// NOT unknown stays unknown, and only a true WHERE selects. So `NOT (Caption = 'x')` does not
// select an instance whose Caption is NULL - the surprise SQL users know, kept on purpose.
enum class tri : std::uint8_t { f, t, unknown };

tri tri_not(tri v) {
  return v == tri::unknown ? tri::unknown : (v == tri::t ? tri::f : tri::t);
}

// The outcome of comparing two non-NULL values. `unordered` is NaN against anything, two
// datetimes with wildcards that differ, or two different references: = is false, <> true, and
// every ordering false.
enum class order : std::uint8_t { less, equal, greater, unordered };

// Value categories that compare with one another.
enum class cat : std::uint8_t { integer, real, boolean, text, char16, datetime, reference, object };

cat category(cim_type t) {
  if (is_integer(t)) {
    return cat::integer;
  }
  if (is_real(t)) {
    return cat::real;
  }
  switch (t) {
    case cim_type::boolean: return cat::boolean;
    case cim_type::string: return cat::text;
    case cim_type::char16: return cat::char16;
    case cim_type::datetime: return cat::datetime;
    case cim_type::reference: return cat::reference;
    default: return cat::object;
  }
}

// Every integer width and sign fits in 128 bits, so integer comparisons never overflow or
// silently convert (uint64 max vs sint64 -1 compares correctly).
i128 as_i128(const scalar& s) {
  return std::visit(
      [](const auto& v) -> i128 {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                      !std::is_same_v<T, char16_t>) {
          return static_cast<i128>(v);
        } else {
          return 0;
        }
      },
      s);
}

// long double holds every 64-bit integer exactly on x86-64 (64-bit mantissa), so integer vs real
// comparisons are exact there; elsewhere they round like double.
long double as_long_double(const scalar& s) {
  if (const auto* f = std::get_if<float>(&s)) {
    return *f;
  }
  if (const auto* d = std::get_if<double>(&s)) {
    return *d;
  }
  return static_cast<long double>(as_i128(s));
}

template <class T>
order three_way(const T& a, const T& b) {
  if (a < b) {
    return order::less;
  }
  if (b < a) {
    return order::greater;
  }
  return order::equal;
}

// Bytes compare unsigned, so UTF-8 text orders by code point. WQL folds ASCII letters only:
// Windows folds all of Unicode, but the class names, keys and GUIDs clients filter on are ASCII,
// and a locale-dependent fold would make results depend on the daemon's environment.
order compare_text(std::string_view a, std::string_view b, bool fold) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(fold ? ascii_lower(a[i]) : a[i]);
    const auto y = static_cast<unsigned char>(fold ? ascii_lower(b[i]) : b[i]);
    if (x != y) {
      return x < y ? order::less : order::greater;
    }
  }
  return three_way(a.size(), b.size());
}

// How an operand is named in a diagnostic: "property Name" or "literal 'abc'".
std::string describe(const operand& o) {
  if (o.k == operand::kind::property) {
    return "property " + o.name;
  }
  return "literal " + (type_of(o.lit.as_scalar()) == cim_type::string
                           ? "'" + to_text(o.lit.as_scalar()) + "'"
                           : to_text(o.lit.as_scalar()));
}

// Everything one evaluation needs.
struct eval_ctx {
  const instance& inst;
  const class_repository& repo;
  std::string_view ns;
  query_language lang;
  bool fold() const { return lang == query_language::wql; }
};

error mismatch(const eval_ctx& c, const operand& where, std::string_view what) {
  return ql::query_error(c.lang, where.column, what);
}

// Converts string text to the category of `like` (the other side's type), as WMI converts a
// literal to the property's type. @return the converted scalar, or nullopt when it does not
// convert.
std::optional<scalar> convert_text(const std::string& text, const scalar& like) {
  switch (category(type_of(like))) {
    case cat::integer: {
      const cim_type t = !text.empty() && text.front() == '-' ? cim_type::sint64 : cim_type::uint64;
      if (auto v = parse_scalar(t, text)) {
        return std::move(*v);
      }
      if (auto v = parse_scalar(cim_type::real64, text)) {
        return std::move(*v);
      }
      return std::nullopt;
    }
    case cat::real:
      if (auto v = parse_scalar(cim_type::real64, text)) {
        return std::move(*v);
      }
      return std::nullopt;
    case cat::boolean:
      if (auto v = parse_scalar(cim_type::boolean, text)) {
        return std::move(*v);
      }
      return std::nullopt;
    case cat::datetime:
      if (auto v = datetime::parse(text)) {
        return scalar(*v);
      }
      return std::nullopt;
    case cat::reference:
      if (auto p = object_path::parse(ql::normalize_wmi_path(text))) {
        return scalar(std::make_shared<const object_path>(std::move(*p)));
      }
      return std::nullopt;
    case cat::char16:
    case cat::text: return scalar(text);
    case cat::object: return std::nullopt;
  }
  return std::nullopt;
}

std::optional<order> compare_scalars(const scalar& a, const scalar& b, bool fold);

// References are equal when they name the same class (and namespace, when both give one) and
// their keys compare equal; key types may differ (a path parsed from query text carries
// uint64/string keys where the schema says uint16/datetime), so keys compare as values.
bool reference_equal(const object_path& a, const object_path& b, bool fold) {
  if (!name_equal(a.class_name(), b.class_name()) || a.is_singleton() != b.is_singleton() ||
      a.keys().size() != b.keys().size()) {
    return false;
  }
  if (!a.ns().empty() && !b.ns().empty() && !name_equal(a.ns(), b.ns())) {
    return false;
  }
  for (const auto& k : a.keys()) {
    const value* other = b.key(k.name);
    if (other == nullptr || other->is_null() || k.v.is_null() || other->is_array() ||
        k.v.is_array()) {
      return false;
    }
    const auto o = compare_scalars(k.v.as_scalar(), other->as_scalar(), fold);
    if (!o || *o != order::equal) {
      return false;
    }
  }
  return true;
}

// nullopt: the two values do not compare (a type mismatch).
std::optional<order> compare_scalars(const scalar& a0, const scalar& b0, bool fold) {
  cat ca = category(type_of(a0));
  cat cb = category(type_of(b0));
  std::optional<scalar> conv;
  const scalar* a = &a0;
  const scalar* b = &b0;
  if (ca == cat::text && cb != cat::text) {
    conv = convert_text(std::get<std::string>(a0), b0);
    if (!conv) {
      return std::nullopt;
    }
    a = &*conv;
    ca = category(type_of(*a));
  } else if (cb == cat::text && ca != cat::text) {
    conv = convert_text(std::get<std::string>(b0), a0);
    if (!conv) {
      return std::nullopt;
    }
    b = &*conv;
    cb = category(type_of(*b));
  }
  if (ca == cat::integer && cb == cat::integer) {
    return three_way(as_i128(*a), as_i128(*b));
  }
  if ((ca == cat::integer || ca == cat::real) && (cb == cat::integer || cb == cat::real)) {
    const long double x = as_long_double(*a);
    const long double y = as_long_double(*b);
    if (x != x || y != y) {
      return order::unordered;
    }
    return three_way(x, y);
  }
  if (ca != cb &&
      !((ca == cat::text && cb == cat::char16) || (ca == cat::char16 && cb == cat::text))) {
    return std::nullopt;
  }
  switch (ca) {
    case cat::boolean: return three_way(std::get<bool>(*a), std::get<bool>(*b));
    case cat::text:
    case cat::char16: return compare_text(to_text(*a), to_text(*b), fold);
    case cat::datetime: {
      const auto& x = std::get<datetime>(*a);
      const auto& y = std::get<datetime>(*b);
      if (x.is_interval() != y.is_interval()) {
        return std::nullopt;
      }
      if (x.is_interval()) {
        const auto ux = x.interval_micros();
        const auto uy = y.interval_micros();
        if (ux && uy) {
          return three_way(*ux, *uy);
        }
      } else {
        // Time points, so 12:00+060 equals 11:00+000.
        const auto ux = x.unix_micros();
        const auto uy = y.unix_micros();
        if (ux && uy) {
          return three_way(*ux, *uy);
        }
      }
      // With wildcards there is no time point: '*' digits are insignificant (DSP0004), so the
      // values are equal when every other character agrees, and never ordered.
      const std::string_view tx = x.text();
      const std::string_view ty = y.text();
      for (std::size_t k = 0; k < tx.size(); ++k) {
        if (tx[k] != ty[k] && tx[k] != '*' && ty[k] != '*') {
          return order::unordered;
        }
      }
      return order::equal;
    }
    case cat::reference: {
      const auto& x = std::get<reference>(*a);
      const auto& y = std::get<reference>(*b);
      if (!x || !y) {
        return std::nullopt;
      }
      return reference_equal(*x, *y, fold) ? order::equal : order::unordered;
    }
    default: return std::nullopt;
  }
}

// WMI prints __NAMESPACE with backslashes (root\virtualization\v2); clients compare against
// that spelling.
std::string namespace_backslashes(std::string_view ns) {
  std::string out(ns);
  std::replace(out.begin(), out.end(), '/', '\\');
  return out;
}

// The value an operand stands for on this instance. Copies are cheap enough here: the values
// compared are short strings and scalars, and a copy keeps the lifetime rules trivial.
result<const value*> operand_value(const eval_ctx& c, const operand& o, value& scratch) {
  static const value null_value;
  if (o.k == operand::kind::literal) {
    return o.lit_is_null ? &null_value : &o.lit;
  }
  if (!o.scope.empty() && !c.repo.is_a(c.ns, c.inst.class_name(), o.scope) &&
      !name_equal(c.inst.class_name(), o.scope)) {
    // DSP0202: a property scoped to a class the instance does not belong to is NULL.
    return &null_value;
  }
  const class_decl* cls = nullptr;
  const auto need_class = [&]() -> result<const class_decl*> {
    cls = c.repo.find_class(c.ns, c.inst.class_name());
    if (cls == nullptr) {
      return fail(errc::invalid_class, "class " + c.inst.class_name() +
                                           " of the instance is not in namespace " +
                                           std::string(c.ns));
    }
    return cls;
  };
  switch (o.sys) {
    case system_property::none: {
      const value* v = c.inst.get(o.name);
      return v == nullptr ? &null_value : v;
    }
    case system_property::class_: {
      scratch = value(scalar(c.inst.class_name()));
      return &scratch;
    }
    case system_property::superclass: {
      if (auto tried = need_class(); !tried) {
        return tried.error();
      }
      if (cls->superclass.empty()) {
        return &null_value;
      }
      scratch = value(scalar(cls->superclass));
      return &scratch;
    }
    case system_property::dynasty: {
      if (auto tried = need_class(); !tried) {
        return tried.error();
      }
      const class_decl* root = cls;
      while (!root->superclass.empty()) {
        const class_decl* up = c.repo.find_class(c.ns, root->superclass);
        if (up == nullptr) {
          break;
        }
        root = up;
      }
      scratch = value(scalar(root->name));
      return &scratch;
    }
    case system_property::namespace_: {
      scratch = value(scalar(namespace_backslashes(c.ns)));
      return &scratch;
    }
    case system_property::relpath:
    case system_property::path: {
      if (auto tried = need_class(); !tried) {
        return tried.error();
      }
      auto p = c.inst.path(c.ns, *cls);
      if (!p) {
        return &null_value;
      }
      scratch = value(scalar(o.sys == system_property::relpath ? p->model_path() : p->to_string()));
      return &scratch;
    }
    case system_property::genus: {
      scratch = value(scalar(std::int32_t{2}));
      return &scratch;
    }
    case system_property::this_: break;
  }
  return mismatch(c, o, "__THIS can only be used with ISA");
}

result<tri> eval(const eval_ctx& c, const ql::expr& e);

// A comparison that cannot be made (an array, a literal of the wrong type) is an error rather
// than false: silently selecting nothing would hide a client's typo behind an empty result.
result<tri> eval_compare(const eval_ctx& c, const ql::expr& e) {
  value scratch_a;
  value scratch_b;
  const value& a = *VSNAPD_TRY(operand_value(c, e.lhs, scratch_a));
  const value& b = *VSNAPD_TRY(operand_value(c, e.rhs, scratch_b));
  if (a.is_array() || b.is_array()) {
    const operand& arr = a.is_array() ? e.lhs : e.rhs;
    return mismatch(c, arr, "array " + describe(arr) + " cannot be compared");
  }
  if (a.is_null() || b.is_null()) {
    return tri::unknown;
  }
  if (type_of(a.as_scalar()) == cim_type::object || type_of(b.as_scalar()) == cim_type::object) {
    return mismatch(c, e.lhs, "embedded objects can only be tested with IS NULL or ISA");
  }
  const auto o = compare_scalars(a.as_scalar(), b.as_scalar(), c.fold());
  if (!o) {
    return mismatch(c, e.lhs,
                    "cannot compare " + describe(e.lhs) + " (" + std::string(to_string(a.type())) +
                        ") with " + describe(e.rhs) + " (" + std::string(to_string(b.type())) +
                        ")");
  }
  const bool is_ref = a.type() == cim_type::reference || b.type() == cim_type::reference;
  if (is_ref && e.n != node::eq && e.n != node::ne) {
    return mismatch(c, e.lhs, "references can only be compared with = and <>");
  }
  const auto t = [](bool v) { return v ? tri::t : tri::f; };
  switch (e.n) {
    case node::eq: return t(*o == order::equal);
    case node::ne: return t(*o != order::equal);
    case node::lt: return t(*o == order::less);
    case node::gt: return t(*o == order::greater);
    case node::le: return t(*o == order::less || *o == order::equal);
    case node::ge: return t(*o == order::greater || *o == order::equal);
    default: break;
  }
  return tri::unknown;
}

// ISA by name as well as through the repository, so that an instance of a class the repository
// does not know (a provider's ad-hoc class) still ISA itself.
bool class_is_a(const eval_ctx& c, std::string_view ns, std::string_view name,
                std::string_view ancestor) {
  return name_equal(name, ancestor) || c.repo.is_a(ns.empty() ? c.ns : ns, name, ancestor);
}

result<tri> eval_isa(const eval_ctx& c, const ql::expr& e) {
  if (e.lhs.sys == system_property::this_ || e.lhs.sys == system_property::class_) {
    return class_is_a(c, c.ns, c.inst.class_name(), e.class_name) ? tri::t : tri::f;
  }
  value scratch;
  const value& v = *VSNAPD_TRY(operand_value(c, e.lhs, scratch));
  if (v.is_null()) {
    return tri::unknown;
  }
  if (v.is_array()) {
    return mismatch(c, e.lhs, "ISA on array " + describe(e.lhs) + " is not supported");
  }
  const scalar& s = v.as_scalar();
  if (const auto* emb = std::get_if<embedded_instance>(&s); emb != nullptr && *emb) {
    return class_is_a(c, c.ns, (*emb)->class_name(), e.class_name) ? tri::t : tri::f;
  }
  if (const auto* ref = std::get_if<reference>(&s); ref != nullptr && *ref) {
    return class_is_a(c, (*ref)->ns(), (*ref)->class_name(), e.class_name) ? tri::t : tri::f;
  }
  if (const auto* str = std::get_if<std::string>(&s)) {
    // A class name held in a string (__SUPERCLASS, __DYNASTY, CreationClassName).
    return class_is_a(c, c.ns, *str, e.class_name) ? tri::t : tri::f;
  }
  return mismatch(c, e.lhs,
                  "ISA needs an embedded object, a reference or a class name, not " +
                      describe(e.lhs) + " of type " + std::string(to_string(v.type())));
}

// AND and OR short-circuit on a decisive child, so a later impossible comparison is only
// reported for instances where it matters.
result<tri> eval(const eval_ctx& c, const ql::expr& e) {
  switch (e.n) {
    case node::and_: {
      tri acc = tri::t;
      for (const auto& child : e.children) {
        const tri v = VSNAPD_TRY(eval(c, child));
        if (v == tri::f) {
          return tri::f;
        }
        if (v == tri::unknown) {
          acc = tri::unknown;
        }
      }
      return acc;
    }
    case node::or_: {
      tri acc = tri::f;
      for (const auto& child : e.children) {
        const tri v = VSNAPD_TRY(eval(c, child));
        if (v == tri::t) {
          return tri::t;
        }
        if (v == tri::unknown) {
          acc = tri::unknown;
        }
      }
      return acc;
    }
    case node::not_: return tri_not(VSNAPD_TRY(eval(c, e.children.front())));
    case node::eq:
    case node::ne:
    case node::lt:
    case node::gt:
    case node::le:
    case node::ge: return eval_compare(c, e);
    case node::is_null:
    case node::is_not_null: {
      value scratch;
      const value& v = *VSNAPD_TRY(operand_value(c, e.lhs, scratch));
      return (v.is_null() == (e.n == node::is_null)) ? tri::t : tri::f;
    }
    case node::like:
    case node::not_like: {
      value scratch;
      const value& v = *VSNAPD_TRY(operand_value(c, e.lhs, scratch));
      if (v.is_null()) {
        return tri::unknown;
      }
      if (v.is_array() || (v.type() != cim_type::string && v.type() != cim_type::char16)) {
        return mismatch(c, e.lhs,
                        "LIKE needs a string, not " + describe(e.lhs) + " of type " +
                            std::string(to_string(v.type())) + (v.is_array() ? "[]" : ""));
      }
      const bool m = e.pattern->matches(to_text(v.as_scalar()));
      return (m == (e.n == node::like)) ? tri::t : tri::f;
    }
    case node::isa: return eval_isa(c, e);
  }
  return tri::unknown;
}

// --- validation -------------------------------------------------------------------------------

struct validate_ctx {
  const class_repository& repo;
  std::string_view ns;
  const class_decl& from;
  query_language lang;
};

// The declaration an operand names, or nullptr for literals and system properties.
result<const property_decl*> declared(const validate_ctx& v, const operand& o) {
  if (o.k != operand::kind::property || o.sys != system_property::none) {
    return nullptr;
  }
  const class_decl* cls = &v.from;
  if (!o.scope.empty()) {
    cls = v.repo.find_class(v.ns, o.scope);
    if (cls == nullptr) {
      return ql::query_error(
          v.lang, o.column,
          "class " + o.scope + " in " + o.scope + "::" + o.name + " does not exist");
    }
    if (!v.repo.is_a(v.ns, cls->name, v.from.name)) {
      return ql::query_error(v.lang, o.column,
                             "class " + cls->name + " in " + o.scope + "::" + o.name +
                                 " is not a subclass of " + v.from.name);
    }
  }
  const property_decl* p = cls->property(o.name);
  if (p == nullptr) {
    return ql::query_error(v.lang, o.column, "class " + cls->name + " has no property " + o.name);
  }
  return p;
}

result<void> validate_expr(const validate_ctx& v, const ql::expr& e) {
  switch (e.n) {
    case node::and_:
    case node::or_:
    case node::not_:
      for (const auto& child : e.children) {
        if (auto tried = validate_expr(v, child); !tried) {
          return tried.error();
        }
      }
      return {};
    case node::is_null:
    case node::is_not_null: VSNAPD_TRY(declared(v, e.lhs)); return {};
    case node::like:
    case node::not_like: {
      const property_decl* p = VSNAPD_TRY(declared(v, e.lhs));
      if (p != nullptr &&
          (p->is_array || (p->type != cim_type::string && p->type != cim_type::char16))) {
        return ql::query_error(v.lang, e.lhs.column,
                               "LIKE needs a string, and property " + p->name + " is " +
                                   std::string(to_string(p->type)) + (p->is_array ? "[]" : ""));
      }
      return {};
    }
    case node::isa: {
      const property_decl* p = VSNAPD_TRY(declared(v, e.lhs));
      if (p != nullptr &&
          (p->is_array || (p->type != cim_type::reference && p->type != cim_type::object &&
                           p->type != cim_type::string))) {
        return ql::query_error(v.lang, e.lhs.column,
                               "ISA needs an embedded object or a reference, and property " +
                                   p->name + " is " + std::string(to_string(p->type)) +
                                   (p->is_array ? "[]" : ""));
      }
      return {};
    }
    default: break;
  }
  const property_decl* lp = VSNAPD_TRY(declared(v, e.lhs));
  const property_decl* rp = VSNAPD_TRY(declared(v, e.rhs));
  for (const auto* p : {lp, rp}) {
    if (p != nullptr && p->is_array) {
      return ql::query_error(v.lang, e.column, "array property " + p->name + " cannot be compared");
    }
    if (p != nullptr && p->type == cim_type::object) {
      return ql::query_error(
          v.lang, e.column,
          "embedded-object property " + p->name + " can only be tested with IS NULL or ISA");
    }
  }
  // A property against a literal: the literal must convert to the property's type, checked by
  // comparing it with a sample value of that type.
  const auto sample = [](cim_type t) -> std::optional<scalar> {
    switch (category(t)) {
      case cat::integer: return scalar(std::uint64_t{0});
      case cat::real: return scalar(0.0);
      case cat::boolean: return scalar(false);
      case cat::text: return scalar(std::string());
      case cat::char16: return scalar(char16_t{'a'});
      case cat::datetime: return scalar(datetime());
      case cat::reference: return scalar(std::make_shared<const object_path>());
      case cat::object: return std::nullopt;
    }
    return std::nullopt;
  };
  const auto check = [&](const property_decl* p, const operand& lit) -> result<void> {
    if (p == nullptr || lit.k != operand::kind::literal || lit.lit_is_null) {
      return {};
    }
    auto s = sample(p->type);
    if (s && p->type == cim_type::datetime && type_of(lit.lit.as_scalar()) == cim_type::string) {
      // A datetime literal must parse; which form (timestamp or interval) is checked per value.
      if (!datetime::parse(to_text(lit.lit.as_scalar()))) {
        return ql::query_error(v.lang, lit.column,
                               "'" + to_text(lit.lit.as_scalar()) +
                                   "' is not a CIM datetime (property " + p->name + ")");
      }
      return {};
    }
    if (!s || !compare_scalars(*s, lit.lit.as_scalar(), true)) {
      return ql::query_error(v.lang, lit.column,
                             describe(lit) + " does not convert to the type of property " +
                                 p->name + " (" + std::string(to_string(p->type)) + ")");
    }
    return {};
  };
  if (auto tried = check(lp, e.rhs); !tried) {
    return tried.error();
  }
  if (auto tried = check(rp, e.lhs); !tried) {
    return tried.error();
  }
  if (lp != nullptr && rp != nullptr) {
    const auto a = sample(lp->type);
    const auto b = sample(rp->type);
    const bool text_involved = lp->type == cim_type::string || rp->type == cim_type::string;
    if (!text_involved && (!a || !b || !compare_scalars(*a, *b, true))) {
      return ql::query_error(v.lang, e.column,
                             "cannot compare property " + lp->name + " (" +
                                 std::string(to_string(lp->type)) + ") with property " + rp->name +
                                 " (" + std::string(to_string(rp->type)) + ")");
    }
  }
  return {};
}

}  // namespace

const association_query& query::association() const {
  VSNAPD_CHECK(association_ != nullptr);
  return *association_;
}

result<bool> query::matches(const instance& inst, const class_repository& repo,
                            std::string_view ns) const {
  if (where_ == nullptr) {
    return true;
  }
  const eval_ctx c{inst, repo, ns, language_};
  const tri v = VSNAPD_TRY(eval(c, *where_));
  return v == tri::t;
}

result<void> query::validate(const class_repository& repo, std::string_view ns) const {
  if (kind_ != query_kind::select) {
    return {};
  }
  const class_decl* from = repo.find_class(ns, from_class_);
  if (from == nullptr) {
    return fail(errc::invalid_class, "class " + from_class_ +
                                         " in the FROM clause does not exist in namespace " +
                                         std::string(ns));
  }
  for (const auto& name : selected_) {
    if (!name.starts_with("__") && from->property(name) == nullptr) {
      return fail(errc::invalid_query,
                  std::string(language_ == query_language::wql ? "WQL" : "CQL") + " query: class " +
                      from->name + " has no property " + name + " (in the SELECT list)");
    }
  }
  if (where_ != nullptr) {
    if (auto tried = validate_expr(validate_ctx{repo, ns, *from, language_}, *where_); !tried) {
      return tried.error();
    }
  }
  return {};
}

// Keys stay even when not selected: WS-Man and CIM-XML both return the instance's path with
// each item, and a path needs every key.
instance query::project(const instance& inst, const class_decl& cls) const {
  if (kind_ != query_kind::select || selects_all_) {
    return inst;
  }
  instance out(inst.class_name());
  for (const auto& pv : inst.properties()) {
    const bool selected = std::any_of(selected_.begin(), selected_.end(),
                                      [&](const std::string& s) { return name_equal(s, pv.name); });
    const property_decl* decl = cls.property(pv.name);
    if (selected || (decl != nullptr && decl->is_key())) {
      out.set(pv.name, pv.v);
    }
  }
  return out;
}

}  // namespace vsnapd::cim
