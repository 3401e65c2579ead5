#pragma once
// Provider interfaces (STYLE rule 2): the object manager routes each operation on a class to the
// provider the composition root registered for it. Providers run on the blocking executor, never
// on an I/O thread, and may be called from several threads at once: they must be thread-safe.
// Enumerations are pull cursors, so a 100,000-instance enumeration streams in bounded memory and
// maps directly onto WS-Man Pull and CIM-XML OpenEnumerateInstances/PullInstances.

#include "cimom/class_decl.hpp"
#include "cimom/error.hpp"
#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim {

/// Who asks and where: handed to every provider call.
struct operation_context {
  std::string ns;    ///< normalized namespace of the operation
  std::string user;  ///< authenticated user name ("" for internal calls)
};

/// A property list filter (DSP0200 PropertyList): nullopt means all properties.
using property_list = std::optional<std::vector<std::string>>;

/// A pull cursor over results. `next` appends up to `max` items to `batch` and returns false
/// once the cursor is exhausted (the last call may append items and return false).
template <class T>
class cursor {
 public:
  virtual ~cursor() = default;
  /// @param batch receives the next items (appended). @param max at most this many (>= 1).
  /// @return true while more items may follow; an error aborts the enumeration.
  virtual result<bool> next(std::vector<T>& batch, std::size_t max) = 0;
};
using instance_cursor = cursor<instance>;

/// A cursor over a vector the provider built (small result sets).
class vector_cursor final : public instance_cursor {
 public:
  explicit vector_cursor(std::vector<instance> items) : items_(std::move(items)) {}
  result<bool> next(std::vector<instance>& batch, std::size_t max) override {
    while (pos_ < items_.size() && max-- > 0) {
      batch.push_back(std::move(items_[pos_++]));
    }
    return pos_ < items_.size();
  }

 private:
  std::vector<instance> items_;
  std::size_t pos_ = 0;
};

/// Serves instances of one or more classes.
class instance_provider {
 public:
  virtual ~instance_provider() = default;
  /// The instance at `path` (a path of `cls`, keys already coerced to schema types).
  /// @return errc::not_found when no such instance exists.
  virtual result<instance> get_instance(const operation_context& ctx, const class_decl& cls,
                                        const object_path& path) = 0;
  /// Instances whose class is exactly `cls` (the object manager walks subclasses itself).
  virtual result<std::unique_ptr<instance_cursor>> enumerate_instances(
      const operation_context& ctx, const class_decl& cls) = 0;
  /// Creates an instance; @return its path. Default: errc::not_supported.
  virtual result<object_path> create_instance(const operation_context& ctx, const class_decl& cls,
                                              const instance& inst);
  /// Replaces the properties named in `properties` (all when nullopt). Default: not_supported.
  virtual result<void> modify_instance(const operation_context& ctx, const class_decl& cls,
                                       const instance& inst, const property_list& properties);
  /// Deletes the instance at `path`. Default: errc::not_supported.
  virtual result<void> delete_instance(const operation_context& ctx, const class_decl& cls,
                                       const object_path& path);
};

/// Serves instances of association classes, found from one end.
class association_provider {
 public:
  virtual ~association_provider() = default;
  /// Association instances of exactly `assoc_class` that refer to `source`, where `source` plays
  /// `role` (a reference property name; empty = any role). The object manager derives
  /// Associators/AssociatorNames by following the other references.
  virtual result<std::unique_ptr<instance_cursor>> references(const operation_context& ctx,
                                                              const class_decl& assoc_class,
                                                              const object_path& source,
                                                              std::string_view role) = 0;
};

/// A named method parameter value.
struct param_value {
  std::string name;
  value v;
};

/// What a method returns: the return value (typed as the method declares) and OUT parameters.
struct method_result {
  value return_value;
  std::vector<param_value> out;
};

/// Serves the extrinsic methods of a class.
class method_provider {
 public:
  virtual ~method_provider() = default;
  /// Invokes `method` on `target` (an instance path, or a class path for static methods).
  /// `in` holds exactly the method's IN parameters the client sent, converted to their declared
  /// types (the object manager has checked names and types already).
  virtual result<method_result> invoke(const operation_context& ctx, const class_decl& cls,
                                       const object_path& target, const method_decl& method,
                                       std::vector<param_value> in) = 0;
};

}  // namespace vsnapd::cim
