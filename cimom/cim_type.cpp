#include "cimom/cim_type.hpp"

#include "common/text.hpp"

namespace vsnapd::cim {

std::string_view to_string(cim_type t) {
  switch (t) {
    case cim_type::boolean: return "boolean";
    case cim_type::uint8: return "uint8";
    case cim_type::sint8: return "sint8";
    case cim_type::uint16: return "uint16";
    case cim_type::sint16: return "sint16";
    case cim_type::uint32: return "uint32";
    case cim_type::sint32: return "sint32";
    case cim_type::uint64: return "uint64";
    case cim_type::sint64: return "sint64";
    case cim_type::real32: return "real32";
    case cim_type::real64: return "real64";
    case cim_type::char16: return "char16";
    case cim_type::string: return "string";
    case cim_type::datetime: return "datetime";
    case cim_type::reference: return "reference";
    case cim_type::object: return "object";
  }
  return "?";
}

std::optional<cim_type> parse_cim_type(std::string_view name) {
  for (auto t : all_cim_types) {
    if (iequals(name, to_string(t))) {
      return t;
    }
  }
  return std::nullopt;
}

}  // namespace vsnapd::cim
