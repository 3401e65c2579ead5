#pragma once
// Helpers the object manager and the static instance provider share: converting the keys of a
// client's path to schema types, matching reference values against paths, and putting provider
// instances into the shape the codecs print (class order, typed NULLs, filtered properties).

#include "cimom/class_decl.hpp"
#include "cimom/class_repository.hpp"
#include "cimom/error.hpp"
#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"
#include "cimom/provider.hpp"

#include <string>
#include <string_view>

namespace vsnapd::cim::detail {

/// `path` (an instance path of `cls` in `ns`) with every key converted to its key property's
/// type and spelled as the schema spells it, the class named as the schema does, the namespace
/// set to `ns` and the host dropped. Reference keys are parsed and, when their class is known,
/// coerced recursively (and given the namespace `ns` when they have none). A keyless class
/// accepts a singleton or a key-less path.
/// @return errc::invalid_parameter naming the missing, unknown or mistyped key.
result<object_path> coerce_instance_path(const class_repository& repo, const std::string& ns,
                                         const class_decl& cls, const object_path& path);

/// A reference value with its path coerced as coerce_instance_path does (when its class is
/// known in its namespace, or `ns` for a relative path); any other value is returned as is.
result<value> coerce_reference(const class_repository& repo, const std::string& ns, const value& v);

/// True when `a` is `b` or either class derives from the other (a reference typed with a
/// superclass can point at a subclass instance; a client may name a subclass instance through
/// its superclass). An empty name (untyped reference) is compatible with everything.
bool classes_compatible(const class_repository& repo, const std::string& ns, std::string_view a,
                        std::string_view b);

/// True when the reference value `ref` names the instance `target` (an object-manager path with
/// namespace and schema-typed keys): namespaces equal or `ref` has none, classes compatible,
/// and the same keys with equal values (a key of another type is converted first).
bool refers_to(const class_repository& repo, const object_path& ref, const object_path& target);

/// Puts the properties of `inst`, an instance of `cls`, in class order, adds a typed NULL for
/// every property the provider left out, spells names as the schema does, and converts a value
/// of another type to the declared one.
/// @return errc::failed naming an undeclared property or an unconvertible value (a provider bug).
result<void> complete_instance(const class_decl& cls, instance& inst);

/// Checks the property values a client sent against `cls` and adds them to `out`, converted to
/// their declared types and spelled as the schema spells them; references are coerced as by
/// coerce_reference.
/// @return errc::invalid_parameter naming an unknown, repeated or mistyped property.
result<void> check_properties(const class_repository& repo, const std::string& ns,
                              const class_decl& cls, const instance& in, instance& out);

/// Adds to `inst` every property of `cls` it lacks, with the declared default or a typed NULL.
void add_defaults(const class_decl& cls, instance& inst);

/// Removes the properties that `restrict_to` does not declare (when not null: shallow
/// enumeration) and those `properties` does not name (when set: a PropertyList), except the
/// keys of `keep_keys_of` (when not null).
void filter_instance(instance& inst, const class_decl* restrict_to, const property_list& properties,
                     const object_path* keep_keys_of = nullptr);

/// True when `list` names `name` (case-insensitively).
bool list_contains(const std::vector<std::string>& list, std::string_view name);

}  // namespace vsnapd::cim::detail
