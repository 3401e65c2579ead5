#pragma once
// The object manager (CIMOM facade): the one entry point the WS-Man and CIM-XML codecs call for
// every DSP0200 operation. It owns no data: classes come from the class repository, instances
// from the providers the composition root registered per (namespace, class). It validates what a
// client sent against the schema (namespaces, classes, keys, properties, method parameters),
// routes the call to the provider that serves the class (or its nearest registered superclass),
// walks subclasses for polymorphic enumeration, and shapes what comes back (typed NULLs for
// absent properties, class order, DeepInheritance and PropertyList filtering).
//
// Thread-safety: registration (`register_*`) happens in the composition root before serving
// starts and is not synchronized. After that the object manager is read-only, and every
// operation may be called concurrently from the server's blocking pool; providers must be
// thread-safe. Cursors returned by an operation are used by one thread at a time (a pull
// context), may move between threads, and must not outlive the object manager or the providers.

#include "cimom/class_decl.hpp"
#include "cimom/class_repository.hpp"
#include "cimom/error.hpp"
#include "cimom/instance.hpp"
#include "cimom/name.hpp"
#include "cimom/object_path.hpp"
#include "cimom/provider.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vsnapd::cim {

class association_walk;
class instance_walk;
struct association_candidate;

/// An instance with its path (CIM-XML VALUE.NAMEDINSTANCE / VALUE.OBJECTWITHPATH, WS-Man item
/// with EPR). The path is computed before property filtering, so it always carries every key
/// even when a PropertyList removed key properties from `inst` (DSP0200 does not keep them).
struct named_instance {
  object_path path;
  instance inst;
};
using named_instance_cursor = cursor<named_instance>;
using path_cursor = cursor<object_path>;

/// GetClass options (DSP0200 section 5.3.2.1).
struct get_class_options {
  bool local_only = true;  ///< only properties/methods/qualifiers defined or overridden here
  bool include_qualifiers = true;
  bool include_class_origin = false;  ///< otherwise every class_origin is left empty
  property_list properties;           ///< nullopt = all properties; methods are never filtered
};

/// EnumerateClasses options (DSP0200 section 5.3.2.9).
struct enumerate_classes_options {
  bool deep_inheritance = false;  ///< all descendants instead of direct subclasses
  bool local_only = true;
  bool include_qualifiers = true;
  bool include_class_origin = false;
};

/// GetInstance options (DSP0200 section 5.3.2.2). LocalOnly, IncludeQualifiers and
/// IncludeClassOrigin are deprecated for instances and have no effect: instances carry no
/// qualifiers or class origins here, and LocalOnly is treated as false (as DSP0200 advises).
struct get_instance_options {
  property_list properties;
  /// Keep the key properties even when `properties` leaves them out. DSP0200 does not (the
  /// path carries them); WS-Man clients such as wsl look for them in the instance.
  bool keep_keys = false;
};

/// EnumerateInstances options (DSP0200 section 5.3.2.11).
struct enumerate_instances_options {
  /// true: instances of subclasses carry their subclass properties; false: every instance
  /// (subclass instances included) is restricted to the properties of the requested class.
  bool deep_inheritance = true;
  property_list properties;
  bool keep_keys = false;  ///< as get_instance_options::keep_keys
  /// false: instances of exactly the requested class only (DSP0227 PolymorphismMode None).
  bool include_subclasses = true;
};

/// Associators / AssociatorNames options (DSP0200 sections 5.3.2.14 and 5.3.2.15). Empty strings
/// mean "no filter"; `properties` applies to the returned far instances (Associators only).
struct associators_options {
  std::string assoc_class;   ///< the association class (or a subclass) linking source and result
  std::string result_class;  ///< each result is an instance of this class (or a subclass)
  std::string role;          ///< the reference property the source plays in the association
  std::string result_role;   ///< the reference property the result plays
  property_list properties;
  bool keep_keys = false;  ///< as get_instance_options::keep_keys
};

/// References / ReferenceNames options (DSP0200 sections 5.3.2.16 and 5.3.2.17). Empty strings
/// mean "no filter"; `properties` applies to the association instances (References only).
struct references_options {
  std::string result_class;  ///< each association instance is of this class (or a subclass)
  std::string role;          ///< the reference property the source plays
  property_list properties;
  bool keep_keys = false;  ///< as get_instance_options::keep_keys
};

/// Routes DSP0200 operations to providers, validating against and shaping by the schema.
class object_manager {
 public:
  /// @param repository the loaded schema; must outlive the object manager and stay unchanged.
  explicit object_manager(const class_repository& repository);
  ~object_manager();
  object_manager(const object_manager&) = delete;
  object_manager& operator=(const object_manager&) = delete;

