#include "server/wsman/endpoint.hpp"

#include <catch2/catch.hpp>
#include <optional>

#include "cimom/runtime.hpp"
#include "tests/fixtures/test_fixture.hpp"

using namespace vsnapd;
using namespace vsnapd::server;

namespace {

constexpr std::string_view element_uri =
    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Vsnapd_TestElement";

std::string request(std::string_view action, std::string_view body, std::string_view headers = {}) {
  std::string r =
      R"(<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><s:Header><a:Action>)";
  r += action;
  r += "</a:Action><a:To>/wsman</a:To><w:ResourceURI>";
  r += element_uri;
  r += "</w:ResourceURI><a:MessageID>uuid:1</a:MessageID>";
  r += headers;
  r += "</s:Header><s:Body>";
  r += body;
  r += "</s:Body></s:Envelope>";
  return r;
}

struct world {
  std::unique_ptr<cim::runtime> rt;
  std::shared_ptr<void> fixture;
  std::unique_ptr<wsman::endpoint> ep;

  explicit world(std::size_t elements) {
    cim::runtime_options ro;
    ro.extra_mof = testing::fixture_mof();
    auto started = cim::runtime::start(ro);
    REQUIRE(started.has_value());
    rt = std::move(*started);
    auto f = testing::register_fixture(*rt, elements);
    REQUIRE(f.has_value());
    fixture = *f;
    wsman::endpoint::options opts;
    ep = std::make_unique<wsman::endpoint>(opts, rt->om());
  }

  wsman::reply run(std::string text, role r = role::admin) {
    wsman::parsed_request p;
    ep->parse(p, std::move(text));
    return ep->dispatch(p, wsman::transport::https, wsman::caller{"tester", r});
  }
};

std::string body_of(const std::string& reply) {
  const auto b = reply.find("<s:Body>");
  return b == std::string::npos ? reply : reply.substr(b);
}

}  // namespace

TEST_CASE("wsman endpoint: a UTF-16 request is decoded, not garbled", "[server][wsman][endpoint]") {
  world w(3);
  const std::string utf8 =
      request("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", "",
              "<w:SelectorSet><w:Selector Name=\"InstanceID\">E2</w:Selector></w:SelectorSet>");
  std::string decl_free = utf8.substr(utf8.find("?>") + 2);
  std::string utf16 = "\xff\xfe";  // BOM, little-endian
  for (char c : std::string(R"(<?xml version="1.0" encoding="UTF-16"?>)") + decl_free) {
    utf16 += c;
    utf16 += '\0';
  }
  const wsman::reply a = w.run(utf8);
  const wsman::reply b = w.run(utf16);
  REQUIRE_FALSE(a.is_fault);
  REQUIRE_FALSE(b.is_fault);
  CHECK(body_of(a.body) == body_of(b.body));
  CHECK_THAT(b.body, Catch::Contains("<p:InstanceID>E2</p:InstanceID>"));
}

TEST_CASE("wsman endpoint: without an object manager or a caller only Identify is answered",
          "[server][wsman][endpoint]") {
  wsman::endpoint bare(512000, wsman::endpoint::security{});
  wsman::parsed_request p;
  bare.parse(p, request("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", ""));
  const wsman::reply anonymous = bare.dispatch(p, wsman::transport::http);
  CHECK(anonymous.is_fault);
  CHECK_THAT(anonymous.body, Catch::Contains("wsman:AccessDenied"));
  const wsman::reply no_om =
      bare.dispatch(p, wsman::transport::http, wsman::caller{"x", role::admin});
  CHECK(no_om.is_fault);
  CHECK_THAT(no_om.body, Catch::Contains("wsa:ActionNotSupported"));
}

TEST_CASE("wsman endpoint: 10000 instances stream through Pull with bounded contexts",
          "[server][wsman][endpoint]") {
  world w(10000);
  wsman::reply r = w.run(request(
      "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
      "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>100</w:MaxElements></n:Enumerate>"));
  REQUIRE_FALSE(r.is_fault);
  // Plain string searches: std::regex over 100 replies of 60 KB each is the slow part otherwise.
  auto count_items = [](const std::string& text) {
    std::size_t n = 0;
    for (auto pos = text.find("<p:InstanceID>"); pos != std::string::npos;
         pos = text.find("<p:InstanceID>", pos + 1)) {
      ++n;
    }
    return n;
  };
  auto context_of = [](const std::string& text) -> std::optional<std::string> {
    constexpr std::string_view open = "<wsen:EnumerationContext>";
    const auto b = text.find(open);
    if (b == std::string::npos) {
      return std::nullopt;
    }
    const auto e = text.find('<', b + open.size());
    return text.substr(b + open.size(), e - b - open.size());
  };
  std::size_t items = count_items(r.body);
  std::size_t pulls = 0;
  std::string last = r.body;
  while (auto ctx = context_of(last)) {
    REQUIRE(w.ep->enumerations().size() == 1);
    r = w.run(request("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull",
                      "<n:Pull><n:EnumerationContext>" + *ctx +
                          "</n:EnumerationContext><n:MaxElements>100</n:MaxElements></n:Pull>"),
              role::reader);
    REQUIRE_FALSE(r.is_fault);
    const std::size_t n = count_items(r.body);
    CHECK(n <= 100);
    items += n;
    ++pulls;
    last = r.body;
  }
  CHECK_THAT(last, Catch::Contains("<wsen:EndOfSequence/>"));
  CHECK(items == 10003);  // 10000 elements and the 3 subclass instances
  CHECK(pulls == 100);
  CHECK(w.ep->enumerations().size() == 0);
}
