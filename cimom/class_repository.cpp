#include "cimom/class_repository.hpp"

#include "cimom/object_path.hpp"

#include <algorithm>

namespace vsnapd::cim {

struct class_repository::namespace_data {
  std::string name;
  std::unordered_map<std::string, std::unique_ptr<class_decl>, name_hash, name_eq> classes;
  std::vector<const class_decl*> order;
  // Direct subclasses keyed by superclass name ("" keys the root classes).
  std::unordered_map<std::string, std::vector<const class_decl*>, name_hash, name_eq> children;
  std::unordered_map<std::string, qualifier_decl, name_hash, name_eq> qualifiers;
  std::vector<std::string> qualifier_order;
};

namespace {

// Qualifiers an element inherits: those whose flavor is ToSubclass (Restricted ones stay behind).
qualifier_list inherited(const qualifier_list& from) {
  qualifier_list out;
  for (const auto& q : from) {
    if (q.has(flavor::to_subclass)) {
      qualifier copy = q;
      copy.propagated = true;
      out.set(std::move(copy));
    }
  }
  return out;
}

// Merges local qualifiers over inherited ones; a DisableOverride qualifier may be restated only
// with the same value. Returns the offending qualifier's name on a violation.
std::string merge_qualifiers(qualifier_list& into, const qualifier_list& local) {
  for (const auto& q : local) {
    if (const auto* old = into.find(q.name); old != nullptr && !old->has(flavor::enable_override) &&
                                             !(old->v == q.v)) {
      return old->name;
    }
    qualifier copy = q;
    copy.propagated = false;
    into.set(std::move(copy));
  }
  return {};
}

// Checks the qualifiers an element states locally against their declarations in the namespace:
// a declared qualifier must be used within its scope and carry a value of its type. Undeclared
// qualifiers are left to the producer (the MOF compiler requires declarations; programmatic
// callers such as tests may add classes to a namespace without any).
std::string check_qualifiers(
    const std::unordered_map<std::string, qualifier_decl, name_hash, name_eq>& decls,
    const qualifier_list& local, std::uint16_t allowed, const std::string& element) {
  for (const auto& q : local) {
    const auto it = decls.find(q.name);
    if (it == decls.end()) {
      continue;
    }
    const qualifier_decl& d = it->second;
    if ((d.scopes & allowed) == 0) {
      return "qualifier " + d.name + " is not allowed on " + element;
    }
    if (!q.v.is_null() && (q.v.type() != d.type || q.v.is_array() != d.is_array)) {
      return "qualifier " + d.name + " on " + element + " has a " +
             std::string(to_string(q.v.type())) + (q.v.is_array() ? " array" : "") +
             " value, but it is declared " + std::string(to_string(d.type)) +
             (d.is_array ? " array" : "");
    }
  }
  return {};
}

constexpr std::uint16_t scope_bit(scope s) { return static_cast<std::uint16_t>(s); }

// Merges a class's local properties (or methods) into the members it inherited: a member
// restated locally replaces the inherited one, keeping its class origin and merging qualifiers
// (DisableOverride ones must keep their value); a new member gets this class as its origin.
template <class Member>
result<void> merge_members(std::vector<Member>& resolved, std::vector<Member>& local,
                           std::string_view kind, const std::string& class_name) {
  for (auto& m : local) {
    const auto it = std::find_if(resolved.begin(), resolved.end(),
                                 [&](const Member& x) { return name_equal(x.name, m.name); });
    if (it == resolved.end()) {
      m.class_origin = class_name;
      m.propagated = false;
      resolved.push_back(std::move(m));
      continue;
    }
    if (!it->propagated) {
      return fail(errc::invalid_parameter, std::string(kind) + " " + m.name +
                                               " is declared twice in class " + class_name);
    }
    qualifier_list merged = it->qualifiers;
    if (auto bad = merge_qualifiers(merged, m.qualifiers); !bad.empty()) {
      return fail(errc::invalid_parameter, std::string(kind) + " " + class_name + "." + m.name +
                                               " overrides qualifier " + bad +
                                               ", which is DisableOverride in " + it->class_origin);
    }
    m.qualifiers = std::move(merged);
    m.class_origin = it->class_origin;
    m.propagated = false;
    *it = std::move(m);
  }
  return {};
}

}  // namespace

class_repository::class_repository() = default;
class_repository::~class_repository() = default;

const class_repository::namespace_data* class_repository::find_ns(std::string_view ns) const {
  const std::string n = normalize_namespace(ns);
  for (const auto& d : namespaces_) {
    if (name_equal(d->name, n)) {
      return d.get();
    }
  }
  return nullptr;
}

class_repository::namespace_data* class_repository::find_ns(std::string_view ns) {
  return const_cast<namespace_data*>(std::as_const(*this).find_ns(ns));
}

result<void> class_repository::add_namespace(std::string_view ns) {
  if (find_ns(ns) != nullptr) {
    return fail(errc::already_exists, "namespace " + std::string(ns) + " already exists");
  }
  auto d = std::make_unique<namespace_data>();
  d->name = normalize_namespace(ns);
  if (d->name.empty()) {
    return fail(errc::invalid_parameter, "a namespace name must not be empty");
  }
  namespaces_.push_back(std::move(d));
  return {};
}

bool class_repository::has_namespace(std::string_view ns) const { return find_ns(ns) != nullptr; }

std::string_view class_repository::canonical_namespace(std::string_view ns) const {
  const auto* d = find_ns(ns);
  return d == nullptr ? std::string_view() : std::string_view(d->name);
}

std::vector<std::string> class_repository::namespaces() const {
  std::vector<std::string> out;
  out.reserve(namespaces_.size());
  for (const auto& d : namespaces_) {
    out.push_back(d->name);
  }
  return out;
}

result<void> class_repository::add_qualifier_decl(std::string_view ns, qualifier_decl decl) {
  auto* d = find_ns(ns);
  if (d == nullptr) {
    return fail(errc::invalid_namespace, "namespace " + std::string(ns) + " does not exist");
  }
  if (auto it = d->qualifiers.find(decl.name); it != d->qualifiers.end()) {
    const auto& old = it->second;
    if (old.type != decl.type || old.is_array != decl.is_array) {
      return fail(errc::already_exists,
                  "qualifier " + decl.name + " is already declared with another type");
    }
    it->second = std::move(decl);
    return {};
  }
  d->qualifier_order.push_back(decl.name);
  std::string key = decl.name;
  d->qualifiers.emplace(std::move(key), std::move(decl));
  return {};
}

const qualifier_decl* class_repository::find_qualifier_decl(std::string_view ns,
                                                            std::string_view name) const {
  const auto* d = find_ns(ns);
  if (d == nullptr) {
    return nullptr;
  }
  const auto it = d->qualifiers.find(name);
  return it == d->qualifiers.end() ? nullptr : &it->second;
}

std::vector<const qualifier_decl*> class_repository::qualifier_decls(std::string_view ns) const {
  std::vector<const qualifier_decl*> out;
  if (const auto* d = find_ns(ns)) {
    for (const auto& n : d->qualifier_order) {
      out.push_back(&d->qualifiers.at(n));
    }
  }
  return out;
}

result<const class_decl*> class_repository::add_class(std::string_view ns, class_decl local) {
  auto* d = find_ns(ns);
  if (d == nullptr) {
    return fail(errc::invalid_namespace, "namespace " + std::string(ns) + " does not exist");
  }
  if (d->classes.contains(local.name)) {
    return fail(errc::already_exists, "class " + local.name + " already exists in " + d->name);
  }
  const class_decl* super = nullptr;
  if (!local.superclass.empty()) {
    const auto it = d->classes.find(local.superclass);
    if (it == d->classes.end()) {
      return fail(errc::invalid_superclass,
                  "superclass " + local.superclass + " of " + local.name + " does not exist");
    }
    super = it->second.get();
    local.superclass = super->name;  // the schema's spelling
  }

  if (auto bad = validate(*d, local, super); !bad.empty()) {
    return fail(errc::invalid_parameter, bad);
  }

  auto resolved = std::make_unique<class_decl>();
  resolved->name = local.name;
  resolved->superclass = local.superclass;
  if (super != nullptr) {
    resolved->qualifiers = inherited(super->qualifiers);
    for (const auto& p : super->properties) {
      property_decl copy = p;
      copy.qualifiers = inherited(p.qualifiers);
      copy.propagated = true;
      resolved->properties.push_back(std::move(copy));
    }
    for (const auto& m : super->methods) {
      method_decl copy = m;
      copy.qualifiers = inherited(m.qualifiers);
      copy.propagated = true;
      resolved->methods.push_back(std::move(copy));
    }
  }
  if (auto bad = merge_qualifiers(resolved->qualifiers, local.qualifiers); !bad.empty()) {
    return fail(errc::invalid_parameter, "class " + local.name + " overrides qualifier " + bad +
                                             ", which its superclass declares DisableOverride");
  }
  VSNAPD_TRY_VOID(merge_members(resolved->properties, local.properties, "property", local.name));
  VSNAPD_TRY_VOID(merge_members(resolved->methods, local.methods, "method", local.name));

  // References outside associations are left to the MOF compiler: programmatic schemas (the
  // query tests' Q_Base) use a reference property as a plain typed value.
  const std::size_t refs = resolved->references().size();
  if (resolved->is_association() && refs < 2) {
    return fail(errc::invalid_parameter, "association " + resolved->name + " has " +
                                             std::to_string(refs) +
                                             " references; an association needs at least two");
  }

  const class_decl* stored = resolved.get();
  d->order.push_back(stored);
  d->children[super != nullptr ? super->name : std::string()].push_back(stored);
  d->classes.emplace(resolved->name, std::move(resolved));
  return stored;
}

std::string class_repository::validate(const namespace_data& d, const class_decl& local,
                                       const class_decl* super) {
  const bool assoc = local.is_association() || (super != nullptr && super->is_association());
  const bool indic = local.is_indication() || (super != nullptr && super->is_indication());
  const std::uint16_t class_scope = scope_bit(scope::class_) |
                                    (assoc ? scope_bit(scope::association) : 0) |
                                    (indic ? scope_bit(scope::indication) : 0);
  if (auto bad = check_qualifiers(d.qualifiers, local.qualifiers, class_scope, "class " + local.name);
      !bad.empty()) {
    return bad;
  }
  const bool super_keyed = super != nullptr && !super->keys().empty();
  for (const auto& p : local.properties) {
    const std::string what = "property " + local.name + "." + p.name;
    const std::uint16_t where = p.is_reference() ? scope_bit(scope::reference)
                                                 : scope_bit(scope::property);
    if (auto bad = check_qualifiers(d.qualifiers, p.qualifiers, where, what); !bad.empty()) {
      return bad;
    }
    const property_decl* inherited = super != nullptr ? super->property(p.name) : nullptr;
    if (const auto* ov = p.qualifiers.find("Override")) {
      const auto* target = ov->v.get_if<std::string>();
      if (target != nullptr && (super == nullptr || super->property(*target) == nullptr)) {
        return what + " overrides " + *target + ", which no superclass declares";
      }
    }
    if (inherited != nullptr && (inherited->type != p.type || inherited->is_array != p.is_array)) {
      return what + " changes the type of the property inherited from " +
             inherited->class_origin;
    }
    if (p.is_key() && super_keyed && (inherited == nullptr || !inherited->is_key())) {
      return what + " adds a key to a subclass of " + super->name + ", which already has keys";
    }
    if (p.is_key() && p.is_array) {
      return what + " is a key and an array; keys are scalars";
    }
    if (p.is_reference() && p.ref_class.empty()) {
      return what + " is a reference without a referenced class";
    }
  }
  for (const auto& m : local.methods) {
    const std::string what = "method " + local.name + "." + m.name;
    if (auto bad = check_qualifiers(d.qualifiers, m.qualifiers, scope_bit(scope::method), what);
        !bad.empty()) {
      return bad;
    }
    if (const auto* ov = m.qualifiers.find("Override")) {
      const auto* target = ov->v.get_if<std::string>();
      if (target != nullptr && (super == nullptr || super->method(*target) == nullptr)) {
        return what + " overrides " + *target + ", which no superclass declares";
      }
    }
    for (std::size_t i = 0; i < m.parameters.size(); ++i) {
      const auto& prm = m.parameters[i];
      for (std::size_t j = 0; j < i; ++j) {
        if (name_equal(m.parameters[j].name, prm.name)) {
          return "parameter " + prm.name + " is declared twice in " + what;
        }
      }
      if (auto bad = check_qualifiers(d.qualifiers, prm.qualifiers, scope_bit(scope::parameter),
                                      "parameter " + prm.name + " of " + what);
          !bad.empty()) {
        return bad;
      }
    }
  }
  return {};
}

const class_decl* class_repository::find_class(std::string_view ns, std::string_view name) const {
  const auto* d = find_ns(ns);
  if (d == nullptr) {
    return nullptr;
  }
  const auto it = d->classes.find(name);
  return it == d->classes.end() ? nullptr : it->second.get();
}

std::vector<const class_decl*> class_repository::subclasses(std::string_view ns, std::string_view name,
                                                            bool deep) const {
  std::vector<const class_decl*> out;
  const auto* d = find_ns(ns);
  if (d == nullptr) {
    return out;
  }
  const auto direct = [&](std::string_view n) -> const std::vector<const class_decl*>* {
    const auto it = d->children.find(n);
    return it == d->children.end() ? nullptr : &it->second;
  };
  if (const auto* first = direct(name)) {
    out = *first;
  }
  if (!deep) {
    return out;
  }
  // Breadth-first keeps parents before their children.
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (const auto* more = direct(out[i]->name)) {
      out.insert(out.end(), more->begin(), more->end());
    }
  }
  return out;
}

bool class_repository::is_a(std::string_view ns, std::string_view name,
                            std::string_view ancestor) const {
  const class_decl* c = find_class(ns, name);
  while (c != nullptr) {
    if (name_equal(c->name, ancestor)) {
      return true;
    }
    if (c->superclass.empty()) {
      return false;
    }
    c = find_class(ns, c->superclass);
  }
  return false;
}

std::vector<const class_decl*> class_repository::classes(std::string_view ns) const {
  const auto* d = find_ns(ns);
  return d == nullptr ? std::vector<const class_decl*>{} : d->order;
}

}  // namespace vsnapd::cim
