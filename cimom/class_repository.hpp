#pragma once
// The class repository: namespaces, qualifier declarations and resolved classes. It is filled at
// start-up (by the MOF compiler, from the schema) and is read-only afterwards, so concurrent
// readers need no lock; mutation while requests run is not supported.

#include "cimom/class_decl.hpp"
#include "cimom/error.hpp"
#include "cimom/name.hpp"
#include "cimom/qualifier.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vsnapd::cim {

/// Classes and qualifier declarations per namespace. Names are case-insensitive; namespace
/// names are normalized with normalize_namespace.
class class_repository {
 public:
  class_repository();
  ~class_repository();
  class_repository(const class_repository&) = delete;
  class_repository& operator=(const class_repository&) = delete;

  /// Creates a namespace; errc::already_exists if it exists.
  result<void> add_namespace(std::string_view ns);
  bool has_namespace(std::string_view ns) const;
  /// The namespace as it was created ("root/cimv2" for "ROOT\\CIMV2"), or empty when unknown.
  /// The view stays valid as long as the repository.
  std::string_view canonical_namespace(std::string_view ns) const;
  /// All namespaces, in creation order.
  std::vector<std::string> namespaces() const;

  /// Declares a qualifier type in `ns`; errc::already_exists on a conflicting redeclaration.
  result<void> add_qualifier_decl(std::string_view ns, qualifier_decl decl);
  const qualifier_decl* find_qualifier_decl(std::string_view ns, std::string_view name) const;
  std::vector<const qualifier_decl*> qualifier_decls(std::string_view ns) const;

  /// Adds a class written locally (only its own properties, methods and qualifiers). The
  /// repository resolves it against its superclass: inherited members are merged with
  /// class_origin/propagated set, ToSubclass qualifiers propagate, overrides are checked.
  /// DSP0004 rules checked here (errc::invalid_parameter, with a description): a DisableOverride
  /// qualifier keeps its value; qualifiers declared in the namespace are used within their scope
  /// and with their type; properties, methods and parameters are unique; an override keeps the
  /// inherited type; Override("X") names an inherited element; a subclass of a keyed class adds
  /// no keys; keys are scalars; an association has at least two references. Referenced classes
  /// may be added later (forward references), so they are not checked here, nor is DSP0004's
  /// "references only in associations" (programmatic schemas use reference-typed values); the
  /// MOF compiler checks both.
  /// @return the stored resolved class; errc::invalid_namespace, errc::invalid_superclass,
  /// errc::already_exists, or errc::invalid_parameter with a description of the violation.
  result<const class_decl*> add_class(std::string_view ns, class_decl local);

  /// The resolved class, or nullptr.
  const class_decl* find_class(std::string_view ns, std::string_view name) const;
  /// Direct subclasses (deep = false) or all descendants (deep = true, parents before children)
  /// of `name`; an empty `name` means the root classes (or every class, when deep).
  std::vector<const class_decl*> subclasses(std::string_view ns, std::string_view name,
                                            bool deep) const;
  /// True when `name` is `ancestor` or derives from it.
  bool is_a(std::string_view ns, std::string_view name, std::string_view ancestor) const;
  /// Every class of `ns` in the order added (superclasses before subclasses).
  std::vector<const class_decl*> classes(std::string_view ns) const;

 private:
  struct namespace_data;
  // The DSP0004 checks of add_class that need only the local class and its resolved
  // superclass; returns a description of the first violation, or an empty string.
  static std::string validate(const namespace_data& d, const class_decl& local,
                              const class_decl* super);
  const namespace_data* find_ns(std::string_view ns) const;
  namespace_data* find_ns(std::string_view ns);

  std::vector<std::unique_ptr<namespace_data>> namespaces_;
};

}  // namespace vsnapd::cim
