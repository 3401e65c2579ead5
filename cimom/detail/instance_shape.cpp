#include "cimom/detail/instance_shape.hpp"

#include "cimom/name.hpp"

#include <algorithm>
#include <memory>

namespace vsnapd::cim::detail {

namespace {

// Reference keys nest paths; a bound on the depth keeps a hostile path from recursing forever.
constexpr int max_reference_depth = 8;

result<object_path> coerce_path(const class_repository& repo, const std::string& ns,
                                const class_decl& cls, const object_path& path, int depth);

// A reference key's value as a path, coerced when its class is known (so that it compares
// equal to the typed paths providers build); paths of unknown classes are left as written.
result<value> coerce_reference_at(const class_repository& repo, const std::string& ns,
                                  const value& v, int depth) {
  const auto* ref = v.get_if<reference>();
  if (ref == nullptr || *ref == nullptr || depth >= max_reference_depth) {
    return v;
  }
  const object_path& nested = **ref;
  const std::string nested_ns(nested.ns().empty() ? std::string_view(ns)
                                                  : repo.canonical_namespace(nested.ns()));
  const class_decl* nested_cls =
      nested_ns.empty() ? nullptr : repo.find_class(nested_ns, nested.class_name());
  if (nested_cls == nullptr) {
    return v;
  }
  // A relative reference is made absolute, so that every spelling of one path prints the same.
  auto coerced = VSNAPD_TRY(coerce_path(repo, nested_ns, *nested_cls, nested, depth + 1));
  return value(scalar(std::make_shared<const object_path>(std::move(coerced))));
}

result<object_path> coerce_path(const class_repository& repo, const std::string& ns,
                                const class_decl& cls, const object_path& path, int depth) {
  object_path out(ns, cls.name);
  const auto keys = cls.keys();
  for (const auto& binding : path.keys()) {
    const property_decl* decl = cls.property(binding.name);
    if (decl == nullptr || !decl->is_key()) {
      return fail(errc::invalid_parameter,
                  "'" + binding.name + "' is not a key property of class " + cls.name);
    }
    auto converted = convert(binding.v, decl->type, false);
    if (!converted) {
      return fail(errc::invalid_parameter,
                  "key " + cls.name + "." + decl->name + ": " + converted.error().description);
    }
    if (converted->is_null()) {
      return fail(errc::invalid_parameter, "key " + cls.name + "." + decl->name + " is NULL");
    }
    if (decl->is_reference()) {
      converted = VSNAPD_TRY(coerce_reference_at(repo, ns, *converted, depth));
    }
    out.set_key(decl->name, std::move(*converted));
  }
  if (keys.empty()) {
    out.set_singleton(true);
    return out;
  }
  for (const auto* key : keys) {
    if (out.key(key->name) == nullptr) {
      return fail(errc::invalid_parameter, "key property " + key->name + " of class " + cls.name +
                                               " is missing from the path " + path.to_string());
    }
  }
  return out;
}

bool same_key_value(const value& ref_value, const value& target_value) {
  if (ref_value.type() == target_value.type()) {
    return ref_value == target_value;
  }
  // A provider may have built the reference with another integer width or as text; compare in
  // the target's (schema) type rather than miss the match.
  auto converted = convert(ref_value, target_value.type(), target_value.is_array());
  return converted && *converted == target_value;
}

}  // namespace

result<object_path> coerce_instance_path(const class_repository& repo, const std::string& ns,
                                         const class_decl& cls, const object_path& path) {
  return coerce_path(repo, ns, cls, path, 0);
}

result<value> coerce_reference(const class_repository& repo, const std::string& ns,
                               const value& v) {
  return coerce_reference_at(repo, ns, v, 0);
}

bool classes_compatible(const class_repository& repo, const std::string& ns, std::string_view a,
                        std::string_view b) {
  return a.empty() || b.empty() || name_equal(a, b) || repo.is_a(ns, a, b) || repo.is_a(ns, b, a);
}

bool refers_to(const class_repository& repo, const object_path& ref, const object_path& target) {
  if (!ref.ns().empty() && !name_equal(normalize_namespace(ref.ns()), target.ns())) {
    return false;
  }
  const auto& rk = ref.keys();
  const auto& tk = target.keys();
  if (rk.size() != tk.size() || ref.is_singleton() != target.is_singleton()) {
    return false;
  }
  // Both key lists are sorted by name_less, so they pair up positionally.
  for (std::size_t i = 0; i < rk.size(); ++i) {
    if (!name_equal(rk[i].name, tk[i].name) || !same_key_value(rk[i].v, tk[i].v)) {
      return false;
    }
  }
  // Checked last: it walks the class hierarchy, the key comparison usually decides first.
  return classes_compatible(repo, target.ns(), ref.class_name(), target.class_name());
}

result<void> complete_instance(const class_decl& cls, instance& inst) {
  auto& props = inst.properties();
  const auto& decls = cls.properties;
  bool in_order = props.size() == decls.size();
  for (std::size_t i = 0; in_order && i < decls.size(); ++i) {
    in_order = name_equal(props[i].name, decls[i].name);
  }
  if (!in_order) {
    // Rebuild in class order; providers that already produce class order skip this.
    std::vector<property_value> ordered;
    ordered.reserve(decls.size());
    std::size_t used = 0;
    for (const auto& decl : decls) {
      auto it = std::find_if(props.begin(), props.end(), [&](const property_value& p) {
        return name_equal(p.name, decl.name);
      });
      if (it != props.end()) {
        ordered.push_back(std::move(*it));
        it->name.clear();  // consumed; a duplicate of the same name stays and is reported
        ++used;
      } else {
        ordered.push_back(property_value{decl.name, value::null(decl.type, decl.is_array)});
      }
    }
    if (used != props.size()) {
      for (const auto& p : props) {
        if (!p.name.empty()) {
          return fail(errc::failed, "the provider of " + cls.name + " returned property '" +
                                        p.name + "', which the class does not declare once");
        }
      }
    }
    props = std::move(ordered);
  }
  for (std::size_t i = 0; i < decls.size(); ++i) {
    auto& p = props[i];
    const auto& decl = decls[i];
    if (p.name != decl.name) {
      p.name = decl.name;
    }
    if (p.v.type() == decl.type && p.v.is_array() == decl.is_array) {
      continue;
    }
    auto converted = convert(p.v, decl.type, decl.is_array);
    if (!converted) {
      return fail(errc::failed, "the provider of " + cls.name + " returned a bad value for " +
                                    decl.name + ": " + converted.error().description);
    }
    p.v = std::move(*converted);
  }
  return {};
}

result<void> check_properties(const class_repository& repo, const std::string& ns,
                              const class_decl& cls, const instance& in, instance& out) {
  for (const auto& p : in.properties()) {
    const property_decl* decl = cls.property(p.name);
    if (decl == nullptr) {
      return fail(errc::invalid_parameter,
                  "class " + cls.name + " has no property named '" + p.name + "'");
    }
    if (out.get(decl->name) != nullptr) {
      return fail(errc::invalid_parameter,
                  "property " + cls.name + "." + decl->name + " is given more than once");
    }
    auto converted = convert(p.v, decl->type, decl->is_array);
    if (!converted) {
      return fail(errc::invalid_parameter,
                  "property " + cls.name + "." + decl->name + ": " + converted.error().description);
    }
    if (decl->is_reference()) {
      auto coerced = coerce_reference(repo, ns, *converted);
      if (!coerced) {
        return fail(errc::invalid_parameter,
                    "property " + cls.name + "." + decl->name + ": " + coerced.error().description);
      }
      converted = std::move(*coerced);
    }
    out.set(decl->name, std::move(*converted));
  }
  return {};
}

void add_defaults(const class_decl& cls, instance& inst) {
  for (const auto& decl : cls.properties) {
    if (inst.get(decl.name) == nullptr) {
      inst.set(decl.name, decl.default_value.is_null() ? value::null(decl.type, decl.is_array)
                                                       : decl.default_value);
    }
  }
}

bool list_contains(const std::vector<std::string>& list, std::string_view name) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& n) { return name_equal(n, name); });
}

void filter_instance(instance& inst, const class_decl* restrict_to, const property_list& properties,
                     const object_path* keep_keys_of) {
  if (restrict_to == nullptr && !properties) {
    return;
  }
  std::erase_if(inst.properties(), [&](const property_value& p) {
    if (keep_keys_of != nullptr && keep_keys_of->key(p.name) != nullptr) {
      return false;
    }
    return (restrict_to != nullptr && restrict_to->property(p.name) == nullptr) ||
           (properties && !list_contains(*properties, p.name));
  });
}

}  // namespace vsnapd::cim::detail
