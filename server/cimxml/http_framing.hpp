#pragma once
// The HTTP framing of CIM operation requests (DSP0200 section 7): the CIM-specific headers
// (CIMOperation, CIMMethod, CIMObject, CIMProtocolVersion, CIMBatch), their M-POST form with a
// `Man:` extension declaration and numbered header prefixes (RFC 2774), the content type, and
// the `CIMError:` values that accompany HTTP 400 and 501 answers. Pure functions over header
// fields: no I/O, thread-safe.

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace vsnapd::server::cimxml {

/// The values of the `CIMError:` HTTP header (DSP0200 section 7.5 and following).
enum class cim_error_header : std::uint8_t {
  unsupported_protocol_version,
  multiple_requests_unsupported,
  unsupported_cim_version,
  unsupported_dtd_version,
  request_not_valid,
  request_not_well_formed,
  request_not_loosely_valid,
  header_mismatch,
  unsupported_operation,
};

inline constexpr std::array all_cim_error_headers{
    cim_error_header::unsupported_protocol_version, cim_error_header::multiple_requests_unsupported,
    cim_error_header::unsupported_cim_version,      cim_error_header::unsupported_dtd_version,
    cim_error_header::request_not_valid,            cim_error_header::request_not_well_formed,
    cim_error_header::request_not_loosely_valid,    cim_error_header::header_mismatch,
    cim_error_header::unsupported_operation};

/// The wire spelling ("request-not-well-formed", ...): the one name table (STYLE rule 10).
std::string_view to_string(cim_error_header h);

/// The HTTP status DSP0200 prescribes with each CIMError value: 501 Not Implemented for what
/// the server does not implement (protocol, CIM or DTD version, batched requests), 400 Bad
/// Request for the rest.
boost::beast::http::status status_of(cim_error_header h);

/// A request the framing (or later the decoder) refuses at the HTTP level.
struct http_failure {
  boost::beast::http::status status = boost::beast::http::status::bad_request;
  std::optional<cim_error_header> cim_error;  ///< nullopt: no CIMError header (e.g. 510)
  std::string description;                    ///< the plain-text body, for the person reading
};

/// Builds the failure for `h` with the status status_of(h).
http_failure failure(cim_error_header h, std::string description);

/// The CIM headers of an accepted request.
struct operation_headers {
  std::string method;            ///< CIMMethod
  std::string object;            ///< CIMObject, percent-decoded
  std::string protocol_version;  ///< CIMProtocolVersion ("1.0" when absent)
  /// The M-POST extension prefix ("73" for `73-CIMOperation`), echoed on the response headers
  /// (with `Ext:`); empty for POST.
  std::string mpost_prefix;
};

/// The DSP0200 extension URI an M-POST `Man:` header must declare.
inline constexpr std::string_view cim_mapping_uri = "http://www.dmtf.org/cim/mapping/http/v1.0";

/// Reads and checks the CIM headers of a request sent with `verb` ("POST" or "M-POST").
/// @return the headers, or the HTTP failure: 510 Not Extended for an M-POST without a Man
/// declaration of the CIM mapping; 400 unsupported-operation when CIMOperation is absent or not
/// MethodCall; 400 header-mismatch when CIMMethod or CIMObject is absent or CIMObject's
/// percent-encoding is broken; 400 request-not-valid for a content type other than
/// application/xml or text/xml in UTF-8; 501 unsupported-protocol-version for a
/// CIMProtocolVersion other than 1.x; 501 multiple-requests-unsupported for CIMBatch.
std::variant<operation_headers, http_failure> read_operation_headers(
    const boost::beast::http::fields& fields, std::string_view verb);

/// Decodes %XX escapes (DSP0200 section 7.3.1: CIMObject and CIMMethod are URI-escaped, but
/// clients such as wbemcli leave quotes and other characters as they are). nullopt for a '%'
/// not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

/// True when a Content-Type value is application/xml or text/xml, with no charset or a UTF-8
/// charset in any spelling (`charset="utf-8"`, `charset=UTF-8`).
bool acceptable_content_type(std::string_view value);

}  // namespace vsnapd::server::cimxml
