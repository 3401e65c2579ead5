#include "server/wsman/codec.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "common/xml/qname.hpp"
#include "server/cimxml/instance_codec.hpp"
#include "server/soap/namespaces.hpp"

using namespace vsnapd;
using namespace vsnapd::server::wsman;
namespace ns = vsnapd::server::ns;

namespace {

constexpr std::string_view test_ns = "root/codec";

cim::property_decl prop(std::string name, cim::cim_type t, bool array = false,
                        std::string embedded = {}, std::string ref_class = {}) {
  cim::property_decl p;
  p.name = std::move(name);
  p.type = t;
  p.is_array = array;
  p.embedded_class = std::move(embedded);
  p.ref_class = std::move(ref_class);
  return p;
}

// One class with a property of every type (and arrays, a reference, an embedded instance).
const cim::class_repository& repo() {
  static const auto r = [] {
    auto repo = std::make_unique<cim::class_repository>();
    REQUIRE(repo->add_namespace(test_ns));
    cim::class_decl c;
    c.name = "Codec_All";
    cim::property_decl key = prop("Id", cim::cim_type::string);
    key.qualifiers.set(cim::qualifier{"Key", cim::value(cim::scalar(true))});
    c.properties.push_back(key);
    const std::pair<const char*, cim::cim_type> scalars[] = {
        {"B", cim::cim_type::boolean},     {"U8", cim::cim_type::uint8},
        {"S8", cim::cim_type::sint8},      {"U16", cim::cim_type::uint16},
        {"S16", cim::cim_type::sint16},    {"U32", cim::cim_type::uint32},
        {"S32", cim::cim_type::sint32},    {"U64", cim::cim_type::uint64},
        {"S64", cim::cim_type::sint64},    {"R32", cim::cim_type::real32},
        {"R64", cim::cim_type::real64},    {"C16", cim::cim_type::char16},
        {"Str", cim::cim_type::string},    {"When", cim::cim_type::datetime},
        {"Span", cim::cim_type::datetime}, {"Vague", cim::cim_type::datetime}};
    for (const auto& [n, t] : scalars) {
      c.properties.push_back(prop(n, t));
    }
    c.properties.push_back(prop("Nums", cim::cim_type::uint16, true));
    c.properties.push_back(prop("Words", cim::cim_type::string, true));
    c.properties.push_back(prop("Empty", cim::cim_type::sint32, true));
    c.properties.push_back(prop("Ref", cim::cim_type::reference, false, {}, "Codec_All"));
    c.properties.push_back(prop("Emb", cim::cim_type::string, false, "Codec_All"));
    c.properties.push_back(prop("Nothing", cim::cim_type::uint32));
    REQUIRE(repo->add_class(test_ns, c));
    return repo;
  }();
  return *r;
}

const cim::class_decl& cls() { return *repo().find_class(test_ns, "Codec_All"); }

cim::value ref_to(std::string id) {
  return cim::value(cim::scalar(std::make_shared<const cim::object_path>(cim::object_path(
      std::string(test_ns), "Codec_All", {{"Id", cim::value(cim::scalar(std::move(id)))}}))));
}

cim::instance full_instance() {
  cim::instance inner("Codec_All");
  inner.set("Id", cim::value("inner")).set("U32", cim::value(cim::scalar(std::uint32_t{7})));
  cim::instance i("Codec_All");
  i.set("Id", cim::value("a <&> \"b\""))
      .set("B", cim::value(cim::scalar(true)))
      .set("U8", cim::value(cim::scalar(std::uint8_t{255})))
      .set("S8", cim::value(cim::scalar(std::int8_t{-128})))
      .set("U16", cim::value(cim::scalar(std::uint16_t{65535})))
      .set("S16", cim::value(cim::scalar(std::int16_t{-32768})))
      .set("U32", cim::value(cim::scalar(std::uint32_t{4294967295u})))
      .set("S32", cim::value(cim::scalar(std::int32_t{-2147483647 - 1})))
      .set("U64", cim::value(cim::scalar(std::uint64_t{18446744073709551615ull})))
      .set("S64", cim::value(cim::scalar(std::int64_t{-9223372036854775807LL - 1})))
      .set("R32", cim::value(cim::scalar(1.5f)))
      .set("R64", cim::value(cim::scalar(-std::numeric_limits<double>::infinity())))
      .set("C16", cim::value(cim::scalar(char16_t{0x00e9})))
      .set("Str", cim::value("  spaces kept\n and <markup> "))
      .set("When", cim::value(cim::scalar(*cim::datetime::parse("20240229123000.500000-300"))))
      .set("Span", cim::value(cim::scalar(*cim::datetime::parse("00000001020304.500000:000"))))
      .set("Vague", cim::value(cim::scalar(*cim::datetime::parse("2024**********.******+000"))))
      .set("Nums", cim::value::array(cim::cim_type::uint16, {cim::scalar(std::uint16_t{1}),
                                                             cim::scalar(std::uint16_t{2})}))
      .set("Words", cim::value::null(cim::cim_type::string, true))
      .set("Ref", ref_to("E1"))
      .set("Emb", cim::value(cim::scalar(std::make_shared<const cim::instance>(inner))))
      .set("Nothing", cim::value::null(cim::cim_type::uint32));
  return i;
}

// Writes `body` inside an element that declares the envelope's prefixes, and parses it.
pugi::xml_node parse_wrapped(pugi::xml_document& doc, std::string& text, const std::string& body) {
  text = "<w";
  text += envelope_namespaces();
  text += ">" + body + "</w>";
  REQUIRE(doc.load_buffer_inplace(text.data(), text.size()));
  return doc.document_element().first_child();
}

read_context reader() {
  return read_context{&repo(), test_ns,
                      [](std::string_view t) { return server::cimxml::parse_instance(t); }};
}

}  // namespace

