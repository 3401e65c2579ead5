#include "common/xml/parse.hpp"
#include "common/xml/qname.hpp"

#include <catch2/catch.hpp>

namespace xml = vsnapd::xml;

namespace {
constexpr std::string_view soap = "http://www.w3.org/2003/05/soap-envelope";
}

TEST_CASE("qname: element names resolve by namespace, not prefix", "[common][xml][qname]") {
  const char* docs[] = {
      R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>)",
      R"(<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body/></env:Envelope>)",
      R"(<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>)",
      R"(<a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope"><b:Body xmlns:b="http://www.w3.org/2003/05/soap-envelope"/></a:Envelope>)",
  };
  for (const char* text : docs) {
    INFO(text);
    pugi::xml_document doc;
    std::string buf = text;
    REQUIRE_FALSE(xml::parse_in_place(doc, buf, 4096).has_value());
    const auto root = doc.document_element();
    CHECK(xml::is(root, soap, "Envelope"));
    CHECK(xml::child(root, soap, "Body"));
  }
}

TEST_CASE("qname: a same-named element in another namespace does not match", "[common][xml][qname]") {
  pugi::xml_document doc;
  std::string buf = R"(<s:Envelope xmlns:s="urn:other"><s:Body/></s:Envelope>)";
  REQUIRE_FALSE(xml::parse_in_place(doc, buf, 4096).has_value());
  CHECK_FALSE(xml::is(doc.document_element(), soap, "Envelope"));
}

TEST_CASE("qname: inner declarations shadow outer ones", "[common][xml][qname]") {
  pugi::xml_document doc;
  std::string buf = R"(<p:a xmlns:p="urn:one"><p:b xmlns:p="urn:two"/></p:a>)";
  REQUIRE_FALSE(xml::parse_in_place(doc, buf, 4096).has_value());
  const auto inner = xml::first_element(doc.document_element());
  CHECK(xml::is(inner, "urn:two", "b"));
  CHECK_FALSE(xml::is(inner, "urn:one", "b"));
  CHECK_FALSE(xml::namespace_of(inner).value_or("").empty());
}

TEST_CASE("qname: undeclared prefixes have no namespace", "[common][xml][qname]") {
  pugi::xml_document doc;
  std::string buf = R"(<q:a/>)";
  REQUIRE_FALSE(xml::parse_in_place(doc, buf, 4096).has_value());
  CHECK_FALSE(xml::namespace_of(doc.document_element()).has_value());
}

TEST_CASE("qname: attributes: unprefixed are in no namespace, prefixed resolve", "[common][xml][qname]") {
  pugi::xml_document doc;
  std::string buf =
      R"(<s:H xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns="urn:default" mustUnderstand="1" s:mustUnderstand="true"/>)";
  REQUIRE_FALSE(xml::parse_in_place(doc, buf, 4096).has_value());
  const auto h = doc.document_element();
  CHECK(std::string_view(xml::attribute(h, soap, "mustUnderstand").value()) == "true");
  CHECK(std::string_view(xml::attribute(h, "", "mustUnderstand").value()) == "1");
  CHECK_FALSE(xml::attribute(h, "urn:default", "mustUnderstand"));
}

TEST_CASE("xml parse: valid UTF-8 and other declared encodings are accepted", "[common][xml][parse]") {
  const std::string texts[] = {
      "<a>h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80</a>",
      "\xef\xbb\xbf<a>bom</a>",
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>",
  };
  for (const auto& text : texts) {
    INFO(text);
    pugi::xml_document doc;
    std::string buf = text;
    CHECK_FALSE(xml::parse_in_place(doc, buf, 4096).has_value());
  }
}

TEST_CASE("xml parse: every failure has its own code", "[common][xml][parse]") {
  struct row {
    std::string text;
    std::size_t limit;
    xml::parse_errc expected;
  };
  const row rows[] = {
      {"", 100, xml::parse_errc::empty},
      {"  \r\n ", 100, xml::parse_errc::empty},
      {std::string(200, 'x'), 100, xml::parse_errc::too_large},
      {"this is not xml <<<", 100, xml::parse_errc::not_wellformed},
      {"<a><b></a>", 100, xml::parse_errc::not_wellformed},
      {"<a>", 100, xml::parse_errc::not_wellformed},
      {"<a/><b/>", 100, xml::parse_errc::not_wellformed},
      {"<a/><?xml version=\"1.0\"?><a/>", 100, xml::parse_errc::not_wellformed},
      {"<a>E\xff\xfe" "1</a>", 100, xml::parse_errc::not_wellformed},
      {"<a>\xc3</a>", 100, xml::parse_errc::not_wellformed},
      {"<a>\xc0\xaf</a>", 100, xml::parse_errc::not_wellformed},
      {"<a>\xed\xa0\x80</a>", 100, xml::parse_errc::not_wellformed},
      {"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>\xf4\x90\x80\x80</a>", 100,
       xml::parse_errc::not_wellformed},
      {R"(<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>)", 100, xml::parse_errc::has_doctype},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    pugi::xml_document doc;
    std::string buf = r.text;
    const auto err = xml::parse_in_place(doc, buf, r.limit);
    REQUIRE(err.has_value());
    CHECK(err->code == r.expected);
    CHECK_FALSE(err->description.empty());
  }
}
