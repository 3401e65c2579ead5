#pragma once
// A CIM value (DSP0004 section 5.2): one scalar or an array of scalars of a single CIM type, or
// NULL. Values carry their type even when NULL, because CIM-XML and WS-Man both print typed NULLs
// (xsi:nil / an absent VALUE) and method parameters are type-checked against the schema.

#include "cimom/cim_type.hpp"
#include "cimom/datetime.hpp"
#include "cimom/error.hpp"

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vsnapd::cim {

class object_path;
class instance;

/// A reference value: the object path it points at (immutable, shared between copies).
using reference = std::shared_ptr<const object_path>;
/// An embedded object or embedded instance value (immutable, shared between copies).
using embedded_instance = std::shared_ptr<const instance>;

/// One non-NULL element. The alternative index equals `static_cast<size_t>(cim_type)`.
using scalar = std::variant<bool, std::uint8_t, std::int8_t, std::uint16_t, std::int16_t,
                            std::uint32_t, std::int32_t, std::uint64_t, std::int64_t, float, double,
                            char16_t, std::string, datetime, reference, embedded_instance>;

/// The CIM type of a scalar (its variant index).
inline cim_type type_of(const scalar& s) { return static_cast<cim_type>(s.index()); }

/// A typed CIM value: NULL, a scalar, or an array (whose elements are never NULL; DSP0004
/// allows NULL array elements only in CIM-XML's VALUE.NULL, which we refuse on input).
class value {
 public:
  /// A NULL string.
  value() = default;
  /// A NULL of the given type.
  static value null(cim_type type, bool is_array = false);
  /// A scalar; the type is the scalar's.
  value(scalar s);  // NOLINT(google-explicit-constructor): values are built from literals everywhere
  value(const char* s) : value(scalar(std::string(s))) {}
  value(std::string_view s) : value(scalar(std::string(s))) {}
  /// An array of `type`. Precondition: every element has that type (checked: VSNAPD_CHECK).
  static value array(cim_type type, std::vector<scalar> elements);

  cim_type type() const { return type_; }
  bool is_array() const { return is_array_; }
  bool is_null() const { return std::holds_alternative<std::monostate>(data_); }

  /// The scalar. Precondition: !is_null() && !is_array().
  const scalar& as_scalar() const;
  /// The array elements. Precondition: !is_null() && is_array().
  const std::vector<scalar>& as_array() const;
  /// The scalar of C++ type T, or nullptr when NULL, an array, or of another type.
  template <class T>
  const T* get_if() const {
    const auto* s = std::get_if<scalar>(&data_);
    return s ? std::get_if<T>(s) : nullptr;
  }

  /// Exact equality: same type, array-ness, nullness and elements (strings case-sensitive,
  /// references by object-path equality, reals bit-for-bit except that 0.0 == -0.0).
  friend bool operator==(const value& a, const value& b);

 private:
  cim_type type_ = cim_type::string;
  bool is_array_ = false;
  std::variant<std::monostate, scalar, std::vector<scalar>> data_;
};

/// Prints a value for diagnostics: NULL, the text form, or {a,b,...} for arrays.
std::ostream& operator<<(std::ostream& os, const value& v);

/// Canonical text of one element, as both CIM-XML VALUE and WS-Man carry it: integers in
/// decimal, reals in the shortest form that reads back to the same bits ("INF", "-INF", "NaN"
/// for the specials), booleans "true"/"false", char16 as UTF-8, datetime verbatim, references as
/// the canonical object path (object_path::to_string). Embedded instances have no text form
/// here (codecs serialize them); this returns an empty string for them.
std::string to_text(const scalar& s);

/// Parses the text form of one element of `type`, the inverse of to_text: booleans
/// case-insensitively (and xs:boolean's 1/0), the real specials as xs:double spells them (INF,
/// -INF, NaN), integers in decimal with an optional sign or in DSP0201's hex form `0x..`, all
/// range-checked. `reference` parses an object path; `object` is refused here.
/// @return the element, or errc::invalid_parameter / errc::type_mismatch saying why.
result<scalar> parse_scalar(cim_type type, std::string_view text);

/// Converts `v` to `type` (and array-ness) where DSP0004 allows it without loss: NULL to any
/// type, strings parsed with parse_scalar (WS-Man sends every parameter as text), integers
/// widened or narrowed with a range check, integers to reals, a scalar into a one-element array.
/// @return the converted value, or errc::type_mismatch / errc::invalid_parameter saying why.
result<value> convert(const value& v, cim_type type, bool is_array);

}  // namespace vsnapd::cim