TEST_CASE("codec: an instance with every type round-trips through DSP0230 XML",
          "[server][wsman][codec]") {
  const cim::instance in = full_instance();
  std::string out;
  append_instance(out, in, write_context{uri_style::dmtf, test_ns, &repo()});
  // Datetimes in their DSP0230 forms; NULL as xsi:nil; a NULL array as one nil element.
  CHECK_THAT(out,
             Catch::Contains(
                 "<p:When><cim:Datetime>2024-02-29T12:30:00.500000-05:00</cim:Datetime></p:When>"));
  CHECK_THAT(out,
             Catch::Contains("<p:Span><cim:Interval>P1DT2H3M4.500000S</cim:Interval></p:Span>"));
  CHECK_THAT(
      out,
      Catch::Contains(
          "<p:Vague><cim:CIM_DateTime>2024**********.******+000</cim:CIM_DateTime></p:Vague>"));
  CHECK_THAT(out, Catch::Contains("<p:Nothing xsi:nil=\"true\"/>"));
  CHECK_THAT(out, Catch::Contains("<p:Words xsi:nil=\"true\"/>"));
  CHECK_THAT(out, Catch::Contains("<p:Nums>1</p:Nums><p:Nums>2</p:Nums>"));
  CHECK_THAT(out, Catch::Contains("<p:R64>-INF</p:R64>"));
  CHECK_THAT(out, Catch::Contains("xsi:type=\"e1:Codec_All_Type\""));

  pugi::xml_document doc;
  std::string text;
  const pugi::xml_node e = parse_wrapped(doc, text, out);
  auto back = parse_instance(e, cls(), reader());
  REQUIRE(back.has_value());
  CHECK(*back == in);
}

TEST_CASE("codec: an empty array is written as nothing and reads back as absent",
          "[server][wsman][codec]") {
  cim::instance in("Codec_All");
  in.set("Id", cim::value("x")).set("Empty", cim::value::array(cim::cim_type::sint32, {}));
  std::string out;
  append_instance(out, in, write_context{uri_style::dmtf, test_ns, &repo()});
  CHECK_THAT(out, !Catch::Contains("Empty"));
  pugi::xml_document doc;
  std::string text;
  auto back = parse_instance(parse_wrapped(doc, text, out), cls(), reader());
  REQUIRE(back.has_value());
  CHECK(back->get("Empty") == nullptr);
}

TEST_CASE("codec: embedded instances arrive in every encoding clients use",
          "[server][wsman][codec]") {
  const std::string p = "<p:Emb xmlns:p=\"urn:x\"";
  const std::string cimxml =
      R"(<INSTANCE CLASSNAME="Codec_All"><PROPERTY NAME="Id" TYPE="string"><VALUE>in</VALUE></PROPERTY></INSTANCE>)";
  std::string escaped = cimxml;
  for (std::size_t i = 0; (i = escaped.find('<', i)) != std::string::npos;) {
    escaped.replace(i, 1, "&lt;");
  }
  struct row {
    const char* what;
    std::string xml;
    bool null;
  };
  const row rows[] = {
      {"DSP0230 with xsi:type", p + " xsi:type=\"p:Codec_All_Type\"><p:Id>in</p:Id></p:Emb>",
       false},
      {"DSP0230 without xsi:type", p + "><p:Id>in</p:Id></p:Emb>", false},
      {"DSP0230 wrapping the class element",
       p + "><p:Codec_All><p:Id>in</p:Id></p:Codec_All></p:Emb>", false},
      {"CIM-XML in CDATA", p + "><![CDATA[" + cimxml + "]]></p:Emb>", false},
      {"escaped CIM-XML", p + ">" + escaped + "</p:Emb>", false},
      {"empty string", p + "></p:Emb>", true},
      {"xsi:nil", p + " xsi:nil=\"true\"/>", true},
  };
  for (const row& r : rows) {
    INFO(r.what);
    pugi::xml_document doc;
    std::string text;
    const pugi::xml_node e = parse_wrapped(doc, text, r.xml);
    auto v = parse_value({e}, cim::cim_type::string, false, "Codec_All", reader());
    REQUIRE(v.has_value());
    if (r.null) {
      CHECK(v->is_null());
      continue;
    }
    const auto* inst = v->get_if<cim::embedded_instance>();
    REQUIRE(inst != nullptr);
    REQUIRE(*inst);
    CHECK((*inst)->class_name() == "Codec_All");
    REQUIRE((*inst)->get("Id") != nullptr);
    CHECK(*(*inst)->get("Id") == cim::value("in"));
  }
}

