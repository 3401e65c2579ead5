#include "cimom/object_manager.hpp"

#include "cimom/detail/instance_shape.hpp"

#include <algorithm>
#include <deque>
#include <utility>

namespace vsnapd::cim {

namespace {

// How many association instances an association walk pulls from a provider at a time when the
// caller's batch gives no better bound.
constexpr std::size_t min_pull = 16;

// A copy of `cls` shaped by the GetClass/EnumerateClasses options (DSP0200 5.3.2.1).
class_decl shape_class(const class_decl& cls, bool local_only, bool include_qualifiers,
                       bool include_class_origin, const property_list& properties) {
  class_decl out;
  out.name = cls.name;
  out.superclass = cls.superclass;
  const auto shape_qualifiers = [&](const qualifier_list& from) {
    qualifier_list q;
    if (include_qualifiers) {
      for (const auto& item : from) {
        // LocalOnly keeps only the qualifiers stated (or restated) on this class.
        if (!local_only || !item.propagated) {
          q.set(item);
        }
      }
    }
    return q;
  };
  out.qualifiers = shape_qualifiers(cls.qualifiers);
  for (const auto& p : cls.properties) {
    if ((local_only && p.propagated) ||
        (properties && !detail::list_contains(*properties, p.name))) {
      continue;
    }
    property_decl copy = p;
    copy.qualifiers = shape_qualifiers(p.qualifiers);
    if (!include_class_origin) {
      copy.class_origin.clear();
    }
    out.properties.push_back(std::move(copy));
  }
  for (const auto& m : cls.methods) {
    if (local_only && m.propagated) {
      continue;
    }
    method_decl copy = m;
    copy.qualifiers = shape_qualifiers(m.qualifiers);
    for (auto& param : copy.parameters) {
      // Parameters are never inherited separately from their method; all their qualifiers
      // go or stay with IncludeQualifiers.
      if (!include_qualifiers) {
        param.qualifiers = qualifier_list();
      }
    }
    if (!include_class_origin) {
      copy.class_origin.clear();
    }
    out.methods.push_back(std::move(copy));
  }
  return out;
}

// The path of an instance a provider returned. A missing or NULL key there is the provider's
// bug, not the client's, so it is reported as failed rather than invalid_parameter.
result<object_path> provider_path(const instance& inst, const std::string& ns,
                                  const class_decl& cls) {
  auto path = inst.path(ns, cls);
  if (!path) {
    return fail(errc::failed, "the provider of " + cls.name +
                                  " returned an instance without its "
                                  "keys: " +
                                  path.error().description);
  }
  return path;
}

// Every key property of `cls` that `inst` carries equals the one in `path`.
result<void> check_keys_unchanged(const class_decl& cls, const object_path& path, instance& inst) {
  for (const auto* key : cls.keys()) {
    const value* in_path = path.key(key->name);
    value* given = inst.get(key->name);
    if (given == nullptr || given->is_null()) {
      inst.set(key->name, *in_path);
    } else if (!(*given == *in_path)) {
      return fail(errc::invalid_parameter,
                  "key property " + cls.name + "." + key->name + " cannot be modified");
    }
  }
  return {};
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// Walks: the lazy engines behind the enumeration cursors.

/// Yields the completed instances of a class and its subclasses, one provider cursor at a time.
class instance_walk {
 public:
  instance_walk(const object_manager& om, operation_context ctx, std::string ns,
                std::vector<const class_decl*> classes)
      : om_(om), ctx_(std::move(ctx)), ns_(std::move(ns)), classes_(std::move(classes)) {
    ctx_.ns = ns_;
  }

  /// Appends up to `max` completed instances with their classes; false once exhausted.
  result<bool> next(std::vector<instance>& out, std::vector<const class_decl*>& classes,
                    std::size_t max) {
    const std::size_t start = out.size();
    while (out.size() - start < max) {
      if (!current_) {
        if (next_class_ == classes_.size()) {
          return false;
        }
        current_class_ = classes_[next_class_++];
        instance_provider* provider = om_.instance_provider_for(ns_, *current_class_);
        if (provider == nullptr) {
          continue;  // an abstract or unserved class contributes nothing
        }
        current_ = VSNAPD_TRY(provider->enumerate_instances(ctx_, *current_class_));
      }
      const std::size_t before = out.size();
      const bool more = VSNAPD_TRY(current_->next(out, max - (out.size() - start)));
      for (std::size_t i = before; i < out.size(); ++i) {
        classes.push_back(VSNAPD_TRY(om_.complete(ns_, *current_class_, out[i])));
      }
      if (!more) {
        current_.reset();  // release the provider's cursor before opening the next class's
      }
    }
    return true;
  }

 private:
  const object_manager& om_;
  operation_context ctx_;
  std::string ns_;
  std::vector<const class_decl*> classes_;
  std::size_t next_class_ = 0;
  const class_decl* current_class_ = nullptr;
  std::unique_ptr<instance_cursor> current_;
};

namespace {

/// EnumerateInstances: completed instances, paths computed, then filtered.
class enumerate_cursor final : public named_instance_cursor {
 public:
  enumerate_cursor(instance_walk walk, std::string ns, const class_decl* restrict_to,
                   property_list properties, bool keep_keys)
      : walk_(std::move(walk)),
        ns_(std::move(ns)),
        restrict_to_(restrict_to),
        properties_(std::move(properties)),
        keep_keys_(keep_keys) {}

  result<bool> next(std::vector<named_instance>& batch, std::size_t max) override {
    buffer_.clear();
    classes_.clear();
    const bool more = VSNAPD_TRY(walk_.next(buffer_, classes_, max));
    for (std::size_t i = 0; i < buffer_.size(); ++i) {
      auto path = VSNAPD_TRY(provider_path(buffer_[i], ns_, *classes_[i]));
      detail::filter_instance(buffer_[i], restrict_to_, properties_, keep_keys_ ? &path : nullptr);
      batch.push_back(named_instance{std::move(path), std::move(buffer_[i])});
    }
    return more;
  }

 private:
  instance_walk walk_;
  std::string ns_;
  const class_decl* restrict_to_;
  property_list properties_;
  bool keep_keys_;
  std::vector<instance> buffer_;  // reused across batches: one batch of instances at a time
  std::vector<const class_decl*> classes_;
};

/// EnumerateInstanceNames: the paths of the walked instances.
class enumerate_names_cursor final : public path_cursor {
 public:
  enumerate_names_cursor(instance_walk walk, std::string ns)
      : walk_(std::move(walk)), ns_(std::move(ns)) {}

  result<bool> next(std::vector<object_path>& batch, std::size_t max) override {
    buffer_.clear();
    classes_.clear();
    const bool more = VSNAPD_TRY(walk_.next(buffer_, classes_, max));
    for (std::size_t i = 0; i < buffer_.size(); ++i) {
      batch.push_back(VSNAPD_TRY(provider_path(buffer_[i], ns_, *classes_[i])));
    }
    return more;
  }

 private:
  instance_walk walk_;
  std::string ns_;
  std::vector<instance> buffer_;
  std::vector<const class_decl*> classes_;
};

}  // namespace

/// One association class that can link the source: its provider and the references involved.
struct association_candidate {
  const class_decl* cls = nullptr;
  association_provider* provider = nullptr;
  std::vector<const property_decl*> source_roles;  ///< references that may hold the source
};

/// Yields completed association instances that refer to the source, class by class.
class association_walk {
 public:
  association_walk(const object_manager& om, operation_context ctx, std::string ns,
                   object_path source, std::string role,
                   std::vector<association_candidate> candidates)
      : om_(om),
        ctx_(std::move(ctx)),
        ns_(std::move(ns)),
        source_(std::move(source)),
        role_(std::move(role)),
        candidates_(std::move(candidates)) {
    ctx_.ns = ns_;
  }

  const object_path& source() const { return source_; }
  const std::string& ns() const { return ns_; }
  const object_manager& om() const { return om_; }
  const operation_context& ctx() const { return ctx_; }
  /// GetInstance of a far end, for Associators.
  result<named_instance> get(const operation_context& ctx, const object_path& path) const {
    return om_.get_named_instance(ctx, path);
  }

  /// Appends up to `max` association instances (with their candidate); false once exhausted.
  result<bool> next(std::vector<instance>& out, std::vector<const association_candidate*>& which,
                    std::vector<const class_decl*>& classes, std::size_t max) {
    const std::size_t start = out.size();
    while (out.size() - start < max) {
      if (!current_) {
        if (next_ == candidates_.size()) {
          return false;
        }
        current_candidate_ = &candidates_[next_++];
        current_ = VSNAPD_TRY(current_candidate_->provider->references(
            ctx_, *current_candidate_->cls, source_, role_));
      }
      const std::size_t before = out.size();
      const bool more = VSNAPD_TRY(current_->next(out, max - (out.size() - start)));
      for (std::size_t i = before; i < out.size(); ++i) {
        classes.push_back(VSNAPD_TRY(om_.complete(ns_, *current_candidate_->cls, out[i])));
        which.push_back(current_candidate_);
      }
      if (!more) {
        current_.reset();
      }
    }
    return true;
  }

 private:
  const object_manager& om_;
  operation_context ctx_;
  std::string ns_;
  object_path source_;
  std::string role_;
  std::vector<association_candidate> candidates_;
  std::size_t next_ = 0;
  const association_candidate* current_candidate_ = nullptr;
  std::unique_ptr<instance_cursor> current_;
};

namespace {

/// A cursor that refills a queue of results from an association walk; one association can
/// yield several results (Associators over an association with more than two references).
template <class T>
class association_cursor : public cursor<T> {
 public:
  explicit association_cursor(association_walk walk) : walk_(std::move(walk)) {}

  result<bool> next(std::vector<T>& batch, std::size_t max) override {
    while (pending_.size() < max && more_) {
      instances_.clear();
      which_.clear();
      classes_.clear();
      more_ = VSNAPD_TRY(walk_.next(instances_, which_, classes_, std::max(max, min_pull)));
      for (std::size_t i = 0; i < instances_.size(); ++i) {
        if (auto r = emit(std::move(instances_[i]), *which_[i], *classes_[i]); !r) {
          return r.error();
        }
      }
    }
    while (max-- > 0 && !pending_.empty()) {
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    return more_ || !pending_.empty();
  }

 protected:
  /// Turns one completed association instance into zero or more results (into pending_).
  virtual result<void> emit(instance assoc, const association_candidate& candidate,
                            const class_decl& cls) = 0;

  association_walk walk_;
  std::deque<T> pending_;

 private:
  bool more_ = true;
  std::vector<instance> instances_;
  std::vector<const association_candidate*> which_;
  std::vector<const class_decl*> classes_;
};

/// References / ReferenceNames: the association instances themselves.
template <class T>
class references_cursor final : public association_cursor<T> {
 public:
  references_cursor(association_walk walk, property_list properties, bool keep_keys)
      : association_cursor<T>(std::move(walk)),
        properties_(std::move(properties)),
        keep_keys_(keep_keys) {}

 protected:
  result<void> emit(instance assoc, const association_candidate&, const class_decl& cls) override {
    auto path = VSNAPD_TRY(provider_path(assoc, this->walk_.ns(), cls));
    if constexpr (std::is_same_v<T, object_path>) {
      this->pending_.push_back(std::move(path));
    } else {
      detail::filter_instance(assoc, nullptr, properties_, keep_keys_ ? &path : nullptr);
      this->pending_.push_back(named_instance{std::move(path), std::move(assoc)});
    }
    return {};
  }

 private:
  property_list properties_;
  bool keep_keys_;
};

/// Associators / AssociatorNames: the far ends of each association instance.
template <class T>
class associators_cursor final : public association_cursor<T> {
 public:
  associators_cursor(association_walk walk, std::string result_class, std::string result_role,
                     property_list properties, bool keep_keys)
      : association_cursor<T>(std::move(walk)),
        result_class_(std::move(result_class)),
        result_role_(std::move(result_role)),
        properties_(std::move(properties)),
        keep_keys_(keep_keys) {}

 protected:
  result<void> emit(instance assoc, const association_candidate& candidate,
                    const class_decl& cls) override {
    const auto& walk = this->walk_;
    const auto& repo = walk.om().repository();
    // The role(s) the source plays in this very instance; the others lead to the results.
    std::vector<const property_decl*> source_roles;
    for (const auto* role : candidate.source_roles) {
      const value* v = assoc.get(role->name);
      const auto* ref = v != nullptr ? v->get_if<reference>() : nullptr;
      if (ref != nullptr && *ref != nullptr && detail::refers_to(repo, **ref, walk.source())) {
        source_roles.push_back(role);
      }
    }
    if (source_roles.empty()) {
      return {};  // the provider returned an association that does not touch the source
    }
    for (const auto* far : cls.references()) {
      // By name: `cls` may be a subclass of the candidate class, with its own property copies.
      const bool is_source_role =
          std::any_of(source_roles.begin(), source_roles.end(),
                      [&](const property_decl* r) { return name_equal(r->name, far->name); });
      if (is_source_role || (!result_role_.empty() && !name_equal(far->name, result_role_))) {
        continue;
      }
      const value* v = assoc.get(far->name);
      const auto* ref = v != nullptr ? v->get_if<reference>() : nullptr;
      if (ref == nullptr || *ref == nullptr) {
        continue;
      }
      object_path target = **ref;
      if (target.ns().empty()) {
        target.set_ns(walk.ns());
      }
      if (auto r = add_result(std::move(target)); !r) {
        return r.error();
      }
    }
    return {};
  }

 private:
  result<void> add_result(object_path target) {
    const auto& om = this->walk_.om();
    const auto& repo = om.repository();
    const std::string target_ns = normalize_namespace(target.ns());
    if (!result_class_.empty() && !repo.is_a(target_ns, target.class_name(), result_class_)) {
      // The path may name a superclass of the far instance; only the instance can tell.
      if constexpr (std::is_same_v<T, object_path>) {
        return {};
      } else if (!repo.is_a(target_ns, result_class_, target.class_name())) {
        return {};
      }
    }
    if constexpr (std::is_same_v<T, object_path>) {
      this->pending_.push_back(std::move(target));
      return {};
    } else {
      operation_context ctx = this->walk_.ctx();
      ctx.ns = target_ns;
      auto got = this->walk_.get(ctx, target);
      if (!got) {
        if (got.error().code == errc::not_found) {
          return {};  // a dangling association: the far end went away meanwhile
        }
        return got.error();
      }
      if (!result_class_.empty() && !repo.is_a(target_ns, got->inst.class_name(), result_class_)) {
        return {};
      }
      detail::filter_instance(got->inst, nullptr, properties_, keep_keys_ ? &got->path : nullptr);
      this->pending_.push_back(std::move(*got));
      return {};
    }
  }

  std::string result_class_;
  std::string result_role_;
  property_list properties_;
  bool keep_keys_;
};

}  // namespace

// ----------------------------------------------------------------------------------------------
// Registration and lookup.

object_manager::object_manager(const class_repository& repository) : repository_(repository) {}
object_manager::~object_manager() = default;

result<object_manager::registration*> object_manager::registration_for(std::string_view ns,
                                                                       std::string_view class_name,
                                                                       const class_decl*& cls) {
  const std::string n(repository_.canonical_namespace(ns));
  if (n.empty()) {
    return fail(errc::invalid_namespace,
                "namespace " + normalize_namespace(ns) + " does not exist");
  }
  cls = repository_.find_class(n, class_name);
  if (cls == nullptr) {
    return fail(errc::invalid_class,
                "class " + std::string(class_name) + " does not exist in " + n);
  }
  return &registries_[n].by_class[cls->name];
}

result<void> object_manager::register_instance_provider(std::string_view ns,
                                                        std::string_view class_name,
                                                        instance_provider& provider) {
  const class_decl* cls = nullptr;
  auto* reg = VSNAPD_TRY(registration_for(ns, class_name, cls));
  if (reg->instances != nullptr) {
    return fail(errc::already_exists, "class " + cls->name + " has an instance provider already");
  }
  reg->instances = &provider;
  return {};
}

result<void> object_manager::register_association_provider(std::string_view ns,
                                                           std::string_view class_name,
                                                           association_provider& provider) {
  const class_decl* cls = nullptr;
  auto* reg = VSNAPD_TRY(registration_for(ns, class_name, cls));
  if (!cls->is_association()) {
    return fail(errc::invalid_class, "class " + cls->name + " is not an association");
  }
  if (reg->associations != nullptr) {
    return fail(errc::already_exists,
                "class " + cls->name + " has an association provider already");
  }
  reg->associations = &provider;
  registries_[std::string(repository_.canonical_namespace(ns))].association_roots.push_back(cls);
  return {};
}

result<void> object_manager::register_method_provider(std::string_view ns,
                                                      std::string_view class_name,
                                                      method_provider& provider) {
  const class_decl* cls = nullptr;
  auto* reg = VSNAPD_TRY(registration_for(ns, class_name, cls));
  if (reg->methods != nullptr) {
    return fail(errc::already_exists, "class " + cls->name + " has a method provider already");
  }
  reg->methods = &provider;
  return {};
}

const object_manager::registration* object_manager::nearest(const std::string& ns,
                                                            const class_decl& cls,
                                                            registration_kind kind,
                                                            const class_decl** owner) const {
  const auto it = registries_.find(ns);
  if (it == registries_.end()) {
    return nullptr;
  }
  // Walk up the superclass chain: a provider serves its class's subclasses unless they have
  // their own. The chain is short (a handful of classes) and every step is a hash lookup.
  const class_decl* c = &cls;
  while (c != nullptr) {
    const auto r = it->second.by_class.find(c->name);
    if (r != it->second.by_class.end()) {
      const registration& reg = r->second;
      const bool has = (kind == registration_kind::instances && reg.instances != nullptr) ||
                       (kind == registration_kind::associations && reg.associations != nullptr) ||
                       (kind == registration_kind::methods && reg.methods != nullptr);
      if (has) {
        if (owner != nullptr) {
          *owner = c;
        }
        return &reg;
      }
    }
    c = c->superclass.empty() ? nullptr : repository_.find_class(ns, c->superclass);
  }
  return nullptr;
}

instance_provider* object_manager::instance_provider_for(const std::string& ns,
                                                         const class_decl& cls) const {
  const auto* reg = nearest(ns, cls, registration_kind::instances, nullptr);
  return reg != nullptr ? reg->instances : nullptr;
}

method_provider* object_manager::method_provider_for(const std::string& ns,
                                                     const class_decl& cls) const {
  const auto* reg = nearest(ns, cls, registration_kind::methods, nullptr);
  return reg != nullptr ? reg->methods : nullptr;
}

// ----------------------------------------------------------------------------------------------
// Shared checks.

result<std::string> object_manager::resolve_ns(const operation_context& ctx,
                                               std::string_view path_ns) const {
  const std::string_view given = path_ns.empty() ? std::string_view(ctx.ns) : path_ns;
  // The repository's spelling, so every path we hand out names the namespace the same way.
  const std::string_view ns = repository_.canonical_namespace(given);
  if (ns.empty()) {
    return fail(errc::invalid_namespace,
                given.empty() ? std::string("the operation names no namespace")
                              : "namespace " + normalize_namespace(given) + " does not exist");
  }
  return std::string(ns);
}

result<const class_decl*> object_manager::find_class(const std::string& ns,
                                                     std::string_view name) const {
  const class_decl* cls = repository_.find_class(ns, name);
  if (cls == nullptr) {
    return fail(errc::invalid_class,
                "class " + std::string(name) + " does not exist in namespace " + ns);
  }
  return cls;
}

result<std::pair<const class_decl*, object_path>> object_manager::resolve_instance_path(
    const operation_context& ctx, const object_path& path) const {
  const std::string ns = VSNAPD_TRY(resolve_ns(ctx, path.ns()));
  const class_decl* cls = VSNAPD_TRY(find_class(ns, path.class_name()));
  auto coerced = VSNAPD_TRY(detail::coerce_instance_path(repository_, ns, *cls, path));
  return std::make_pair(cls, std::move(coerced));
}

result<const class_decl*> object_manager::complete(const std::string& ns,
                                                   const class_decl& requested,
                                                   instance& inst) const {
  const class_decl* actual = &requested;
  if (inst.class_name().empty()) {
    inst.set_class_name(requested.name);
  } else if (!name_equal(inst.class_name(), requested.name)) {
    // A provider may answer for a superclass path with an instance of a subclass.
    actual = repository_.find_class(ns, inst.class_name());
    if (actual == nullptr || !repository_.is_a(ns, actual->name, requested.name)) {
      return fail(errc::failed, "the provider of " + requested.name + " returned an instance of " +
                                    inst.class_name() + ", which is not a " + requested.name);
    }
  }
  if (inst.class_name() != actual->name) {
    inst.set_class_name(actual->name);
  }
  if (auto r = detail::complete_instance(*actual, inst); !r) {
    return r.error();
  }
  return actual;
}

result<named_instance> object_manager::get_named_instance(const operation_context& ctx,
                                                          const object_path& path) const {
  auto [cls, coerced] = VSNAPD_TRY(resolve_instance_path(ctx, path));
  instance_provider* provider = instance_provider_for(coerced.ns(), *cls);
  if (provider == nullptr) {
    return fail(errc::not_supported, "no provider serves instances of " + cls->name);
  }
  operation_context op = ctx;
  op.ns = coerced.ns();
  auto inst = VSNAPD_TRY(provider->get_instance(op, *cls, coerced));
  const class_decl* actual = VSNAPD_TRY(complete(coerced.ns(), *cls, inst));
  auto own_path = VSNAPD_TRY(provider_path(inst, coerced.ns(), *actual));
  return named_instance{std::move(own_path), std::move(inst)};
}

// ----------------------------------------------------------------------------------------------
// Class operations.

result<class_decl> object_manager::get_class(const operation_context& ctx,
                                             std::string_view class_name,
                                             const get_class_options& options) const {
  const std::string ns = VSNAPD_TRY(resolve_ns(ctx, {}));
  const class_decl* cls = VSNAPD_TRY(find_class(ns, class_name));
  return shape_class(*cls, options.local_only, options.include_qualifiers,
                     options.include_class_origin, options.properties);
}

result<std::vector<class_decl>> object_manager::enumerate_classes(
    const operation_context& ctx, std::string_view class_name,
    const enumerate_classes_options& options) const {
  const std::string ns = VSNAPD_TRY(resolve_ns(ctx, {}));
  if (!class_name.empty()) {
    VSNAPD_TRY(find_class(ns, class_name));
  }
  std::vector<class_decl> out;
  for (const auto* cls : repository_.subclasses(ns, class_name, options.deep_inheritance)) {
    out.push_back(shape_class(*cls, options.local_only, options.include_qualifiers,
                              options.include_class_origin, std::nullopt));
  }
  return out;
}

result<std::vector<std::string>> object_manager::enumerate_class_names(
    const operation_context& ctx, std::string_view class_name, bool deep_inheritance) const {
  const std::string ns = VSNAPD_TRY(resolve_ns(ctx, {}));
  if (!class_name.empty()) {
    VSNAPD_TRY(find_class(ns, class_name));
  }
  std::vector<std::string> out;
  for (const auto* cls : repository_.subclasses(ns, class_name, deep_inheritance)) {
    out.push_back(cls->name);
  }
  return out;
}

// ----------------------------------------------------------------------------------------------
// Instance operations.

result<instance> object_manager::get_instance(const operation_context& ctx, const object_path& path,
                                              const get_instance_options& options) const {
  auto got = VSNAPD_TRY(get_named_instance(ctx, path));
  detail::filter_instance(got.inst, nullptr, options.properties,
                          options.keep_keys ? &got.path : nullptr);
  return std::move(got.inst);
}

result<std::unique_ptr<named_instance_cursor>> object_manager::enumerate_instances(
    const operation_context& ctx, std::string_view class_name,
    const enumerate_instances_options& options) const {
  std::string ns = VSNAPD_TRY(resolve_ns(ctx, {}));
  const class_decl* cls = VSNAPD_TRY(find_class(ns, class_name));
  std::vector<const class_decl*> classes;
  if (options.include_subclasses) {
    classes = repository_.subclasses(ns, cls->name, true);
  }
  classes.insert(classes.begin(), cls);
  instance_walk walk(*this, ctx, ns, std::move(classes));
  return std::make_unique<enumerate_cursor>(std::move(walk), std::move(ns),
                                            options.deep_inheritance ? nullptr : cls,
                                            options.properties, options.keep_keys);
}

result<std::unique_ptr<path_cursor>> object_manager::enumerate_instance_names(
    const operation_context& ctx, std::string_view class_name) const {
  std::string ns = VSNAPD_TRY(resolve_ns(ctx, {}));
  const class_decl* cls = VSNAPD_TRY(find_class(ns, class_name));
  auto classes = repository_.subclasses(ns, cls->name, true);
  classes.insert(classes.begin(), cls);
  instance_walk walk(*this, ctx, ns, std::move(classes));
  return std::make_unique<enumerate_names_cursor>(std::move(walk), std::move(ns));
}

result<object_path> object_manager::create_instance(const operation_context& ctx,
                                                    const instance& inst) const {
  const std::string ns = VSNAPD_TRY(resolve_ns(ctx, {}));
  const class_decl* cls = VSNAPD_TRY(find_class(ns, inst.class_name()));
  if (cls->is_abstract()) {
    return fail(errc::not_supported, "class " + cls->name + " is abstract and has no instances");
  }
  instance checked(cls->name);
  if (auto r = detail::check_properties(repository_, ns, *cls, inst, checked); !r) {
    return r.error();
  }
  // Absent properties take the class's default (DSP0004: defaults apply at creation).
  detail::add_defaults(*cls, checked);
  if (auto r = detail::complete_instance(*cls, checked); !r) {
    return r.error();
  }
  VSNAPD_TRY(checked.path(ns, *cls));  // every key must be there before a provider sees it
  instance_provider* provider = instance_provider_for(ns, *cls);
  if (provider == nullptr) {
    return fail(errc::not_supported, "no provider serves instances of " + cls->name);
  }
  operation_context op = ctx;
  op.ns = ns;
  auto created = VSNAPD_TRY(provider->create_instance(op, *cls, checked));
  const std::string created_ns =
      created.ns().empty() ? ns : std::string(repository_.canonical_namespace(created.ns()));
  const class_decl* created_cls = repository_.find_class(created_ns, created.class_name());
  if (created_cls == nullptr) {
    return fail(errc::failed, "the provider of " + cls->name + " returned the path " +
                                  created.to_string() + " of an unknown class");
  }
  return detail::coerce_instance_path(repository_, created_ns, *created_cls, created);
}

result<void> object_manager::modify_instance(const operation_context& ctx, const object_path& path,
                                             const instance& inst,
                                             const property_list& properties) const {
  auto [cls, coerced] = VSNAPD_TRY(resolve_instance_path(ctx, path));
  instance checked(cls->name);
  if (auto r = detail::check_properties(repository_, coerced.ns(), *cls, inst, checked); !r) {
    return r.error();
  }
  if (auto r = check_keys_unchanged(*cls, coerced, checked); !r) {
    return r.error();
  }
  std::vector<std::string> names;
  if (properties) {
    for (const auto& n : *properties) {
      const property_decl* decl = cls->property(n);
      if (decl == nullptr) {
        return fail(errc::invalid_parameter,
                    "class " + cls->name + " has no property named '" + n + "'");
      }
      // DSP0200: a listed property missing from ModifiedInstance is set to NULL.
      if (checked.get(decl->name) == nullptr) {
        checked.set(decl->name, value::null(decl->type, decl->is_array));
      }
      names.push_back(decl->name);
    }
  } else {
    // DSP0200: without a PropertyList, the properties of ModifiedInstance are modified (its
    // keys only identify the instance).
    for (const auto& p : checked.properties()) {
      if (!cls->property(p.name)->is_key()) {
        names.push_back(p.name);
      }
    }
  }
  for (const auto& n : names) {
    if (cls->property(n)->is_key() && !(*checked.get(n) == *coerced.key(n))) {
      return fail(errc::invalid_parameter,
                  "key property " + cls->name + "." + n + " cannot be modified");
    }
  }
  instance_provider* provider = instance_provider_for(coerced.ns(), *cls);
  if (provider == nullptr) {
    return fail(errc::not_supported, "no provider serves instances of " + cls->name);
  }
  operation_context op = ctx;
  op.ns = coerced.ns();
  return provider->modify_instance(op, *cls, checked, property_list(std::move(names)));
}

result<void> object_manager::delete_instance(const operation_context& ctx,
                                             const object_path& path) const {
  auto [cls, coerced] = VSNAPD_TRY(resolve_instance_path(ctx, path));
  instance_provider* provider = instance_provider_for(coerced.ns(), *cls);
  if (provider == nullptr) {
    return fail(errc::not_supported, "no provider serves instances of " + cls->name);
  }
  operation_context op = ctx;
  op.ns = coerced.ns();
  return provider->delete_instance(op, *cls, coerced);
}

// ----------------------------------------------------------------------------------------------
// Association operations.

result<std::vector<association_candidate>> object_manager::association_candidates(
    const std::string& ns, const class_decl& source_cls, std::string_view assoc_class,
    std::string_view role, std::string_view result_class, std::string_view result_role,
    bool need_far_end) const {
  for (std::string_view filter : {assoc_class, result_class}) {
    if (!filter.empty() && repository_.find_class(ns, filter) == nullptr) {
      return fail(errc::invalid_parameter,
                  "class " + std::string(filter) + " does not exist in namespace " + ns);
    }
  }
  std::vector<association_candidate> out;
  const auto it = registries_.find(ns);
  if (it == registries_.end()) {
    return out;
  }
  for (const class_decl* root : it->second.association_roots) {
    auto classes = repository_.subclasses(ns, root->name, true);
    classes.insert(classes.begin(), root);
    for (const class_decl* cls : classes) {
      const class_decl* owner = nullptr;
      const registration* reg = nearest(ns, *cls, registration_kind::associations, &owner);
      // A subclass with a provider of its own is visited from its own root.
      if (reg == nullptr || owner != root) {
        continue;
      }
      if (!assoc_class.empty() && !repository_.is_a(ns, cls->name, assoc_class)) {
        continue;
      }
      association_candidate c{cls, reg->associations, {}};
      const auto refs = cls->references();
      for (const auto* ref : refs) {
        if ((role.empty() || name_equal(ref->name, role)) &&
            detail::classes_compatible(repository_, ns, ref->ref_class, source_cls.name)) {
          c.source_roles.push_back(ref);
        }
      }
      if (c.source_roles.empty()) {
        continue;
      }
      if (need_far_end) {
        // Some other reference must be able to lead to an acceptable result.
        const bool far = std::any_of(refs.begin(), refs.end(), [&](const property_decl* ref) {
          const bool only_source = c.source_roles.size() == 1 && c.source_roles[0] == ref;
          return !only_source && (result_role.empty() || name_equal(ref->name, result_role)) &&
                 (result_class.empty() ||
                  detail::classes_compatible(repository_, ns, ref->ref_class, result_class));
        });
        if (!far) {
          continue;
        }
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

result<association_walk> object_manager::start_association_walk(
    const operation_context& ctx, const object_path& source, std::string_view assoc_class,
    std::string_view role, std::string_view result_class, std::string_view result_role,
    bool need_far_end) const {
  if (source.is_class_path()) {
    const std::string ns = VSNAPD_TRY(resolve_ns(ctx, source.ns()));
    VSNAPD_TRY(find_class(ns, source.class_name()));
    return fail(errc::not_supported, "association operations on the class " + source.class_name() +
                                         " (schema queries) are not supported");
  }
  auto [cls, coerced] = VSNAPD_TRY(resolve_instance_path(ctx, source));
  std::string ns = coerced.ns();
  auto candidates = VSNAPD_TRY(
      association_candidates(ns, *cls, assoc_class, role, result_class, result_role, need_far_end));
  return association_walk(*this, ctx, std::move(ns), std::move(coerced), std::string(role),
                          std::move(candidates));
}

result<std::unique_ptr<named_instance_cursor>> object_manager::associators(
    const operation_context& ctx, const object_path& source,
    const associators_options& options) const {
  auto walk = VSNAPD_TRY(start_association_walk(ctx, source, options.assoc_class, options.role,
                                                options.result_class, options.result_role, true));
  return std::make_unique<associators_cursor<named_instance>>(
      std::move(walk), options.result_class, options.result_role, options.properties,
      options.keep_keys);
}

result<std::unique_ptr<path_cursor>> object_manager::associator_names(
    const operation_context& ctx, const object_path& source,
    const associators_options& options) const {
  auto walk = VSNAPD_TRY(start_association_walk(ctx, source, options.assoc_class, options.role,
                                                options.result_class, options.result_role, true));
  return std::make_unique<associators_cursor<object_path>>(
      std::move(walk), options.result_class, options.result_role, std::nullopt, false);
}

result<std::unique_ptr<named_instance_cursor>> object_manager::references(
    const operation_context& ctx, const object_path& source,
    const references_options& options) const {
  auto walk = VSNAPD_TRY(
      start_association_walk(ctx, source, options.result_class, options.role, {}, {}, false));
  return std::make_unique<references_cursor<named_instance>>(std::move(walk), options.properties,
                                                             options.keep_keys);
}

result<std::unique_ptr<path_cursor>> object_manager::reference_names(
    const operation_context& ctx, const object_path& source,
    const references_options& options) const {
  auto walk = VSNAPD_TRY(
      start_association_walk(ctx, source, options.result_class, options.role, {}, {}, false));
  return std::make_unique<references_cursor<object_path>>(std::move(walk), std::nullopt, false);
}

// ----------------------------------------------------------------------------------------------
// Methods.

result<method_result> object_manager::invoke_method(const operation_context& ctx,
                                                    const object_path& target,
                                                    std::string_view method_name,
                                                    std::vector<param_value> in) const {
  const std::string ns = VSNAPD_TRY(resolve_ns(ctx, target.ns()));
  const class_decl* cls = VSNAPD_TRY(find_class(ns, target.class_name()));
  const method_decl* method = cls->method(method_name);
  if (method == nullptr) {
    return fail(errc::method_not_found,
                "class " + cls->name + " has no method " + std::string(method_name));
  }
  const std::string what = cls->name + "." + method->name;
  object_path path(ns, cls->name);
  if (target.is_class_path()) {
    if (!method->is_static()) {
      return fail(errc::invalid_parameter,
                  "method " + what + " is not static: invoke it on an instance, not the class");
    }
  } else {
    path = VSNAPD_TRY(detail::coerce_instance_path(repository_, ns, *cls, target));
  }

  // Match the client's parameters to the declaration, then pass them in declaration order.
  std::vector<std::optional<value>> given(method->parameters.size());
  for (auto& p : in) {
    const parameter_decl* decl = method->parameter(p.name);
    if (decl == nullptr) {
      return fail(errc::invalid_parameter, "method " + what + " has no parameter " + p.name);
    }
    const auto index = static_cast<std::size_t>(decl - method->parameters.data());
    if (!decl->is_in()) {
      // An OUT-only parameter sent as input is ignored, never passed on: schema versions differ
      // on such parameters (CreateSnapshot's ResultingSnapshot and Job are OUT in CIM 2.41 but
      // IN/OUT in 2.35 and on Hyper-V, whose clients send them), and the value has no meaning.
      continue;
    }
    if (given[index]) {
      return fail(errc::invalid_parameter,
                  "parameter " + decl->name + " of " + what + " is given more than once");
    }
    auto converted = convert(p.v, decl->type, decl->is_array);
    if (!converted) {
      return fail(errc::invalid_parameter,
                  "parameter " + decl->name + " of " + what + ": " + converted.error().description);
    }
    given[index] = std::move(*converted);
  }
  std::vector<param_value> checked;
  for (std::size_t i = 0; i < method->parameters.size(); ++i) {
    const auto& decl = method->parameters[i];
    if (decl.qualifiers.is_true("Required") && decl.is_in() && (!given[i] || given[i]->is_null())) {
      return fail(errc::invalid_parameter,
                  "required parameter " + decl.name + " of " + what + " is missing");
    }
    if (given[i]) {
      checked.push_back(param_value{decl.name, std::move(*given[i])});
    }
  }

  method_provider* provider = method_provider_for(ns, *cls);
  if (provider == nullptr) {
    return fail(errc::not_supported, "no provider implements method " + what);
  }
  operation_context op = ctx;
  op.ns = ns;
  auto out = VSNAPD_TRY(provider->invoke(op, *cls, path, *method, std::move(checked)));

  // Hold providers to the declaration too: clients type their parsers by the schema.
  auto ret = convert(out.return_value, method->return_type, false);
  if (!ret) {
    return fail(errc::failed,
                "method " + what + " returned a bad value: " + ret.error().description);
  }
  out.return_value = std::move(*ret);
  for (auto& p : out.out) {
    const parameter_decl* decl = method->parameter(p.name);
    if (decl == nullptr || !decl->is_out()) {
      return fail(errc::failed,
                  "method " + what + " returned " + p.name + ", which is not an OUT parameter");
    }
    auto converted = convert(p.v, decl->type, decl->is_array);
    if (!converted) {
      return fail(errc::failed, "method " + what + " returned a bad value for " + decl->name +
                                    ": " + converted.error().description);
    }
    p.name = decl->name;
    p.v = std::move(*converted);
  }
  return out;
}

}  // namespace vsnapd::cim
