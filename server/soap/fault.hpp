#pragma once
// WS-Management faults (DSP0226 section 14, MS-WSMV 2.2.4.43): the single table that gives each
// fault its SOAP code, subcode, reason, action URI and HTTP status (STYLE rule 18). Every
// fault is sent as HTTP 500 with a SOAP 1.2 Fault, as DSP0226 R13.1-3 and real clients expect.

#include "cimom/error.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vsnapd::server::soap {

/// Every fault subcode vsnapd can send. Names follow the wire subcode's local name.
enum class fault_code : std::uint8_t {
  // SOAP 1.2
  version_mismatch,
  must_understand,
  // WS-Addressing
  action_not_supported,
  destination_unreachable,
  endpoint_unavailable,
  invalid_message_information_header,
  message_information_header_required,
  // WS-Management
  access_denied,
  already_exists,
  cannot_process_filter,
  concurrency,
  encoding_limit,
  internal_error,
  invalid_bookmark,
  invalid_options,
  invalid_parameter,
  invalid_selectors,
  quota_limit,
  schema_validation_error,
  timed_out,
  unsupported_feature,
  // WS-Enumeration
  filter_dialect_requested_unavailable,
  filtering_not_supported,
  invalid_enumeration_context,
  invalid_expiration_time,
  // WS-Transfer
  invalid_representation,
};

inline constexpr std::array all_fault_codes{
    fault_code::version_mismatch,
    fault_code::must_understand,
    fault_code::action_not_supported,
    fault_code::destination_unreachable,
    fault_code::endpoint_unavailable,
    fault_code::invalid_message_information_header,
    fault_code::message_information_header_required,
    fault_code::access_denied,
    fault_code::already_exists,
    fault_code::cannot_process_filter,
    fault_code::concurrency,
    fault_code::encoding_limit,
    fault_code::internal_error,
    fault_code::invalid_bookmark,
    fault_code::invalid_options,
    fault_code::invalid_parameter,
    fault_code::invalid_selectors,
    fault_code::quota_limit,
    fault_code::schema_validation_error,
    fault_code::timed_out,
    fault_code::unsupported_feature,
    fault_code::filter_dialect_requested_unavailable,
    fault_code::filtering_not_supported,
    fault_code::invalid_enumeration_context,
    fault_code::invalid_expiration_time,
    fault_code::invalid_representation,
};

/// The DSP0226 fault detail codes vsnapd sends (`.../wsman/faultDetail/<name>`).
enum class fault_detail : std::uint8_t {
  action_mismatch,
  addressing_mode,
  ambiguous_selectors,
  character_set,
  duplicate_selectors,
  fragment_level_access,
  insufficient_selectors,
  invalid_namespace,
  invalid_resource_uri,
  invalid_value,
  max_envelope_size,
  minimum_envelope_limit,
  missing_values,
  operation_timeout,
  type_mismatch,
  unexpected_selectors,
};

inline constexpr std::array all_fault_details{
    fault_detail::action_mismatch,        fault_detail::addressing_mode,
    fault_detail::ambiguous_selectors,    fault_detail::character_set,
    fault_detail::duplicate_selectors,    fault_detail::fragment_level_access,
    fault_detail::insufficient_selectors, fault_detail::invalid_namespace,
    fault_detail::invalid_resource_uri,   fault_detail::invalid_value,
    fault_detail::max_envelope_size,      fault_detail::minimum_envelope_limit,
    fault_detail::missing_values,         fault_detail::operation_timeout,
    fault_detail::type_mismatch,          fault_detail::unexpected_selectors,
};

/// Which SOAP 1.2 Code/Value a fault carries.
enum class soap_code : std::uint8_t { sender, receiver, version_mismatch, must_understand };

/// One row of the fault table.
struct fault_info {
  soap_code code;
  std::string_view subcode_ns;      ///< namespace of the subcode QName ("" for SOAP's own)
  std::string_view subcode_prefix;  ///< prefix written on the wire: wsa, wsman, wsen, wxf
  std::string_view subcode;         ///< local name, e.g. "ActionNotSupported"
  std::string_view action;          ///< the reply's wsa:Action
  std::string_view reason;          ///< the default Reason text
  /// The Microsoft WSManFault Code (MS-WSMV 2.2.4.43) Windows clients read for this fault;
  /// 0 when there is none and no WSManFault detail is sent.
  std::uint32_t ms_code = 0;
};

/// The table row of `code`.
const fault_info& info(fault_code code);

/// The local name of a detail code ("InvalidResourceURI"); the wire form is
/// `http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/` + this.
std::string_view to_string(fault_detail d);

/// The subcode's local name, for logs.
inline std::string_view to_string(fault_code c) { return info(c).subcode; }

/// A fault ready to send: the table row plus what this occurrence adds.
struct fault {
  fault_code code;
  std::optional<fault_detail> detail;
  std::string reason;  ///< overrides the default reason when not empty; says what was wrong
  std::string not_understood_ns;     ///< must_understand: namespace of the refused header
  std::string not_understood_local;  ///< must_understand: local name of the refused header
  std::uint32_t ms_code = 0;         ///< overrides the row's WSManFault Code when not 0
};

/// The WS-Man fault for an object-manager error (STYLE rule 18: the one exhaustive mapping from
/// `cim::errc`, see fault.cpp). The error's description becomes the Reason text.
fault from_cim(const cim::error& e);

/// Renders `f` as a complete SOAP 1.2 envelope (XML declaration included). `relates_to` is the
/// request's wsa:MessageID, echoed as wsa:RelatesTo (omitted when the request had none).
/// `machine` names this host in the Microsoft WSManFault detail.
std::string render(const fault& f, std::optional<std::string_view> relates_to,
                   std::string_view message_id, std::string_view machine = "localhost");

}  // namespace vsnapd::server::soap