TEST_CASE("codec: EPRs read bare, wrapped, with and without __cimnamespace",
          "[server][wsman][codec]") {
  const cim::object_path expected(std::string(test_ns), "Codec_All", {{"Id", cim::value("E1")}});
  std::string written;
  append_epr(written, expected, write_context{uri_style::dmtf, test_ns, &repo()});
  // root/codec is not the default namespace, so the EPR says where it lives.
  CHECK_THAT(written, Catch::Contains(
                          "<wsman:Selector Name=\"__cimnamespace\">root/codec</wsman:Selector>"));
  const std::string uri = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Codec_All";
  const std::string params =
      "<wsa:ReferenceParameters><wsman:ResourceURI>" + uri +
      "</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name=\"Id\">E1</wsman:Selector>";
  const std::string bare_no_ns =
      "<x>" + params + "</wsman:SelectorSet></wsa:ReferenceParameters></x>";
  const std::string bare_ns = "<x><wsa:Address>a</wsa:Address>" + params +
                              "<wsman:Selector Name=\"__cimnamespace\">root/codec</wsman:Selector>"
                              "</wsman:SelectorSet></wsa:ReferenceParameters></x>";
  for (const std::string& xml : {written, "<x>" + written + "</x>", bare_no_ns, bare_ns}) {
    INFO(xml);
    pugi::xml_document doc;
    std::string text;
    auto path = parse_epr(parse_wrapped(doc, text, xml), reader());
    REQUIRE(path.has_value());
    CHECK(path->ns() == test_ns);
    CHECK(path->class_name() == "Codec_All");
    REQUIRE(path->key("Id") != nullptr);
    CHECK(*path->key("Id") == cim::value("E1"));
  }
}

TEST_CASE("codec: bad values are refused with the CIM error that names them",
          "[server][wsman][codec]") {
  struct row {
    const char* xml;
    cim::errc code;
  };
  const row rows[] = {
      {"<p:Codec_All xmlns:p=\"u\"><p:U8>256</p:U8></p:Codec_All>", cim::errc::invalid_parameter},
      {"<p:Codec_All xmlns:p=\"u\"><p:B>maybe</p:B></p:Codec_All>", cim::errc::invalid_parameter},
      {"<p:Codec_All xmlns:p=\"u\"><p:Colour>red</p:Colour></p:Codec_All>",
       cim::errc::no_such_property},
      {"<p:Codec_All xmlns:p=\"u\"><p:U8>1</p:U8><p:U8>2</p:U8></p:Codec_All>",
       cim::errc::invalid_parameter},
      {"<p:Codec_All "
       "xmlns:p=\"u\"><p:When><cim:Datetime>yesterday</cim:Datetime></p:When></p:Codec_All>",
       cim::errc::invalid_parameter},
      {"<p:Codec_All xmlns:p=\"u\"><p:Span><cim:Interval>P1Y</cim:Interval></p:Span></p:Codec_All>",
       cim::errc::invalid_parameter},
      {"<p:Codec_All xmlns:p=\"u\"><p:Nums>1</p:Nums><p:Nums xsi:nil=\"true\"/></p:Codec_All>",
       cim::errc::invalid_parameter},
      {"<p:Codec_All xmlns:p=\"u\"><p:Ref>not an epr</p:Ref></p:Codec_All>",
       cim::errc::invalid_parameter},
      {"<p:Codec_All xmlns:p=\"u\"><p:Emb "
       "xsi:type=\"p:Nope_Type\"><p:Id>x</p:Id></p:Emb></p:Codec_All>",
       cim::errc::invalid_parameter},
  };
  for (const row& r : rows) {
    INFO(r.xml);
    pugi::xml_document doc;
    std::string text;
    auto inst = parse_instance(parse_wrapped(doc, text, r.xml), cls(), reader());
    REQUIRE_FALSE(inst.has_value());
    CHECK(inst.error().code == r.code);
  }
}

TEST_CASE("codec: xs:dateTime text becomes a CIM timestamp", "[server][wsman][codec]") {
  struct row {
    const char* xs;
    const char* cim;
  };
  const row rows[] = {{"2024-02-29T12:30:00Z", "20240229123000.000000+000"},
                      {"2024-02-29T12:30:00", "20240229123000.000000+000"},
                      {"2024-02-29T12:30:00.1234567+05:30", "20240229123000.123456+330"},
                      {"1999-12-31T23:59:59-08:00", "19991231235959.000000-480"}};
  for (const row& r : rows) {
    INFO(r.xs);
    const auto d = parse_xs_datetime(r.xs);
    REQUIRE(d);
    CHECK(d->text() == r.cim);
  }
  for (const char* bad : {"", "2024-02-29", "2024-02-29 12:30:00", "2024-13-01T00:00:00Z",
                          "2024-02-29T12:30:00+5", "yyyy-mm-ddThh:mm:ssZ"}) {
    INFO(bad);
    CHECK_FALSE(parse_xs_datetime(bad));
  }
}
