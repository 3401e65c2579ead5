#include "cimom/static_instance_provider.hpp"

#include "cimom/detail/instance_shape.hpp"
#include "cimom/name.hpp"

#include <mutex>
#include <set>

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

std::string static_instance_provider::reference_key(const object_path& path) {
  if (path.is_singleton()) {
    return "@";
  }
  // Keys are sorted by folded name, so equal key sets give equal strings; refers_to confirms.
  std::string out;
  for (const auto& k : path.keys()) {
    out += fold_name(k.name);
    out += '=';
    out += k.v.is_null() || k.v.is_array() ? std::string() : to_text(k.v.as_scalar());
    out += '\n';
  }
  return out;
}

void static_instance_provider::index(class_store& store, const std::string& key,
                                     const instance& inst, bool add) {
  std::set<std::string> targets;  // one entry per referenced object, however many roles
  for (const auto& p : inst.properties()) {
    const auto* ref = p.v.get_if<reference>();
    if (ref != nullptr && *ref != nullptr) {
      targets.insert(reference_key(**ref));
    }
  }
  for (const auto& t : targets) {
    if (add) {
      store.by_reference.emplace(t, key);
      continue;
    }
    auto [first, last] = store.by_reference.equal_range(t);
    for (auto it = first; it != last; ++it) {
      if (it->second == key) {
        store.by_reference.erase(it);
        break;
      }
    }
  }
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
  if (auto r = detail::check_properties(repository_, n, *cls, inst, checked); !r) {
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
    n += store.instances.size();
  }
  return n;
}

result<object_path> static_instance_provider::insert(const std::string& ns, const class_decl& cls,
                                                     instance inst) {
  auto path = VSNAPD_TRY(inst.path(ns, cls));
  path = VSNAPD_TRY(detail::coerce_instance_path(repository_, ns, cls, path));
  auto& store = stores_[store_key(ns, cls.name)];
  std::string key = path.to_string();
  const auto [it, inserted] = store.instances.emplace(key, std::move(inst));
  if (!inserted) {
    return fail(errc::already_exists, "an instance " + key + " exists already");
  }
  index(store, key, it->second, true);
  return path;
}

static_instance_provider::entry static_instance_provider::find(const std::string& ns,
                                                               const class_decl& cls,
                                                               const object_path& path) {
  const auto lookup = [&](const class_decl& c) -> entry {
    const auto s = stores_.find(store_key(ns, c.name));
    if (s == stores_.end()) {
      return {nullptr, {}};
    }
    object_path p = path;
    p.set_class_name(c.name);
    p.set_ns(ns);
    const auto it = s->second.instances.find(p.to_string());
    return it == s->second.instances.end() ? entry{nullptr, {}} : entry{&s->second, it};
  };
  if (auto found = lookup(cls); found.first != nullptr) {
    return found;
  }
  // A path may name the instance through a superclass (CIM_RegisteredProfile for a subclass).
  for (const auto* sub : repository_.subclasses(ns, cls.name, true)) {
    if (auto found = lookup(*sub); found.first != nullptr) {
      return found;
    }
  }
  return {nullptr, {}};
}

// cim::instance_provider

result<instance> static_instance_provider::get_instance(const operation_context& ctx,
                                                        const class_decl& cls,
                                                        const object_path& path) {
  std::shared_lock lock(mutex_);
  const auto [store, it] = find(ns_of(ctx), cls, path);
  if (store == nullptr) {
    return fail(errc::not_found, "no instance " + path.to_string());
  }
  return it->second;
}

result<std::unique_ptr<instance_cursor>> static_instance_provider::enumerate_instances(
    const operation_context& ctx, const class_decl& cls) {
  std::vector<instance> items;
  {
    std::shared_lock lock(mutex_);
    // A snapshot: the cursor outlives the lock, and MOF-declared sets are small.
    if (const auto s = stores_.find(store_key(ctx.ns, cls.name)); s != stores_.end()) {
      items.reserve(s->second.instances.size());
      for (const auto& [key, inst] : s->second.instances) {
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
                                                       const class_decl& cls, const instance& inst,
                                                       const property_list& properties) {
  const std::string ns = ns_of(ctx);
  auto path = VSNAPD_TRY(inst.path(ns, cls));
  std::unique_lock lock(mutex_);
  const auto [store, it] = find(ns, cls, path);
  if (store == nullptr) {
    return fail(errc::not_found, "no instance " + path.to_string());
  }
  index(*store, it->first, it->second, false);
  for (const auto& p : inst.properties()) {
    if (!properties || detail::list_contains(*properties, p.name)) {
      if (value* v = it->second.get(p.name)) {
        *v = p.v;
      }
    }
  }
  index(*store, it->first, it->second, true);
  return {};
}

result<void> static_instance_provider::delete_instance(const operation_context& ctx,
                                                       const class_decl& cls,
                                                       const object_path& path) {
  std::unique_lock lock(mutex_);
  const auto [store, it] = find(ns_of(ctx), cls, path);
  if (store == nullptr) {
    return fail(errc::not_found, "no instance " + path.to_string());
  }
  index(*store, it->first, it->second, false);
  store->instances.erase(it);
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
  if (s == stores_.end()) {
    return std::make_unique<vector_cursor>(std::move(items));
  }
  auto [first, last] = s->second.by_reference.equal_range(reference_key(source));
  for (auto hit = first; hit != last; ++hit) {
    const instance& inst = s->second.instances.at(hit->second);
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
  return std::make_unique<vector_cursor>(std::move(items));
}

}  // namespace vsnapd::cim
