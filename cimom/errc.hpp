#pragma once
// CIM status codes (DSP0200 section 5.3.1 / DSP0004): the typed error every object-manager
// operation returns. The server maps them to CIM-XML <ERROR CODE> and to WS-Man faults in one
// table (STYLE rule 18).

#include "common/error_category.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace vsnapd::cim {

enum class errc : std::uint8_t {
  ok = 0,
  failed = 1,
  access_denied = 2,
  invalid_namespace = 3,
  invalid_parameter = 4,
  invalid_class = 5,
  not_found = 6,
  not_supported = 7,
  class_has_children = 8,
  class_has_instances = 9,
  invalid_superclass = 10,
  already_exists = 11,
  no_such_property = 12,
  type_mismatch = 13,
  query_language_not_supported = 14,
  invalid_query = 15,
  method_not_available = 16,
  method_not_found = 17,
  namespace_not_empty = 20,
  invalid_enumeration_context = 21,
  invalid_operation_timeout = 22,
  pull_has_been_abandoned = 23,
  pull_cannot_be_abandoned = 24,
  filtered_enumeration_not_supported = 25,
  continuation_on_error_not_supported = 26,
  server_limits_exceeded = 27,
  server_is_shutting_down = 28,
};

/// Every status code, for tests that walk the name table.
inline constexpr std::array all_errcs{
    errc::ok, errc::failed, errc::access_denied, errc::invalid_namespace, errc::invalid_parameter,
    errc::invalid_class, errc::not_found, errc::not_supported, errc::class_has_children,
    errc::class_has_instances, errc::invalid_superclass, errc::already_exists,
    errc::no_such_property, errc::type_mismatch, errc::query_language_not_supported,
    errc::invalid_query, errc::method_not_available, errc::method_not_found,
    errc::namespace_not_empty, errc::invalid_enumeration_context, errc::invalid_operation_timeout,
    errc::pull_has_been_abandoned, errc::pull_cannot_be_abandoned,
    errc::filtered_enumeration_not_supported, errc::continuation_on_error_not_supported,
    errc::server_limits_exceeded, errc::server_is_shutting_down};

/// The DSP0200 symbolic name, e.g. "CIM_ERR_NOT_FOUND"; "CIM_ERR_OK" for success.
std::string_view to_string(errc e);
const char* category_name(errc);

inline boost::system::error_code make_error_code(errc e) { return make_enum_error_code(e); }

}  // namespace vsnapd::cim

template <>
struct boost::system::is_error_code_enum<vsnapd::cim::errc> : std::true_type {};
