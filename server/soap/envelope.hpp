#pragma once
// SOAP 1.2 envelope and WS-Addressing header parsing (DSP0226 section 5, SOAP 1.2 part 1).
//
// Names are resolved by namespace, never by prefix (STYLE rule 26): `s:`, `env:` and a default
// namespace all work. The parser is tolerant of what real clients send (bare or unqualified
// mustUnderstand, MessageIDs that are not UUIDs, an empty MessageID, Identify without any
// headers) and strict where DSP0226 is: a header marked mustUnderstand that we do not know,
// a missing Action or To, a non-anonymous ReplyTo.

#include "server/soap/fault.hpp"

#include <pugixml.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace vsnapd::server::soap {

/// A parsed request. Views point into the document, which owns them.
struct envelope {
  pugi::xml_node header;        ///< may be empty (no Header element)
  pugi::xml_node body;          ///< always present
  pugi::xml_node body_element;  ///< first element child of Body; empty for an empty Body
  bool is_identify = false;     ///< body is wsmid:Identify (no addressing headers required)
  std::string_view action;
  std::string_view to;
  std::string_view resource_uri;
  std::optional<std::string_view> message_id;  ///< absent vs present-but-empty matters
  pugi::xml_node selector_set;       ///< wsman:SelectorSet, or empty
  pugi::xml_node option_set;         ///< wsman:OptionSet, or empty
  pugi::xml_node fragment_transfer;  ///< wsman:FragmentTransfer, or empty
  std::size_t max_envelope_size = 0;  ///< wsman:MaxEnvelopeSize; 0 when absent
  /// wsman:OperationTimeout; nullopt when absent.
  std::optional<std::chrono::microseconds> operation_timeout;
  bool request_total_items_estimate = false;  ///< wsman:RequestTotalItemsCountEstimate
};

/// Why a request cannot be processed, and the MessageID to answer to when one was readable.
struct envelope_error {
  soap::fault fault;
  std::optional<std::string> message_id;
};

using envelope_result = std::variant<envelope, envelope_error>;

/// Parses `text` (modified in place; must outlive `doc`) as a WS-Management request.
/// @param max_bytes the MaxEnvelopeSize limit; larger input gets wsman:EncodingLimit.
envelope_result parse_envelope(pugi::xml_document& doc, std::string& text, std::size_t max_bytes);

}  // namespace vsnapd::server::soap
