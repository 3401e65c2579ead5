#pragma once
// Instances declared in MOF (`instance of`), such as the DSP1033 profile registrations of
// root/interop (CIM_RegisteredProfile, CIM_ElementConformsToProfile, CIM_ReferencedProfile):
// kept in memory, served as instances and, for association classes, as associations. The
// composition root fills it from the compiled schema and registers it for each class that has
// such instances; clients may also create, modify and delete them (nothing is persisted here).

#include "cimom/class_repository.hpp"
#include "cimom/error.hpp"
#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"
#include "cimom/provider.hpp"

#include <cstddef>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vsnapd::cim {

/// An in-memory instance and association provider. Thread-safe: every member may be called
/// concurrently (readers share a lock, writers take it exclusively).
class static_instance_provider final : public instance_provider, public association_provider {
 public:
  /// @param repository the schema; must outlive the provider.
  explicit static_instance_provider(const class_repository& repository);

  /// Adds an instance of `inst.class_name()` in `ns`: properties are checked against the class
  /// and converted, absent ones take the class default. @return its path;
  /// errc::invalid_namespace, errc::invalid_class, errc::invalid_parameter (unknown property,
  /// bad value, missing key) or errc::already_exists.
  [[nodiscard]] result<object_path> add(std::string_view ns, const instance& inst);
  /// Number of instances held, over all classes and namespaces.
  std::size_t size() const;

  // cim::instance_provider
  result<instance> get_instance(const operation_context& ctx, const class_decl& cls,
                                const object_path& path) override;
  result<std::unique_ptr<instance_cursor>> enumerate_instances(const operation_context& ctx,
                                                               const class_decl& cls) override;
  result<object_path> create_instance(const operation_context& ctx, const class_decl& cls,
                                      const instance& inst) override;
  result<void> modify_instance(const operation_context& ctx, const class_decl& cls,
                               const instance& inst, const property_list& properties) override;
  result<void> delete_instance(const operation_context& ctx, const class_decl& cls,
                               const object_path& path) override;

  // cim::association_provider
  result<std::unique_ptr<instance_cursor>> references(const operation_context& ctx,
                                                      const class_decl& assoc_class,
                                                      const object_path& source,
                                                      std::string_view role) override;

 private:
  /// Instances of one class in one namespace, keyed (and ordered) by canonical path, and an
  /// index from the keys of every path their references hold to the instances holding them,
  /// so that References does not scan every association instance.
  struct class_store {
    std::map<std::string, instance> instances;
    std::unordered_multimap<std::string, std::string> by_reference;
  };
  using entry = std::pair<class_store*, std::map<std::string, instance>::iterator>;

  /// The namespace of an operation, spelled as the repository spells it.
  std::string ns_of(const operation_context& ctx) const;
  static std::string store_key(std::string_view ns, std::string_view class_name);
  /// The index key of a path: its key bindings only (a reference may name the class differently).
  static std::string reference_key(const object_path& path);
  static void index(class_store& store, const std::string& key, const instance& inst, bool add);
  /// The stored instance at `path` (of `cls` or, for a superclass path, of a subclass).
  /// Precondition: mutex_ held. @return a null store when there is none.
  entry find(const std::string& ns, const class_decl& cls, const object_path& path);
  result<object_path> insert(const std::string& ns, const class_decl& cls, instance inst);

  const class_repository& repository_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, class_store> stores_;  ///< by store_key(ns, class)
};

}  // namespace vsnapd::cim
