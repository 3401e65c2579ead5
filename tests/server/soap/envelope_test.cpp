#include "server/soap/envelope.hpp"
#include "server/soap/namespaces.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace vsnapd::server;
using namespace vsnapd::server::soap;

namespace {

const std::string ns_decl =
    R"( xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd")";

std::string request(const std::string& headers, const std::string& body = "") {
  return "<s:Envelope" + ns_decl + "><s:Header>" + headers + "</s:Header><s:Body>" + body +
         "</s:Body></s:Envelope>";
}

const std::string good_headers =
    "<wsa:To>http://h:5985/wsman</wsa:To><wsa:Action>http://x/Get</wsa:Action>"
    "<wsa:MessageID>uuid:42</wsa:MessageID>";

envelope_result parse(std::string text, pugi::xml_document& doc, std::size_t limit = 512000) {
  static std::string storage;  // keeps the in-place buffer alive for the views
  storage = std::move(text);
  return parse_envelope(doc, storage, limit);
}

// The body of a captured client request (after the blank line, before the canned answer).
std::string captured_body(const std::string& file) {
  std::ifstream in(std::string(VSNAPD_SOURCE_DIR "/../shared/vectors/clients/") + file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  const auto start = all.find("\r\n\r\n") + 4;
  const auto end = all.find("\n----- RESPONSE");
  std::string body = all.substr(start, end - start);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
    body.pop_back();
  }
  return body;
}

}  // namespace

TEST_CASE("envelope: addressing headers are read whatever the prefixes", "[server][soap][envelope]") {
  pugi::xml_document doc;
  const auto r = parse(
      R"(<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">)"
      R"(<env:Header><a:To>/wsman</a:To><a:Action env:mustUnderstand="true"> http://x/Get </a:Action><a:MessageID>7</a:MessageID>)"
      R"(<ResourceURI xmlns="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" mustUnderstand="true">urn:r</ResourceURI></env:Header><env:Body/></env:Envelope>)",
      doc);
  const auto* env = std::get_if<envelope>(&r);
  REQUIRE(env != nullptr);
  CHECK(env->action == "http://x/Get");
  CHECK(env->to == "/wsman");
  CHECK(env->message_id == "7");
  CHECK(env->resource_uri == "urn:r");
  CHECK_FALSE(env->is_identify);
}

TEST_CASE("envelope: Identify needs no addressing headers, in any namespace form", "[server][soap][envelope]") {
  for (const char* text : {
           R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>)",
           R"(<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body><Identify xmlns="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"/></Body></Envelope>)",
       }) {
    pugi::xml_document doc;
    const auto r = parse(text, doc);
    REQUIRE(std::holds_alternative<envelope>(r));
    CHECK(std::get<envelope>(r).is_identify);
  }
}

TEST_CASE("envelope: every captured WS-Man client request parses", "[server][soap][envelope]") {
  for (const char* file : {"wsl-identify.txt", "wsl-get.txt", "wsl-enumerate.txt", "wsl-invoke.txt",
                           "wsl-put.txt", "pywinrm-send_message-get-http.txt",
                           "pywinrm-run_cmd-http.txt", "wsl-enumerate-assoc.txt"}) {
    INFO(file);
    pugi::xml_document doc;
    const auto r = parse(captured_body(file), doc);
    if (const auto* e = std::get_if<envelope_error>(&r)) {
      FAIL(e->fault.reason);
    }
  }
}

