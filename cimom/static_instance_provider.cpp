#include "cimom/static_instance_provider.hpp"

#include "cimom/detail/instance_shape.hpp"
#include "cimom/name.hpp"

#include <mutex>

namespace vsnapd::cim {

static_instance_provider::static_instance_provider(const class_repository& repository)
    : repository_(repository) {}

std::string static_instance_provider::ns_of(const operation_context& ctx) const {
  // The object manager passes the repository's spelling already; other callers may not.
  const std::string_view canonical = repository_.canonical_namespace(ctx.ns);
  return canonical.empty() ? normalize_namespace(ctx.ns) : std::string(canonical);
}

std::string static_instance_provider::store_key(std::string_view ns, std::string_view class_name) {
  // '\n' cannot occur in a namespace or class name, so the pair maps to one key.
  return fold_name(normalize_namespace(ns)) + '\n' + fold_name(class_name);
}

result<object_path> static_instance_provider::add(std::string_view ns, const instance& inst) {
  const std::string n(repository_.canonical_namespace(ns));
  if (n.empty()) {
    return fail(errc::invalid_namespace,
                "namespace " + normalize_namespace(ns) + " does not exist");
  }
  const class_decl* cls = repository_.find_class(n, inst.class_name());
  if (cls == nullptr) {
    return fail(errc::invalid_class,
                "class " + inst.class_name() + " does not exist in namespace " + n);
  }
  instance checked(cls->name);
  if (auto r = detail::check_properties(*cls, inst, checked); !r) {
    return r.error();
  }
  detail::add_defaults(*cls, checked);
  if (auto r = detail::complete_instance(*cls, checked); !r) {
    return r.error();
  }
  std::unique_lock lock(mutex_);
  return insert(n, *cls, std::move(checked));
}

std::size_t static_instance_provider::size() const {
  std::shared_lock lock(mutex_);
  std::size_t n = 0;
  for (const auto& [key, store] : stores_) {
    n += store.size();
  }
  return n;
}

result<object_path> static_instance_provider::insert(const std::string& ns, const class_decl& cls,
                                                      instance inst) {
  auto path = VSNAPD_TRY(inst.path(ns, cls));
  path = VSNAPD_TRY(detail::coerce_instance_path(repository_, ns, cls, path));
  auto& store = stores_[store_key(ns, cls.name)];
  if (!store.emplace(path.to_string(), std::move(inst)).second) {
    return fail(errc::already_exists, "an instance " + path.to_string() + " exists already");
  }
  return path;
}

instance* static_instance_provider::find(const std::string& ns, const class_decl& cls,
                                         const object_path& path) {
  const auto lookup = [&](const class_decl& c) -> instance* {
    const auto s = stores_.find(store_key(ns, c.name));
    if (s == stores_.end()) {
      return nullptr;
    }
    object_path p = path;
    p.set_class_name(c.name);
    p.set_ns(ns);
    const auto it = s->second.find(p.to_string());
    return it == s->second.end() ? nullptr : &it->second;
  };
  if (auto* found = lookup(cls)) {
    return found;
  }
  // A path may name the instance through a superclass (CIM_RegisteredProfile for a subclass).
  for (const auto* sub : repository_.subclasses(ns, cls.name, true)) {
    if (auto* found = lookup(*sub)) {
      return found;
    }
  }
  return nullptr;
}

// cim::instance_provider

result<instance> static_instance_provider::get_instance(const operation_context& ctx,
                                                        const class_decl& cls,
                                                        const object_path& path) {
  std::shared_lock lock(mutex_);
  const instance* found = find(ns_of(ctx), cls, path);
  if (found == nullptr) {
    return fail(errc::not_found, "no instance " + path.to_string());
  }
  return *found;
}

result<std::unique_ptr<instance_cursor>> static_instance_provider::enumerate_instances(
    const operation_context& ctx, const class_decl& cls) {
  std::vector<instance> items;
  {
    std::shared_lock lock(mutex_);
    // A snapshot: the cursor outlives the lock, and MOF-declared sets are small.
    if (const auto s = stores_.find(store_key(ctx.ns, cls.name)); s != stores_.end()) {
      items.reserve(s->second.size());
      for (const auto& [key, inst] : s->second) {
        items.push_back(inst);
      }
    }
  }
  return std::make_unique<vector_cursor>(std::move(items));
}

result<object_path> static_instance_provider::create_instance(const operation_context& ctx,
                                                              const class_decl& cls,
                                                              const instance& inst) {
  std::unique_lock lock(mutex_);
  return insert(ns_of(ctx), cls, inst);
}

result<void> static_instance_provider::modify_instance(const operation_context& ctx,
                                                       const class_decl& cls,
                                                       const instance& inst,
                                                       const property_list& properties) {
  const std::string ns = ns_of(ctx);
  auto path = VSNAPD_TRY(inst.path(ns, cls));
  std::unique_lock lock(mutex_);
  instance* found = find(ns, cls, path);
  if (found == nullptr) {
    return fail(errc::not_found, "no instance " + path.to_string());
  }
  for (const auto& p : inst.properties()) {
    if (!properties || detail::list_contains(*properties, p.name)) {
      if (value* v = found->get(p.name)) {
        *v = p.v;
      }
    }
  }
  return {};
}

result<void> static_instance_provider::delete_instance(const operation_context& ctx,
                                                       const class_decl& cls,
                                                       const object_path& path) {
  const std::string ns = ns_of(ctx);
  std::unique_lock lock(mutex_);
  const instance* found = find(ns, cls, path);
  if (found == nullptr) {
    return fail(errc::not_found, "no instance " + path.to_string());
  }
  const class_decl* actual = repository_.find_class(ns, found->class_name());
  auto& store = stores_[store_key(ns, found->class_name())];
  auto own = VSNAPD_TRY(found->path(ns, actual != nullptr ? *actual : cls));
  store.erase(own.to_string());
  return {};
}

// cim::association_provider

result<std::unique_ptr<instance_cursor>> static_instance_provider::references(
    const operation_context& ctx, const class_decl& assoc_class, const object_path& source,
    std::string_view role) {
  std::vector<instance> items;
  const auto refs = assoc_class.references();
  std::shared_lock lock(mutex_);
  const auto s = stores_.find(store_key(ctx.ns, assoc_class.name));
  if (s != stores_.end()) {
    for (const auto& [key, inst] : s->second) {
      for (const auto* ref : refs) {
        if (!role.empty() && !name_equal(ref->name, role)) {
          continue;
        }
        const value* v = inst.get(ref->name);
        const auto* r = v != nullptr ? v->get_if<reference>() : nullptr;
        if (r != nullptr && *r != nullptr && detail::refers_to(repository_, **r, source)) {
          items.push_back(inst);
          break;
        }
      }
    }
  }
  return std::make_unique<vector_cursor>(std::move(items));
}

}  // namespace vsnapd::cim
