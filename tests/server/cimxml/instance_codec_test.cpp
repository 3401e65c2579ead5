#include "server/cimxml/instance_codec.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using namespace vsnapd;
using namespace vsnapd::server::cimxml;
using cim::cim_type;

namespace {

cim::instance sample() {
  cim::instance inner("Vsnapd_TestElement");
  inner.set("InstanceID", cim::value("E1 <&>"));
  cim::instance inst("Vsnapd_TestElement");
  inst.set("InstanceID", cim::value("E0"));
  inst.set("Index", cim::value(cim::scalar(std::uint32_t{7})));
  inst.set("Flag", cim::value(cim::scalar(true)));
  inst.set("Big", cim::value(cim::scalar(std::int64_t{-9000000000})));
  inst.set("Tiny", cim::value(cim::scalar(std::int8_t{-5})));
  inst.set("Byte", cim::value(cim::scalar(std::uint8_t{200})));
  inst.set("Letter", cim::value(cim::scalar(char16_t{0x20AC})));
  inst.set("Ratio", cim::value(cim::scalar(0.1)));
  inst.set("Created", cim::value(cim::scalar(*cim::datetime::parse("20260101120000.000000+060"))));
  inst.set("Codes", cim::value::array(cim_type::uint16, {std::uint16_t{1}, std::uint16_t{65535}}));
  inst.set("Notes", cim::value::null(cim_type::string));
  inst.set("Text", cim::value("a \"quoted\" <b> & 'c'\n  x"));
  inst.set("Embedded",
           cim::value(cim::scalar(std::make_shared<const cim::instance>(std::move(inner)))));
  inst.set("Peer", cim::value(cim::scalar(std::make_shared<const cim::object_path>(
                       "root/vsnapd/test", "Vsnapd_TestElement",
                       std::vector<cim::key_binding>{{"InstanceID", cim::value("E1")}}))));
  return inst;
}

}  // namespace

TEST_CASE("instance_codec: an instance with every value form round-trips", "[server][cimxml]") {
  const cim::instance in = sample();
  std::string xml;
  append_instance(xml, in, nullptr);
  CHECK(xml.find("/>") == std::string::npos);  // explicit end tags only (wbemcli)
  CHECK(xml.find("<PROPERTY NAME=\"Flag\" TYPE=\"boolean\"><VALUE>TRUE</VALUE></PROPERTY>") !=
        std::string::npos);
  CHECK(xml.find("<PROPERTY NAME=\"Ratio\" TYPE=\"real64\"><VALUE>0.1</VALUE></PROPERTY>") !=
        std::string::npos);
  CHECK(xml.find("<PROPERTY NAME=\"Tiny\" TYPE=\"sint8\"><VALUE>-5</VALUE></PROPERTY>") !=
        std::string::npos);
  CHECK(xml.find("<PROPERTY NAME=\"Byte\" TYPE=\"uint8\"><VALUE>200</VALUE></PROPERTY>") !=
        std::string::npos);
  CHECK(xml.find("<PROPERTY NAME=\"Letter\" TYPE=\"char16\"><VALUE>\xE2\x82\xAC</VALUE></PROPERTY>") !=
        std::string::npos);
  CHECK(xml.find("<PROPERTY NAME=\"Notes\" TYPE=\"string\"></PROPERTY>") != std::string::npos);
  CHECK(xml.find("EmbeddedObject=\"instance\"><VALUE>&lt;INSTANCE CLASSNAME=&quot;") !=
        std::string::npos);
  CHECK(xml.find("<PROPERTY.REFERENCE NAME=\"Peer\" REFERENCECLASS=\"Vsnapd_TestElement\">"
                 "<VALUE.REFERENCE><LOCALINSTANCEPATH>") != std::string::npos);

  auto out = parse_instance(xml);
  REQUIRE(out.has_value());
  CHECK(*out == in);
}

TEST_CASE("instance_codec: embedded instances parse in both spellings and from CDATA",
          "[server][cimxml]") {
  const std::string inner =
      "<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"P\" TYPE=\"uint8\"><VALUE>5</VALUE></PROPERTY>"
      "</INSTANCE>";
  for (const std::string attr : {"EmbeddedObject=\"instance\"", "EMBEDDEDOBJECT=\"instance\""}) {
    for (const bool cdata : {false, true}) {
      std::string escaped;
      append_escaped(escaped, inner);
      const std::string body = cdata ? "<![CDATA[" + inner + "]]>" : escaped;
      const std::string xml = "<?xml version=\"1.0\"?>\n<INSTANCE CLASSNAME=\"Outer\">"
                              "<PROPERTY NAME=\"E\" TYPE=\"string\" " +
                              attr + "><VALUE>" + body + "</VALUE></PROPERTY></INSTANCE>\n";
      auto out = parse_instance(xml);
      REQUIRE(out.has_value());
      const auto* e = out->get("E")->get_if<cim::embedded_instance>();
      REQUIRE(e != nullptr);
      CHECK((*e)->class_name() == "C");
      CHECK(*(*e)->get("P") == cim::value(cim::scalar(std::uint8_t{5})));
    }
  }
}

