#include "server/soap/fault.hpp"
#include "server/soap/namespaces.hpp"

#include "common/xml/parse.hpp"
#include "common/xml/qname.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace vsnapd::server;
using namespace vsnapd::server::soap;
namespace xml = vsnapd::xml;

TEST_CASE("fault: every fault code renders a parseable SOAP 1.2 fault with its subcode",
          "[server][soap][fault]") {
  std::set<std::string_view> subcodes;
  for (fault_code c : all_fault_codes) {
    const fault_info& row = info(c);
    INFO(to_string(c));
    CHECK_FALSE(row.reason.empty());
    CHECK_FALSE(row.action.empty());
    if (!row.subcode.empty()) {
      CHECK(subcodes.insert(row.subcode).second);
    }
    std::string text = render(fault{c, std::nullopt, {}, "urn:x", "Thing"}, "uuid:1", "uuid:2");
    pugi::xml_document doc;
    REQUIRE_FALSE(xml::parse_in_place(doc, text, 1 << 20).has_value());
    const auto env = doc.document_element();
    REQUIRE(xml::is(env, ns::soap, "Envelope"));
    const auto body = xml::child(env, ns::soap, "Body");
    const auto f = xml::child(body, ns::soap, "Fault");
    REQUIRE(f);
    const auto code = xml::child(f, ns::soap, "Code");
    CHECK(xml::child(code, ns::soap, "Value"));
    if (!row.subcode.empty()) {
      const auto sub = xml::child(xml::child(code, ns::soap, "Subcode"), ns::soap, "Value");
      // The subcode's prefix must be declared and resolve to the row's namespace.
      const std::string_view value = sub.child_value();
      CHECK(xml::local_name(value) == row.subcode);
      CHECK(xml::lookup_namespace(sub, xml::prefix(value)) == row.subcode_ns);
    }
    const auto header = xml::child(env, ns::soap, "Header");
    CHECK(std::string_view(xml::child(header, ns::addressing, "RelatesTo").child_value()) == "uuid:1");
    CHECK(std::string_view(xml::child(header, ns::addressing, "Action").child_value()) == row.action);
  }
}

TEST_CASE("fault: every detail code has a distinct DSP0226 name", "[server][soap][fault]") {
  std::set<std::string_view> names;
  for (fault_detail d : all_fault_details) {
    CHECK(names.insert(to_string(d)).second);
  }
  CHECK(to_string(fault_detail::invalid_resource_uri) == "InvalidResourceURI");
  std::string text = render(fault{fault_code::encoding_limit, fault_detail::max_envelope_size,
                                  "too <big> & \"bad\"", {}, {}},
                            std::nullopt, "uuid:9");
  CHECK_THAT(text, Catch::Contains("http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MaxEnvelopeSize"));
  CHECK_THAT(text, Catch::Contains("too &lt;big&gt; &amp; &quot;bad&quot;"));
  CHECK_THAT(text, !Catch::Contains("RelatesTo"));
}

TEST_CASE("fault: SOAP-level faults carry NotUnderstood and Upgrade headers", "[server][soap][fault]") {
  const std::string mu = render(fault{fault_code::must_understand, std::nullopt, {}, "urn:vendor", "Secret"},
                                "m", "r");
  CHECK_THAT(mu, Catch::Contains(R"(<s:NotUnderstood qname="nu:Secret" xmlns:nu="urn:vendor"/>)"));
  CHECK_THAT(mu, Catch::Contains("<s:Value>s:MustUnderstand</s:Value>"));
  const std::string vm = render(fault{fault_code::version_mismatch, std::nullopt, {}, {}, {}}, "m", "r");
  CHECK_THAT(vm, Catch::Contains("<s:Upgrade>"));
}

TEST_CASE("fault: every CIM status code maps to a WS-Man fault that keeps its description",
          "[server][soap][fault]") {
  namespace cim = vsnapd::cim;
  for (cim::errc e : cim::all_errcs) {
    INFO(cim::to_string(e));
    const fault f = from_cim(cim::error{e, "what failed", {}});
    CHECK(f.reason == "what failed");
    CHECK_FALSE(info(f.code).subcode.empty());
  }
  CHECK(from_cim(cim::error{cim::errc::not_found, "x", {}}).code == fault_code::destination_unreachable);
  CHECK(from_cim(cim::error{cim::errc::invalid_class, "x", {}}).detail == fault_detail::invalid_resource_uri);
  CHECK(from_cim(cim::error{cim::errc::invalid_query, "x", {}}).code == fault_code::cannot_process_filter);
  CHECK(from_cim(cim::error{cim::errc::server_limits_exceeded, "x", {}}).code == fault_code::quota_limit);
}

TEST_CASE("fault: the Microsoft WSManFault detail carries the code Windows clients read",
          "[server][soap][fault]") {
  const std::string timed_out =
      render(fault{fault_code::timed_out, fault_detail::operation_timeout, "slow", {}, {}, 0},
             "m", "r", "host1");
  CHECK_THAT(timed_out, Catch::Contains(R"(Code="2150858793" Machine="host1")"));
  CHECK_THAT(timed_out, Catch::Contains("<f:Message>slow</f:Message>"));
  const std::string overridden =
      render(fault{fault_code::internal_error, std::nullopt, "x", {}, {}, 42}, "m", "r");
  CHECK_THAT(overridden, Catch::Contains(R"(Code="42")"));
  const std::string none = render(fault{fault_code::encoding_limit, std::nullopt, "x", {}, {}, 0}, "m", "r");
  CHECK_THAT(none, !Catch::Contains("WSManFault"));
}