  /// The schema this object manager serves.
  const class_repository& repository() const { return repository_; }

  // --- Registration (composition root, before serving; not thread-safe) -----------------

  /// Routes instance operations on `class_name` in `ns`, and on its subclasses that have no
  /// provider of their own, to `provider` (which must outlive the object manager).
  /// @return errc::invalid_namespace, errc::invalid_class (unknown class) or
  /// errc::already_exists (the class has an instance provider already).
  [[nodiscard]] result<void> register_instance_provider(std::string_view ns,
                                                        std::string_view class_name,
                                                        instance_provider& provider);
  /// Routes References/Associators over the association class `class_name` (and its subclasses
  /// without their own provider) to `provider`. @return as register_instance_provider, and
  /// errc::invalid_class when the class is not an association.
  [[nodiscard]] result<void> register_association_provider(std::string_view ns,
                                                           std::string_view class_name,
                                                           association_provider& provider);
  /// Routes InvokeMethod on `class_name` (and subclasses without their own) to `provider`.
  [[nodiscard]] result<void> register_method_provider(std::string_view ns,
                                                      std::string_view class_name,
                                                      method_provider& provider);

  // --- Class operations (the namespace is ctx.ns) ---------------------------------------

  /// A filtered copy of class `class_name`, ready for a codec to print.
  /// @return errc::invalid_namespace, errc::invalid_class.
  [[nodiscard]] result<class_decl> get_class(const operation_context& ctx,
                                             std::string_view class_name,
                                             const get_class_options& options) const;
  /// Subclasses of `class_name` (empty: the root classes), parents before children, each
  /// filtered as get_class does. @return errc::invalid_namespace, errc::invalid_class.
  [[nodiscard]] result<std::vector<class_decl>> enumerate_classes(
      const operation_context& ctx, std::string_view class_name,
      const enumerate_classes_options& options) const;
  /// Names of the subclasses of `class_name` (empty: the root classes); all descendants when
  /// `deep_inheritance`. @return errc::invalid_namespace, errc::invalid_class.
  [[nodiscard]] result<std::vector<std::string>> enumerate_class_names(const operation_context& ctx,
                                                                       std::string_view class_name,
                                                                       bool deep_inheritance) const;

  // --- Instance operations --------------------------------------------------------------
  // Paths from clients may have untyped keys (strings, sint64/uint64/real64 numbers): each is
  // converted to its key property's schema type. A path's own namespace, when present, wins
  // over ctx.ns. Errors: errc::invalid_namespace, errc::invalid_class (unknown class),
  // errc::invalid_parameter (missing, unknown or mistyped key; a class path where an instance
  // path is needed), errc::not_supported (no provider serves the class), and provider errors.

  /// The instance at `path`, complete in class order and filtered by `options.properties`.
  /// @return errc::not_found when the provider has no such instance.
  [[nodiscard]] result<instance> get_instance(const operation_context& ctx, const object_path& path,
                                              const get_instance_options& options) const;
  /// A lazy cursor over the instances of `class_name` and all its subclasses: each provider
  /// cursor is opened only when the previous class is exhausted, so memory is bounded by the
  /// batch size, not the number of instances.
  [[nodiscard]] result<std::unique_ptr<named_instance_cursor>> enumerate_instances(
      const operation_context& ctx, std::string_view class_name,
      const enumerate_instances_options& options) const;
  /// A lazy cursor over the paths of the instances of `class_name` and its subclasses.
  [[nodiscard]] result<std::unique_ptr<path_cursor>> enumerate_instance_names(
      const operation_context& ctx, std::string_view class_name) const;
  /// Creates `inst` (its class names the class to create, in ctx.ns). Properties are checked
  /// against the class and converted to their types; absent ones get the class default.
  /// @return the new instance's path; errc::invalid_parameter for unknown properties or a bad
  /// value, errc::not_supported for an abstract class.
  [[nodiscard]] result<object_path> create_instance(const operation_context& ctx,
                                                    const instance& inst) const;
  /// Modifies the instance at `path` from `inst` (properties checked and converted as for
  /// create). `properties` names what to change (nullopt: every property in `inst`); key
  /// properties cannot change. @return errc::invalid_parameter for an unknown property name or
  /// a changed key.
  [[nodiscard]] result<void> modify_instance(const operation_context& ctx, const object_path& path,
                                             const instance& inst,
                                             const property_list& properties) const;
  /// Deletes the instance at `path`.
  [[nodiscard]] result<void> delete_instance(const operation_context& ctx,
                                             const object_path& path) const;

