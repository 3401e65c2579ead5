#pragma once
// Namespace URIs of SOAP 1.2, WS-Addressing, WS-Management and friends (DSP0226 Table A-1).
// The one place these strings are spelled; everything else refers to these constants.

#include <string_view>

namespace vsnapd::server::ns {

inline constexpr std::string_view soap = "http://www.w3.org/2003/05/soap-envelope";
inline constexpr std::string_view soap11 = "http://schemas.xmlsoap.org/soap/envelope/";
inline constexpr std::string_view addressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
inline constexpr std::string_view wsman = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
inline constexpr std::string_view wsman_ms = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
inline constexpr std::string_view enumeration = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
inline constexpr std::string_view transfer = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
inline constexpr std::string_view eventing = "http://schemas.xmlsoap.org/ws/2004/08/eventing";
inline constexpr std::string_view cimbinding = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd";
inline constexpr std::string_view identity =
    "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";

/// WS-Addressing's anonymous endpoint: "reply on this HTTP connection".
inline constexpr std::string_view anonymous_address =
    "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

}  // namespace vsnapd::server::ns
