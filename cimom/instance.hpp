#pragma once
// A CIM instance: the class it belongs to and property values in class order. Instances
// produced by providers are complete (every property of the class, NULL where unknown) unless a
// property list filtered them; the object manager fills absent properties from the schema.

#include "cimom/error.hpp"
#include "cimom/object_path.hpp"
#include "cimom/value.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim {

struct class_decl;

/// One property value of an instance.
struct property_value {
  std::string name;
  value v;
};

/// An instance of a class, with its property values in insertion (normally class) order.
class instance {
 public:
  instance() = default;
  explicit instance(std::string class_name) : class_name_(std::move(class_name)) {}

  const std::string& class_name() const { return class_name_; }
  void set_class_name(std::string name) { class_name_ = std::move(name); }

  /// The value of a property, or nullptr when the instance does not carry it.
  const value* get(std::string_view name) const;
  value* get(std::string_view name);
  /// Adds or replaces a property value.
  instance& set(std::string_view name, value v);
  /// Removes a property; false when absent.
  bool erase(std::string_view name);

  const std::vector<property_value>& properties() const { return properties_; }
  std::vector<property_value>& properties() { return properties_; }

  /// The instance path in `ns` from the key properties of `cls` (the resolved class).
  /// @return errc::invalid_parameter naming a key that is missing or NULL.
  result<object_path> path(std::string_view ns, const class_decl& cls) const;

  friend bool operator==(const instance& a, const instance& b);

 private:
  std::string class_name_;
  std::vector<property_value> properties_;
};

}  // namespace vsnapd::cim