  // --- Association operations (source must be an instance path) -------------------------
  // An association class takes part when an association provider serves it and one of its
  // references can point at the source's class. Sources that name a class (schema-level
  // associator queries) are refused with errc::not_supported.

  /// The instances associated with `source`, each fetched from its own instance provider.
  /// Associations whose far end no longer exists are skipped.
  [[nodiscard]] result<std::unique_ptr<named_instance_cursor>> associators(
      const operation_context& ctx, const object_path& source,
      const associators_options& options) const;
  /// The paths of the instances associated with `source` (read from the associations; the far
  /// instances are not fetched).
  [[nodiscard]] result<std::unique_ptr<path_cursor>> associator_names(
      const operation_context& ctx, const object_path& source,
      const associators_options& options) const;
  /// The association instances that refer to `source`.
  [[nodiscard]] result<std::unique_ptr<named_instance_cursor>> references(
      const operation_context& ctx, const object_path& source,
      const references_options& options) const;
  /// The paths of the association instances that refer to `source`.
  [[nodiscard]] result<std::unique_ptr<path_cursor>> reference_names(
      const operation_context& ctx, const object_path& source,
      const references_options& options) const;

  // --- Methods --------------------------------------------------------------------------

  /// Invokes `method_name` on `target`: an instance path, or a class path for a static method.
  /// IN parameters are matched by name (case-insensitively), converted to their declared types
  /// and passed in declaration order; the return value and OUT parameters are converted to
  /// their declared types on the way back.
  /// @return errc::method_not_found (no such method), errc::invalid_parameter (unknown,
  /// duplicate, OUT-only, mistyped or missing Required parameter; non-static method on a class
  /// path), errc::not_supported (no method provider), errc::failed (the provider returned an
  /// undeclared OUT parameter or a value of the wrong type), and provider errors.
  [[nodiscard]] result<method_result> invoke_method(const operation_context& ctx,
                                                    const object_path& target,
                                                    std::string_view method_name,
                                                    std::vector<param_value> in) const;

 private:
  struct registration {
    instance_provider* instances = nullptr;
    association_provider* associations = nullptr;
    method_provider* methods = nullptr;
  };
  enum class registration_kind : std::uint8_t { instances, associations, methods };
  struct namespace_registry {
    std::unordered_map<std::string, registration, name_hash, name_eq> by_class;
    /// Association classes with a provider of their own, in registration order.
    std::vector<const class_decl*> association_roots;
  };
  friend class instance_walk;
  friend class association_walk;

  result<registration*> registration_for(std::string_view ns, std::string_view class_name,
                                         const class_decl*& cls);
  /// The registration of `kind` nearest to `cls` up its superclass chain (and its class).
  const registration* nearest(const std::string& ns, const class_decl& cls, registration_kind kind,
                              const class_decl** owner) const;
  instance_provider* instance_provider_for(const std::string& ns, const class_decl& cls) const;
  method_provider* method_provider_for(const std::string& ns, const class_decl& cls) const;

  /// The namespace an operation runs in (the path's own, else ctx.ns), checked to exist.
  result<std::string> resolve_ns(const operation_context& ctx, std::string_view path_ns) const;
  /// The class `name` in `ns`, or errc::invalid_class.
  result<const class_decl*> find_class(const std::string& ns, std::string_view name) const;
  /// An instance path's class, and the path with keys converted to schema types.
  result<std::pair<const class_decl*, object_path>> resolve_instance_path(
      const operation_context& ctx, const object_path& path) const;
  /// Completes a provider's instance of `requested` (or a subclass); @return its class.
  result<const class_decl*> complete(const std::string& ns, const class_decl& requested,
                                     instance& inst) const;
  /// GetInstance without filtering, with the instance's own path.
  result<named_instance> get_named_instance(const operation_context& ctx,
                                            const object_path& path) const;
  /// The association classes that can link an instance of `source_cls` under the filters.
  result<std::vector<association_candidate>> association_candidates(
      const std::string& ns, const class_decl& source_cls, std::string_view assoc_class,
      std::string_view role, std::string_view result_class, std::string_view result_role,
      bool need_far_end) const;
  result<association_walk> start_association_walk(
      const operation_context& ctx, const object_path& source, std::string_view assoc_class,
      std::string_view role, std::string_view result_class, std::string_view result_role,
      bool need_far_end) const;

  const class_repository& repository_;
  std::unordered_map<std::string, namespace_registry, name_hash, name_eq> registries_;
};

}  // namespace vsnapd::cim
