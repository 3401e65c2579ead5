#pragma once
// Qualifiers and qualifier declarations (DSP0004 section 5.6): named, typed values attached to
// classes, properties, methods and parameters, with flavors that decide whether a subclass
// inherits them (ToSubclass / Restricted) and may change them (EnableOverride / DisableOverride).

#include "cimom/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim {

/// Qualifier flavor bits. The DSP0004 default is EnableOverride | ToSubclass, not Translatable.
enum class flavor : std::uint8_t {
  enable_override = 1,  ///< absent = DisableOverride
  to_subclass = 2,      ///< absent = Restricted
  translatable = 4,
};
inline constexpr std::uint8_t default_flavors =
    static_cast<std::uint8_t>(flavor::enable_override) | static_cast<std::uint8_t>(flavor::to_subclass);

/// Where a qualifier may appear (DSP0004 "Scope"); bits combine, `any` is all of them.
enum class scope : std::uint16_t {
  class_ = 1,
  association = 2,
  indication = 4,
  property = 8,
  reference = 16,
  method = 32,
  parameter = 64,
  qualifier = 128,  ///< on a qualifier declaration itself (rare, DSP0004 2.x)
  any = 255,
};

/// A qualifier value on an element.
struct qualifier {
  std::string name;
  value v;
  std::uint8_t flavors = default_flavors;
  bool propagated = false;  ///< inherited from the superclass's element, not stated locally

  bool has(flavor f) const { return (flavors & static_cast<std::uint8_t>(f)) != 0; }
};

/// A qualifier declaration (`Qualifier Key : boolean = false, Scope(property, reference), ...`).
struct qualifier_decl {
  std::string name;
  cim_type type = cim_type::boolean;
  bool is_array = false;
  std::optional<std::uint32_t> array_size;
  value default_value;  ///< typed NULL when the declaration gives no default
  std::uint16_t scopes = 0;
  std::uint8_t flavors = default_flavors;

  bool allows(scope s) const { return (scopes & static_cast<std::uint16_t>(s)) != 0; }
  bool has(flavor f) const { return (flavors & static_cast<std::uint8_t>(f)) != 0; }
};

/// The qualifiers of one element, in declaration order, looked up case-insensitively.
class qualifier_list {
 public:
  const qualifier* find(std::string_view name) const;
  qualifier* find(std::string_view name);
  /// Adds, or replaces the one of the same name.
  void set(qualifier q);
  bool erase(std::string_view name);
  /// True when the boolean qualifier is present with value true (Key, Association, Static...).
  bool is_true(std::string_view name) const;
  /// The string value of a string qualifier (EmbeddedInstance, Description), or empty.
  std::string_view string_of(std::string_view name) const;

  const std::vector<qualifier>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<qualifier> items_;
};

}  // namespace vsnapd::cim