TEST_CASE("envelope: each malformed request gets its own fault", "[server][soap][envelope]") {
  struct row {
    std::string name;
    std::string text;
    fault_code code;
    std::optional<fault_detail> detail;
    std::optional<std::string> message_id;
  };
  const row rows[] = {
      {"not xml", "this is not xml <<<", fault_code::schema_validation_error, {}, {}},
      {"empty", "", fault_code::schema_validation_error, {}, {}},
      {"truncated", request(good_headers).substr(0, 80), fault_code::schema_validation_error, {}, {}},
      {"doctype", "<!DOCTYPE x []>" + request(good_headers), fault_code::schema_validation_error, {}, {}},
      {"too large", request(good_headers, std::string(600000, ' ')), fault_code::encoding_limit,
       fault_detail::max_envelope_size, {}},
      {"soap 1.1", R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>)",
       fault_code::version_mismatch, {}, {}},
      {"not an envelope", "<a/>", fault_code::schema_validation_error, {}, {}},
      {"undeclared prefix", "<s:Envelope" + ns_decl + "><s:Body><q:x/></s:Body></s:Envelope>",
       fault_code::schema_validation_error, {}, {}},
      {"no body", "<s:Envelope" + ns_decl + "><s:Header>" + good_headers + "</s:Header></s:Envelope>",
       fault_code::schema_validation_error, {}, "uuid:42"},
      {"two bodies", "<s:Envelope" + ns_decl + "><s:Body/><s:Body/></s:Envelope>",
       fault_code::schema_validation_error, {}, {}},
      {"no action", request("<wsa:To>x</wsa:To><wsa:MessageID>m1</wsa:MessageID>"),
       fault_code::message_information_header_required, {}, "m1"},
      {"no to", request("<wsa:Action>a</wsa:Action><wsa:MessageID>m2</wsa:MessageID>"),
       fault_code::message_information_header_required, {}, "m2"},
      {"no message id", request("<wsa:To>x</wsa:To><wsa:Action>a</wsa:Action>"),
       fault_code::message_information_header_required, {}, {}},
      {"two actions", request(good_headers + "<wsa:Action>b</wsa:Action>"),
       fault_code::invalid_message_information_header, {}, "uuid:42"},
      {"reply elsewhere",
       request(good_headers + "<wsa:ReplyTo><wsa:Address>http://evil/</wsa:Address></wsa:ReplyTo>"),
       fault_code::unsupported_feature, fault_detail::addressing_mode, "uuid:42"},
      {"unknown must-understand",
       request(good_headers + R"(<v:Secret xmlns:v="urn:vendor" s:mustUnderstand="true"/>)"),
       fault_code::must_understand, {}, "uuid:42"},
      {"tiny max envelope", request(good_headers + "<wsman:MaxEnvelopeSize>100</wsman:MaxEnvelopeSize>"),
       fault_code::encoding_limit, fault_detail::minimum_envelope_limit, "uuid:42"},
      {"bad max envelope", request(good_headers + "<wsman:MaxEnvelopeSize>lots</wsman:MaxEnvelopeSize>"),
       fault_code::invalid_message_information_header, {}, "uuid:42"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    pugi::xml_document doc;
    const auto result = parse(r.text, doc);
    const auto* e = std::get_if<envelope_error>(&result);
    REQUIRE(e != nullptr);
    CHECK(e->fault.code == r.code);
    CHECK(e->fault.detail == r.detail);
    CHECK(e->message_id == r.message_id);
    CHECK_FALSE(e->fault.reason.empty());
  }
}

TEST_CASE("envelope: unknown headers without mustUnderstand are ignored", "[server][soap][envelope]") {
  pugi::xml_document doc;
  const auto r = parse(request(good_headers + R"(<v:Hint xmlns:v="urn:vendor" s:mustUnderstand="false"/>)"),
                       doc);
  CHECK(std::holds_alternative<envelope>(r));
}

TEST_CASE("envelope: WS-Man option headers are read into the envelope", "[server][soap][envelope]") {
  pugi::xml_document doc;
  const auto r = parse(
      request(good_headers +
              "<wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">153600</wsman:MaxEnvelopeSize>"
              "<wsman:OperationTimeout>PT60.500S</wsman:OperationTimeout>"
              "<wsman:SelectorSet><wsman:Selector Name=\"Name\">x</wsman:Selector></wsman:SelectorSet>"
              "<wsman:OptionSet><wsman:Option Name=\"o\">1</wsman:Option></wsman:OptionSet>"
              "<wsman:FragmentTransfer s:mustUnderstand=\"true\">Name</wsman:FragmentTransfer>"
              "<wsman:RequestTotalItemsCountEstimate/>"
              "<wsman:Locale xml:lang=\"en-US\" s:mustUnderstand=\"true\"/>"
              "<p:SessionId xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\" "
              "s:mustUnderstand=\"true\">uuid:s</p:SessionId>"),
      doc);
  const auto* env = std::get_if<envelope>(&r);
  REQUIRE(env != nullptr);
  CHECK(env->max_envelope_size == 153600);
  REQUIRE(env->operation_timeout);
  CHECK(env->operation_timeout->count() == 60'500'000);
  CHECK(env->selector_set);
  CHECK(env->option_set);
  CHECK(env->fragment_transfer);
  CHECK(env->request_total_items_estimate);
}

TEST_CASE("envelope: header faults, one row per error", "[server][soap][envelope]") {
  struct row {
    std::string headers;
    fault_code code;
    std::optional<fault_detail> detail;
  };
  const row rows[] = {
      {"<wsman:OperationTimeout>60</wsman:OperationTimeout>",
       fault_code::invalid_message_information_header, std::nullopt},
      {"<wsman:MaxEnvelopeSize>many</wsman:MaxEnvelopeSize>",
       fault_code::invalid_message_information_header, std::nullopt},
      {"<wsman:MaxEnvelopeSize>8191</wsman:MaxEnvelopeSize>", fault_code::encoding_limit,
       fault_detail::minimum_envelope_limit},
      // Known namespaces, unknown headers: refused only when marked mustUnderstand.
      {"<wsman:Lock s:mustUnderstand=\"true\"/>", fault_code::must_understand, std::nullopt},
      {"<wsa:Frobnicate s:mustUnderstand=\"1\"/>", fault_code::must_understand, std::nullopt},
  };
  for (const row& r : rows) {
    INFO(r.headers);
    pugi::xml_document doc;
    const auto result = parse(request(good_headers + r.headers), doc);
    const auto* e = std::get_if<envelope_error>(&result);
    REQUIRE(e != nullptr);
    CHECK(e->fault.code == r.code);
    CHECK(e->fault.detail == r.detail);
    CHECK(e->message_id == "uuid:42");
  }
  pugi::xml_document doc;
  CHECK(std::holds_alternative<envelope>(parse(request(good_headers + "<wsman:Lock/>"), doc)));
}