TEST_CASE("instance_codec: an empty embedded instance VALUE is NULL", "[server][cimxml]") {
  for (const std::string value : {"<VALUE></VALUE>", "<VALUE/>", "<VALUE> \n</VALUE>"}) {
    INFO(value);
    auto out = parse_instance(
        "<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"E\" TYPE=\"string\" "
        "EmbeddedObject=\"instance\">" + value + "</PROPERTY></INSTANCE>");
    REQUIRE(out.has_value());
    CHECK(out->get("E")->is_null());
  }
  // Text that is not blank must still be an instance.
  CHECK_FALSE(parse_instance("<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"E\" TYPE=\"string\" "
                             "EmbeddedObject=\"instance\"><VALUE>x</VALUE></PROPERTY></INSTANCE>")
                  .has_value());
}

TEST_CASE("instance_codec: a VALUE of blanks keeps its blanks", "[server][cimxml]") {
  auto out = parse_instance(
      "<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"S\" TYPE=\"string\"><VALUE>  </VALUE>"
      "</PROPERTY></INSTANCE>");
  REQUIRE(out.has_value());
  CHECK(*out->get("S") == cim::value("  "));
}

TEST_CASE("instance_codec: control characters become U+FFFD so the document stays well-formed",
          "[server][cimxml]") {
  std::string out;
  append_escaped(out, std::string("a\x01" "b\tc", 5));
  CHECK(out == "a\xEF\xBF\xBD" "b&#9;c");
}

TEST_CASE("instance_codec: instance names carry VALUETYPE and TYPE", "[server][cimxml]") {
  cim::object_path p("root/x", "C");
  p.set_key("B", cim::value(cim::scalar(true)));
  p.set_key("N", cim::value(cim::scalar(std::uint16_t{3})));
  p.set_key("S", cim::value("v\"1"));
  std::string xml;
  append_instance_name(xml, p);
  CHECK(xml ==
        "<INSTANCENAME CLASSNAME=\"C\">"
        "<KEYBINDING NAME=\"B\"><KEYVALUE VALUETYPE=\"boolean\" TYPE=\"boolean\">TRUE</KEYVALUE></KEYBINDING>"
        "<KEYBINDING NAME=\"N\"><KEYVALUE VALUETYPE=\"numeric\" TYPE=\"uint16\">3</KEYVALUE></KEYBINDING>"
        "<KEYBINDING NAME=\"S\"><KEYVALUE VALUETYPE=\"string\" TYPE=\"string\">v&quot;1</KEYVALUE></KEYBINDING>"
        "</INSTANCENAME>");
}

TEST_CASE("instance_codec: malformed instances are refused with a reason", "[server][cimxml]") {
  struct row {
    const char* text;
    const char* reason;
  };
  const row rows[] = {
      {"<INSTANCE CLASSNAME=\"C\">", "not well-formed"},
      {"<CLASS NAME=\"C\"></CLASS>", "expected INSTANCE"},
      {"<INSTANCE></INSTANCE>", "no CLASSNAME"},
      {"<INSTANCE CLASSNAME=\"C\"></INSTANCE><INSTANCE CLASSNAME=\"C\"></INSTANCE>",
       "more than one element"},
      {"text<INSTANCE CLASSNAME=\"C\"></INSTANCE>", "text outside"},
      {"", "No document element"},
      {"<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"P\"><VALUE>1</VALUE></PROPERTY></INSTANCE>",
       "no TYPE"},
      {"<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"P\" TYPE=\"int\"></PROPERTY></INSTANCE>",
       "unknown TYPE"},
      {"<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"P\" TYPE=\"uint8\"><VALUE>300</VALUE>"
       "</PROPERTY></INSTANCE>",
       "property 'P'"},
      {"<INSTANCE CLASSNAME=\"C\"><PROPERTY.ARRAY NAME=\"P\" TYPE=\"uint8\"><VALUE.ARRAY>"
       "<VALUE.NULL></VALUE.NULL></VALUE.ARRAY></PROPERTY.ARRAY></INSTANCE>",
       "VALUE.NULL"},
      {"<INSTANCE CLASSNAME=\"C\"><METHOD NAME=\"M\"></METHOD></INSTANCE>", "holds 'METHOD'"},
      {"<INSTANCE CLASSNAME=\"C\"><PROPERTY.REFERENCE NAME=\"R\"><VALUE.REFERENCE><HOST>h</HOST>"
       "</VALUE.REFERENCE></PROPERTY.REFERENCE></INSTANCE>",
       "not an object path element"},
      {"<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"E\" TYPE=\"string\" EmbeddedObject=\"instance\">"
       "<VALUE>&lt;INSTANCE&gt;&lt;/INSTANCE&gt;</VALUE></PROPERTY></INSTANCE>",
       "no CLASSNAME"},
  };
  for (const row& r : rows) {
    INFO(r.text);
    auto out = parse_instance(r.text);
    REQUIRE_FALSE(out.has_value());
    CHECK(out.error().code == cim::errc::invalid_parameter);
    CHECK_THAT(out.error().description, Catch::Contains(r.reason));
  }
}
