#include "server/cimxml/http_framing.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace vsnapd::server::cimxml;
namespace http = boost::beast::http;

TEST_CASE("http_framing: every CIMError value has its DSP0200 spelling and status",
          "[server][cimxml]") {
  std::set<std::string> seen;
  for (const cim_error_header h : all_cim_error_headers) {
    const std::string name(to_string(h));
    CHECK(name != "unknown");
    CHECK(seen.insert(name).second);
    const bool not_implemented = name == "unsupported-protocol-version" ||
                                 name == "multiple-requests-unsupported" ||
                                 name == "unsupported-cim-version" ||
                                 name == "unsupported-dtd-version";
    CHECK(status_of(h) == (not_implemented ? http::status::not_implemented : http::status::bad_request));
  }
  CHECK(seen.size() == 9);
  CHECK(seen.count("request-not-well-formed") == 1);
  CHECK(seen.count("header-mismatch") == 1);
}

namespace {

http::fields good_fields() {
  http::fields f;
  f.set(http::field::content_type, "application/xml; charset=\"utf-8\"");
  f.set("CIMOperation", "MethodCall");
  f.set("CIMMethod", "GetInstance");
  f.set("CIMObject", "root%2Fcimv2");
  return f;
}

}  // namespace

TEST_CASE("http_framing: a wbemcli request is accepted and CIMObject is percent-decoded",
          "[server][cimxml]") {
  http::fields f = good_fields();
  f.set("CIMObject", "root%2Fcimv2%3ACIM_ComputerSystem.Name=\"h%201\"");
  auto r = read_operation_headers(f, "POST");
  REQUIRE(std::holds_alternative<operation_headers>(r));
  const auto& h = std::get<operation_headers>(r);
  CHECK(h.method == "GetInstance");
  CHECK(h.object == "root/cimv2:CIM_ComputerSystem.Name=\"h 1\"");
  CHECK(h.protocol_version == "1.0");
  CHECK(h.mpost_prefix.empty());
}

TEST_CASE("http_framing: M-POST reads the numbered headers its Man declaration names",
          "[server][cimxml]") {
  http::fields f;
  f.set("Man", "\"http://example.com/other\"; ns=10, \"http://www.dmtf.org/cim/mapping/http/v1.0\" ; ns=73");
  f.set("73-CIMOperation", "MethodCall");
  f.set("73-CIMMethod", "EnumerateClassNames");
  f.set("73-CIMObject", "root%2Fcimv2");
  f.set("73-CIMProtocolVersion", "1.1");
  auto r = read_operation_headers(f, "M-POST");
  REQUIRE(std::holds_alternative<operation_headers>(r));
  CHECK(std::get<operation_headers>(r).mpost_prefix == "73");
  CHECK(std::get<operation_headers>(r).protocol_version == "1.1");
  CHECK(std::get<operation_headers>(r).method == "EnumerateClassNames");
}

TEST_CASE("http_framing: malformed framing gets the prescribed status and CIMError",
          "[server][cimxml]") {
  struct row {
    const char* what;
    const char* verb;
    const char* header;  ///< header to change ("" = none)
    const char* value;   ///< new value (nullptr = remove)
    http::status status;
    std::optional<cim_error_header> cim_error;
  };
  using H = cim_error_header;
  const row rows[] = {
      {"no CIMOperation", "POST", "CIMOperation", nullptr, http::status::bad_request, H::unsupported_operation},
      {"CIMOperation not MethodCall", "POST", "CIMOperation", "MethodResponse", http::status::bad_request, H::unsupported_operation},
      {"CIMExport request", "POST", "CIMOperation", "ExportMethodCall", http::status::bad_request, H::unsupported_operation},
      {"no CIMMethod", "POST", "CIMMethod", nullptr, http::status::bad_request, H::header_mismatch},
      {"no CIMObject", "POST", "CIMObject", nullptr, http::status::bad_request, H::header_mismatch},
      {"broken escape", "POST", "CIMObject", "root%2", http::status::bad_request, H::header_mismatch},
      {"bad hex escape", "POST", "CIMMethod", "Get%zzInstance", http::status::bad_request, H::header_mismatch},
      {"protocol 2.0", "POST", "CIMProtocolVersion", "2.0", http::status::not_implemented, H::unsupported_protocol_version},
      {"batch", "POST", "CIMBatch", "CIMBatch", http::status::not_implemented, H::multiple_requests_unsupported},
      {"json", "POST", "Content-Type", "application/json", http::status::bad_request, H::request_not_valid},
      {"latin-1", "POST", "Content-Type", "text/xml; charset=ISO-8859-1", http::status::bad_request, H::request_not_valid},
      {"M-POST without Man", "M-POST", "", nullptr, http::status::not_extended, std::nullopt},
  };
  for (const row& r : rows) {
    INFO(r.what);
    http::fields f = good_fields();
    if (*r.header != '\0') {
      if (r.value == nullptr) {
        f.erase(r.header);
      } else {
        f.set(r.header, r.value);
      }
    }
    auto out = read_operation_headers(f, r.verb);
    REQUIRE(std::holds_alternative<http_failure>(out));
    CHECK(std::get<http_failure>(out).status == r.status);
    CHECK(std::get<http_failure>(out).cim_error == r.cim_error);
    CHECK_FALSE(std::get<http_failure>(out).description.empty());
  }
}

TEST_CASE("http_framing: content types in every spelling clients use", "[server][cimxml]") {
  CHECK(acceptable_content_type("application/xml; charset=\"utf-8\""));
  CHECK(acceptable_content_type("application/xml;charset=UTF-8"));
  CHECK(acceptable_content_type("text/xml"));
  CHECK(acceptable_content_type("Text/XML; Charset=utf-8"));
  CHECK_FALSE(acceptable_content_type("application/soap+xml; charset=utf-8"));
  CHECK_FALSE(acceptable_content_type("text/xml; charset=utf-16"));
}

TEST_CASE("http_framing: percent_decode keeps what clients leave unencoded", "[server][cimxml]") {
  CHECK(percent_decode("root%2fcimv2%3AC.k=\"v\"") == std::optional<std::string>("root/cimv2:C.k=\"v\""));
  CHECK(percent_decode("a%20b") == std::optional<std::string>("a b"));
  CHECK(percent_decode("100%") == std::nullopt);
  CHECK(percent_decode("%4") == std::nullopt);
  CHECK(percent_decode("%g0") == std::nullopt);
}
