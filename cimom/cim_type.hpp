#pragma once
// The CIM intrinsic data types (DSP0004 section 5.2), plus `object` for embedded objects and
// embedded instances (a string property qualified EmbeddedObject/EmbeddedInstance whose value
// is an instance). One name table serves MOF, CIM-XML TYPE attributes and logs (STYLE rule 10).

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vsnapd::cim {

/// A CIM data type. The order matches the alternatives of `cim::scalar` (value.hpp).
enum class cim_type : std::uint8_t {
  boolean,
  uint8,
  sint8,
  uint16,
  sint16,
  uint32,
  sint32,
  uint64,
  sint64,
  real32,
  real64,
  char16,
  string,
  datetime,
  reference,
  object,  ///< embedded object or embedded instance (EmbeddedObject / EmbeddedInstance)
};

inline constexpr std::array all_cim_types{
    cim_type::boolean, cim_type::uint8,  cim_type::sint8,    cim_type::uint16,
    cim_type::sint16,  cim_type::uint32, cim_type::sint32,   cim_type::uint64,
    cim_type::sint64,  cim_type::real32, cim_type::real64,   cim_type::char16,
    cim_type::string,  cim_type::datetime, cim_type::reference, cim_type::object};

/// The DSP0004/DSP0201 type name: "boolean", "uint8", ..., "datetime", "reference", "object".
std::string_view to_string(cim_type t);

/// Parses a type name case-insensitively ("Uint32", "REF" is not a type name: use "reference").
std::optional<cim_type> parse_cim_type(std::string_view name);

/// True for the eight integer types.
constexpr bool is_integer(cim_type t) { return t >= cim_type::uint8 && t <= cim_type::sint64; }
/// True for the signed integer types.
constexpr bool is_signed_integer(cim_type t) {
  return t == cim_type::sint8 || t == cim_type::sint16 || t == cim_type::sint32 || t == cim_type::sint64;
}
/// True for real32 and real64.
constexpr bool is_real(cim_type t) { return t == cim_type::real32 || t == cim_type::real64; }
/// True for integer and real types.
constexpr bool is_numeric(cim_type t) { return is_integer(t) || is_real(t); }

}  // namespace vsnapd::cim
