#include "server/cimxml/http_framing.hpp"

#include "common/text.hpp"

namespace vsnapd::server::cimxml {
namespace {

namespace http = boost::beast::http;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Splits `s` at the first `sep`: returns the head and leaves the tail in `s`.
std::string_view take(std::string_view& s, char sep) {
  const auto pos = s.find(sep);
  const std::string_view head = s.substr(0, pos);
  s = pos == std::string_view::npos ? std::string_view{} : s.substr(pos + 1);
  return head;
}

std::string_view unquote(std::string_view s) {
  s = trim_ows(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

// The ns= prefix of the Man: declaration of the CIM mapping (RFC 2774 section 3:
// `Man: "uri"; ns=NN, "other"; ns=MM`), or nullopt when it is not declared.
std::optional<std::string> mapping_prefix(std::string_view man) {
  while (!man.empty()) {
    std::string_view decl = take(man, ',');
    const std::string_view uri = unquote(take(decl, ';'));
    if (uri != cim_mapping_uri) {
      continue;
    }
    while (!decl.empty()) {
      const std::string_view param = trim_ows(take(decl, ';'));
      if (param.size() > 3 && iequals(param.substr(0, 3), "ns=")) {
        const std::string_view ns = trim_ows(param.substr(3));
        if (!ns.empty() && ns.find_first_not_of("0123456789") == std::string_view::npos) {
          return std::string(ns);
        }
      }
    }
  }
  return std::nullopt;
}

// CIMProtocolVersion 1.x is what we speak (DSP0200 section 7.3.3: same major version).
bool supported_protocol_version(std::string_view v) {
  v = trim_ows(v);
  return v.size() >= 2 && v[0] == '1' && v[1] == '.';
}

}  // namespace

std::string_view to_string(cim_error_header h) {
  switch (h) {
    case cim_error_header::unsupported_protocol_version: return "unsupported-protocol-version";
    case cim_error_header::multiple_requests_unsupported: return "multiple-requests-unsupported";
    case cim_error_header::unsupported_cim_version: return "unsupported-cim-version";
    case cim_error_header::unsupported_dtd_version: return "unsupported-dtd-version";
    case cim_error_header::request_not_valid: return "request-not-valid";
    case cim_error_header::request_not_well_formed: return "request-not-well-formed";
    case cim_error_header::request_not_loosely_valid: return "request-not-loosely-valid";
    case cim_error_header::header_mismatch: return "header-mismatch";
    case cim_error_header::unsupported_operation: return "unsupported-operation";
  }
  return "unknown";
}

http::status status_of(cim_error_header h) {
  switch (h) {
    case cim_error_header::unsupported_protocol_version:
    case cim_error_header::multiple_requests_unsupported:
    case cim_error_header::unsupported_cim_version:
    case cim_error_header::unsupported_dtd_version:
      return http::status::not_implemented;
    case cim_error_header::request_not_valid:
    case cim_error_header::request_not_well_formed:
    case cim_error_header::request_not_loosely_valid:
    case cim_error_header::header_mismatch:
    case cim_error_header::unsupported_operation:
      return http::status::bad_request;
  }
  return http::status::bad_request;
}

http_failure failure(cim_error_header h, std::string description) {
  return http_failure{status_of(h), h, std::move(description)};
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int hi = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool acceptable_content_type(std::string_view value) {
  std::string_view params = trim_ows(value);
  const std::string_view type = trim_ows(take(params, ';'));
  if (!iequals(type, "application/xml") && !iequals(type, "text/xml")) {
    return false;
  }
  while (!params.empty()) {
    std::string_view param = trim_ows(take(params, ';'));
    const std::string_view name = trim_ows(take(param, '='));
    if (iequals(name, "charset") && !iequals(unquote(param), "utf-8")) {
      return false;
    }
  }
  return true;
}

std::variant<operation_headers, http_failure> read_operation_headers(const http::fields& fields,
                                                                     std::string_view verb) {
  operation_headers out;
  std::string prefix;
  if (verb == "M-POST") {
    const auto ns = mapping_prefix(fields["Man"]);
    if (!ns) {
      // RFC 2774 section 7: a mandatory request whose extension the server cannot identify.
      return http_failure{http::status::not_extended, std::nullopt,
                          "M-POST requires a Man: header declaring " + std::string(cim_mapping_uri) +
                              " with an ns= prefix"};
    }
    out.mpost_prefix = *ns;
    prefix = *ns + "-";
  }
  const auto header = [&](std::string_view name) {
    return fields[prefix + std::string(name)];
  };

  const std::string_view content_type = fields[http::field::content_type];
  if (!content_type.empty() && !acceptable_content_type(content_type)) {
    return failure(cim_error_header::request_not_valid,
                   "CIM-XML requests must be application/xml or text/xml in UTF-8, not '" +
                       std::string(content_type) + "'");
  }
  const std::string_view operation = trim_ows(header("CIMOperation"));
  if (operation.empty()) {
    return failure(cim_error_header::unsupported_operation, "the CIMOperation header is missing");
  }
  if (!iequals(operation, "MethodCall")) {
    return failure(cim_error_header::unsupported_operation,
                   "CIMOperation '" + std::string(operation) + "' is not MethodCall");
  }
  const std::string_view version = header("CIMProtocolVersion");
  out.protocol_version = version.empty() ? "1.0" : std::string(trim_ows(version));
  if (!supported_protocol_version(out.protocol_version)) {
    return failure(cim_error_header::unsupported_protocol_version,
                   "CIMProtocolVersion " + out.protocol_version + " is not supported (1.x is)");
  }
  if (fields.find(prefix + "CIMBatch") != fields.end()) {
    return failure(cim_error_header::multiple_requests_unsupported,
                   "batched (multiple) requests are not supported");
  }
  const std::string_view method = trim_ows(header("CIMMethod"));
  if (method.empty()) {
    return failure(cim_error_header::header_mismatch, "the CIMMethod header is missing");
  }
  auto decoded_method = percent_decode(method);
  const std::string_view object = trim_ows(header("CIMObject"));
  if (object.empty()) {
    return failure(cim_error_header::header_mismatch, "the CIMObject header is missing");
  }
  auto decoded_object = percent_decode(object);
  if (!decoded_method || !decoded_object) {
    return failure(cim_error_header::header_mismatch,
                   "CIMMethod or CIMObject has a broken %-escape");
  }
  out.method = std::move(*decoded_method);
  out.object = std::move(*decoded_object);
  return out;
}

}  // namespace vsnapd::server::cimxml
