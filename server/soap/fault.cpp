#include "server/soap/fault.hpp"

#include "common/xml/escape.hpp"
#include "server/soap/namespaces.hpp"

namespace vsnapd::server::soap {
namespace {

constexpr std::string_view addressing_fault = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";
constexpr std::string_view wsman_fault = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";
constexpr std::string_view enumeration_fault = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/fault";
constexpr std::string_view transfer_fault = "http://schemas.xmlsoap.org/ws/2004/09/transfer/fault";
constexpr std::string_view detail_prefix = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/";

// Microsoft WSManFault codes (MS-WSMV 2.2.4.43). The WinRM-specific ones are those MS-WSMV and
// Windows clients name (python3-winrm turns 2150858793 into its timeout exception); the rest are
// the Win32 error codes WinRM reports for the same conditions.
constexpr std::uint32_t ms_resource_not_found = 2150858752;  // ERROR_WSMAN_RESOURCE_NOT_FOUND
constexpr std::uint32_t ms_operation_timed_out = 2150858793;  // ERROR_WSMAN_OPERATION_TIMEDOUT
constexpr std::uint32_t ms_access_denied = 5;                 // ERROR_ACCESS_DENIED
constexpr std::uint32_t ms_not_supported = 50;                // ERROR_NOT_SUPPORTED
constexpr std::uint32_t ms_invalid_parameter = 87;            // ERROR_INVALID_PARAMETER
constexpr std::uint32_t ms_already_exists = 183;              // ERROR_ALREADY_EXISTS

constexpr fault_info soap_row(soap_code code, std::string_view reason) {
  return {code, {}, {}, {}, addressing_fault, reason, 0};
}
constexpr fault_info wsa_row(soap_code code, std::string_view sub, std::string_view reason,
                             std::uint32_t ms = 0) {
  return {code, ns::addressing, "wsa", sub, addressing_fault, reason, ms};
}
constexpr fault_info wsman_row(soap_code code, std::string_view sub, std::string_view reason,
                               std::uint32_t ms = 0) {
  return {code, ns::wsman, "wsman", sub, wsman_fault, reason, ms};
}
constexpr fault_info wsen_row(std::string_view sub, std::string_view reason) {
  return {soap_code::sender, ns::enumeration, "wsen", sub, enumeration_fault, reason};
}

// Reasons paraphrase DSP0226 section 14.6 so that a person reading a client's error knows
// what to change.
const fault_info& row(fault_code c) {
  using sc = soap_code;
  static const fault_info version_mismatch = soap_row(
      sc::version_mismatch, "The message is not a SOAP 1.2 envelope; WS-Management requires SOAP 1.2.");
  static const fault_info must_understand =
      soap_row(sc::must_understand, "A header marked mustUnderstand was not understood.");
  static const fault_info action_not_supported = wsa_row(
      sc::sender, "ActionNotSupported", "The action is not supported by the service.", ms_not_supported);
  static const fault_info destination_unreachable = wsa_row(
      sc::sender, "DestinationUnreachable",
      "No route can be determined to reach the destination role defined by the WS-Addressing To.",
      ms_resource_not_found);
  static const fault_info endpoint_unavailable = wsa_row(
      sc::receiver, "EndpointUnavailable", "The specified endpoint is currently unavailable.");
  static const fault_info invalid_mih = wsa_row(
      sc::sender, "InvalidMessageInformationHeader",
      "A message information header is not valid and the message cannot be processed.");
  static const fault_info mih_required = wsa_row(
      sc::sender, "MessageInformationHeaderRequired", "A required header is missing.");
  static const fault_info access_denied =
      wsman_row(sc::sender, "AccessDenied", "The sender was not authorized to access the resource.",
                ms_access_denied);
  static const fault_info already_exists = wsman_row(
      sc::sender, "AlreadyExists", "The sender attempted to create a resource which already exists.",
      ms_already_exists);
  static const fault_info cannot_process_filter = wsman_row(
      sc::sender, "CannotProcessFilter", "The requested filter could not be processed.");
  static const fault_info concurrency = wsman_row(
      sc::receiver, "Concurrency",
      "The action could not be completed due to concurrency or locking problems.");
  static const fault_info encoding_limit = wsman_row(
      sc::sender, "EncodingLimit", "An internal encoding limit was exceeded in a request or would be "
                                   "violated if the message were processed.");
  static const fault_info internal_error = wsman_row(
      sc::receiver, "InternalError",
      "The service cannot comply with the request due to internal processing errors.");
  static const fault_info invalid_bookmark = wsman_row(
      sc::sender, "InvalidBookmark", "The bookmark supplied with the subscription is not valid.");
  static const fault_info invalid_options = wsman_row(
      sc::sender, "InvalidOptions", "One or more options were not valid.");
  static const fault_info invalid_parameter = wsman_row(
      sc::sender, "InvalidParameter", "An operation parameter was not valid.", ms_invalid_parameter);
  static const fault_info invalid_selectors = wsman_row(
      sc::sender, "InvalidSelectors", "The selectors for the resource were not valid.");
  static const fault_info quota_limit = wsman_row(
      sc::sender, "QuotaLimit", "The service is busy servicing other requests.");
  static const fault_info schema_validation_error = wsman_row(
      sc::sender, "SchemaValidationError", "The supplied SOAP violates the corresponding XML schema "
                                           "definition.");
  static const fault_info timed_out = wsman_row(
      sc::receiver, "TimedOut", "The operation has timed out.", ms_operation_timed_out);
  static const fault_info unsupported_feature = wsman_row(
      sc::sender, "UnsupportedFeature", "The specified feature is not supported.");
  static const fault_info dialect_unavailable = wsen_row(
      "FilterDialectRequestedUnavailable", "The requested filtering dialect is not supported.");
  static const fault_info filtering_not_supported =
      wsen_row("FilteringNotSupported", "Filtered enumeration is not supported.");
  static const fault_info invalid_context = wsen_row(
      "InvalidEnumerationContext", "The supplied enumeration context is invalid.");
  static const fault_info invalid_expiration =
      wsen_row("InvalidExpirationTime", "The expiration time was not valid.");
  static const fault_info invalid_representation = {
      sc::sender, ns::transfer, "wxf", "InvalidRepresentation", transfer_fault,
      "The XML content was invalid.", 0};

  switch (c) {
    case fault_code::version_mismatch: return version_mismatch;
    case fault_code::must_understand: return must_understand;
    case fault_code::action_not_supported: return action_not_supported;
    case fault_code::destination_unreachable: return destination_unreachable;
    case fault_code::endpoint_unavailable: return endpoint_unavailable;
    case fault_code::invalid_message_information_header: return invalid_mih;
    case fault_code::message_information_header_required: return mih_required;
    case fault_code::access_denied: return access_denied;
    case fault_code::already_exists: return already_exists;
    case fault_code::cannot_process_filter: return cannot_process_filter;
    case fault_code::concurrency: return concurrency;
    case fault_code::encoding_limit: return encoding_limit;
    case fault_code::internal_error: return internal_error;
    case fault_code::invalid_bookmark: return invalid_bookmark;
    case fault_code::invalid_options: return invalid_options;
    case fault_code::invalid_parameter: return invalid_parameter;
    case fault_code::invalid_selectors: return invalid_selectors;
    case fault_code::quota_limit: return quota_limit;
    case fault_code::schema_validation_error: return schema_validation_error;
    case fault_code::timed_out: return timed_out;
    case fault_code::unsupported_feature: return unsupported_feature;
    case fault_code::filter_dialect_requested_unavailable: return dialect_unavailable;
    case fault_code::filtering_not_supported: return filtering_not_supported;
    case fault_code::invalid_enumeration_context: return invalid_context;
    case fault_code::invalid_expiration_time: return invalid_expiration;
    case fault_code::invalid_representation: return invalid_representation;
  }
  return internal_error;
}

std::string_view code_value(soap_code c) {
  switch (c) {
    case soap_code::sender: return "s:Sender";
    case soap_code::receiver: return "s:Receiver";
    case soap_code::version_mismatch: return "s:VersionMismatch";
    case soap_code::must_understand: return "s:MustUnderstand";
  }
  return "s:Receiver";
}

}  // namespace

const fault_info& info(fault_code code) { return row(code); }

std::string_view to_string(fault_detail d) {
  switch (d) {
    case fault_detail::action_mismatch: return "ActionMismatch";
    case fault_detail::addressing_mode: return "AddressingMode";
    case fault_detail::ambiguous_selectors: return "AmbiguousSelectors";
    case fault_detail::character_set: return "CharacterSet";
    case fault_detail::duplicate_selectors: return "DuplicateSelectors";
    case fault_detail::fragment_level_access: return "FragmentLevelAccess";
    case fault_detail::invalid_namespace: return "InvalidNamespace";
    case fault_detail::type_mismatch: return "TypeMismatch";
    case fault_detail::insufficient_selectors: return "InsufficientSelectors";
    case fault_detail::invalid_resource_uri: return "InvalidResourceURI";
    case fault_detail::invalid_value: return "InvalidValue";
    case fault_detail::max_envelope_size: return "MaxEnvelopeSize";
    case fault_detail::minimum_envelope_limit: return "MinimumEnvelopeLimit";
    case fault_detail::missing_values: return "MissingValues";
    case fault_detail::operation_timeout: return "OperationTimeout";
    case fault_detail::unexpected_selectors: return "UnexpectedSelectors";
  }
  return "Unknown";
}

fault from_cim(const cim::error& e) {
  using cim::errc;
  auto make = [&e](fault_code code, std::optional<fault_detail> detail = std::nullopt) {
    return fault{code, detail, e.description.empty() ? std::string{} : e.description, {}, {}, 0};
  };
  // Exhaustive on purpose (no default): a new status code must be given its fault here.
  switch (e.code) {
    case errc::ok:
    case errc::failed:
      return make(fault_code::internal_error);
    case errc::access_denied:
      return make(fault_code::access_denied);
    case errc::invalid_namespace:
      return make(fault_code::destination_unreachable, fault_detail::invalid_namespace);
    case errc::invalid_class:
      return make(fault_code::destination_unreachable, fault_detail::invalid_resource_uri);
    case errc::not_found:
      // DSP0226 section 7.1: selectors naming no existing instance.
      return make(fault_code::destination_unreachable);
    case errc::invalid_parameter:
      return make(fault_code::invalid_parameter, fault_detail::invalid_value);
    case errc::type_mismatch:
      return make(fault_code::invalid_parameter, fault_detail::type_mismatch);
    case errc::no_such_property:
      return make(fault_code::invalid_representation);
    case errc::not_supported:
    case errc::method_not_found:
    case errc::method_not_available:
      return make(fault_code::action_not_supported);
    case errc::class_has_children:
    case errc::class_has_instances:
    case errc::invalid_superclass:
    case errc::namespace_not_empty:
    case errc::pull_cannot_be_abandoned:
    case errc::continuation_on_error_not_supported:
      return make(fault_code::unsupported_feature);
    case errc::already_exists:
      return make(fault_code::already_exists);
    case errc::query_language_not_supported:
      return make(fault_code::filter_dialect_requested_unavailable);
    case errc::invalid_query:
      return make(fault_code::cannot_process_filter);
    case errc::invalid_enumeration_context:
    case errc::pull_has_been_abandoned:
      return make(fault_code::invalid_enumeration_context);
    case errc::invalid_operation_timeout:
      return make(fault_code::invalid_message_information_header);
    case errc::filtered_enumeration_not_supported:
      return make(fault_code::filtering_not_supported);
    case errc::server_limits_exceeded:
      return make(fault_code::quota_limit);
    case errc::server_is_shutting_down:
      return make(fault_code::endpoint_unavailable);
  }
  return make(fault_code::internal_error);
}

std::string render(const fault& f, std::optional<std::string_view> relates_to,
                   std::string_view message_id, std::string_view machine) {
  const fault_info& row_info = info(f.code);
  std::string out;
  out.reserve(1536);
  out += R"(<?xml version="1.0" encoding="UTF-8"?>)";
  out += R"(<s:Envelope xmlns:s=")";
  out += ns::soap;
  out += R"(" xmlns:wsa=")";
  out += ns::addressing;
  out += R"(" xmlns:wsman=")";
  out += ns::wsman;
  if (row_info.subcode_prefix == "wsen") {
    out += R"(" xmlns:wsen=")";
    out += ns::enumeration;
  } else if (row_info.subcode_prefix == "wxf") {
    out += R"(" xmlns:wxf=")";
    out += ns::transfer;
  }
  out += R"("><s:Header><wsa:To>)";
  out += ns::anonymous_address;
  out += "</wsa:To><wsa:Action>";
  out += row_info.action;
  out += "</wsa:Action>";
  if (relates_to) {
    out += "<wsa:RelatesTo>";
    xml::append_escaped(out, *relates_to);
    out += "</wsa:RelatesTo>";
  }
  out += "<wsa:MessageID>";
  xml::append_escaped(out, message_id);
  out += "</wsa:MessageID>";
  if (f.code == fault_code::must_understand) {
    // SOAP 1.2 part 1 section 5.4.8: name the refused header in an s:NotUnderstood block.
    out += R"(<s:NotUnderstood qname="nu:)";
    xml::append_escaped(out, f.not_understood_local);
    out += R"(" xmlns:nu=")";
    xml::append_escaped(out, f.not_understood_ns);
    out += R"("/>)";
  } else if (f.code == fault_code::version_mismatch) {
    // SOAP 1.2 part 1 section 5.4.7: tell the sender which envelope version we speak.
    out += R"(<s:Upgrade><s:SupportedEnvelope qname="s:Envelope"/></s:Upgrade>)";
  }
  out += "</s:Header><s:Body><s:Fault><s:Code><s:Value>";
  out += code_value(row_info.code);
  out += "</s:Value>";
  if (!row_info.subcode.empty()) {
    out += "<s:Subcode><s:Value>";
    out += row_info.subcode_prefix;
    out += ':';
    out += row_info.subcode;
    out += "</s:Value></s:Subcode>";
  }
  out += R"(</s:Code><s:Reason><s:Text xml:lang="en-US">)";
  xml::append_escaped(out, f.reason.empty() ? row_info.reason : std::string_view{f.reason});
  out += "</s:Text></s:Reason>";
  const std::uint32_t ms_code = f.ms_code != 0 ? f.ms_code : row_info.ms_code;
  if (f.detail || ms_code != 0) {
    out += "<s:Detail>";
    if (f.detail) {
      out += "<wsman:FaultDetail>";
      out += detail_prefix;
      out += to_string(*f.detail);
      out += "</wsman:FaultDetail>";
    }
    if (ms_code != 0) {
      // MS-WSMV 2.2.4.43: Windows clients show Message and act on Code.
      out += R"(<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code=")";
      out += std::to_string(ms_code);
      out += R"(" Machine=")";
      xml::append_escaped(out, machine);
      out += R"("><f:Message>)";
      xml::append_escaped(out, f.reason.empty() ? row_info.reason : std::string_view{f.reason});
      out += "</f:Message></f:WSManFault>";
    }
    out += "</s:Detail>";
  }
  out += "</s:Fault></s:Body></s:Envelope>";
  return out;
}

}  // namespace vsnapd::server::soap
