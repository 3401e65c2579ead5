#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"
#include "cimom/value.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace vsnapd::cim;

TEST_CASE("value: every type's text form parses back to the same value", "[cimom][value]") {
  struct row {
    cim_type type;
    const char* text;
  };
  const row rows[] = {
      {cim_type::boolean, "true"},
      {cim_type::boolean, "false"},
      {cim_type::uint8, "255"},
      {cim_type::sint8, "-128"},
      {cim_type::uint16, "65535"},
      {cim_type::sint16, "-32768"},
      {cim_type::uint32, "4294967295"},
      {cim_type::sint32, "-2147483648"},
      {cim_type::uint64, "18446744073709551615"},
      {cim_type::sint64, "-9223372036854775808"},
      {cim_type::sint64, "9223372036854775807"},
      {cim_type::real32, "0.1"},
      {cim_type::real32, "3.4028235e+38"},
      {cim_type::real64, "0.1"},
      {cim_type::real64, "1e-300"},
      {cim_type::real64, "-2.5"},
      {cim_type::real64, "INF"},
      {cim_type::real64, "-INF"},
      {cim_type::real64, "NaN"},
      {cim_type::char16, "A"},
      {cim_type::char16, "\xc3\xa9"},      // U+00E9
      {cim_type::char16, "\xe2\x82\xac"},  // U+20AC
      {cim_type::string, "with \"quotes\" and \\ and <xml>"},
      {cim_type::datetime, "20261124211315.123456+000"},
      {cim_type::reference, "root/cimv2:CIM_Foo.Id=\"a\\\"b\",N=7"},
  };
  for (const auto& r : rows) {
    INFO(to_string(r.type) << " " << r.text);
    auto s = parse_scalar(r.type, r.text);
    REQUIRE(s);
    CHECK(type_of(*s) == r.type);
    CHECK(to_text(*s) == r.text);
    CHECK(value(*s) == value(*parse_scalar(r.type, to_text(*s))));
  }
}

TEST_CASE("value: out-of-range and malformed text is refused", "[cimom][value]") {
  struct row {
    cim_type type;
    const char* text;
  };
  const row rows[] = {
      {cim_type::boolean, "yes"},        {cim_type::uint8, "256"},
      {cim_type::uint8, "-1"},           {cim_type::sint8, "128"},
      {cim_type::sint8, "-129"},         {cim_type::uint16, "65536"},
      {cim_type::sint32, "2147483648"},  {cim_type::uint64, "18446744073709551616"},
      {cim_type::sint64, "9223372036854775808"}, {cim_type::sint64, "-9223372036854775809"},
      {cim_type::uint32, "12abc"},       {cim_type::uint32, ""},
      {cim_type::uint32, "1.5"},         {cim_type::real64, "1e400"},
      {cim_type::real64, "inf"},         {cim_type::real64, "nan(1)"},
      {cim_type::real64, "1.0x"},        {cim_type::char16, "AB"},
      {cim_type::char16, ""},            {cim_type::char16, "\xf0\x9f\x98\x80"},
      {cim_type::char16, "\xc0\x80"},    {cim_type::datetime, "2026"},
      {cim_type::reference, "no path"},  {cim_type::object, "<INSTANCE/>"},
  };
  for (const auto& r : rows) {
    INFO(to_string(r.type) << " '" << r.text << "'");
    CHECK_FALSE(parse_scalar(r.type, r.text));
  }
}

TEST_CASE("value: hex integers and case-insensitive booleans are accepted on input", "[cimom][value]") {
  CHECK(*parse_scalar(cim_type::uint32, "0x10") == scalar(std::uint32_t{16}));
  CHECK(*parse_scalar(cim_type::sint16, "-0x8000") == scalar(std::int16_t{-32768}));
  CHECK(*parse_scalar(cim_type::boolean, "TRUE") == scalar(true));
  CHECK(*parse_scalar(cim_type::boolean, "False") == scalar(false));
}

TEST_CASE("value: NULLs keep their type and compare by type", "[cimom][value]") {
  const auto a = value::null(cim_type::uint32);
  CHECK(a.is_null());
  CHECK(a.type() == cim_type::uint32);
  CHECK(a == value::null(cim_type::uint32));
  CHECK_FALSE(a == value::null(cim_type::uint16));
  CHECK_FALSE(a == value::null(cim_type::uint32, true));
  CHECK_FALSE(a == value(scalar(std::uint32_t{0})));
}

TEST_CASE("value: convert coerces WS-Man text and integer widths, refusing losses", "[cimom][value]") {
  const value text("42");
  CHECK(*convert(text, cim_type::uint16, false) == value(scalar(std::uint16_t{42})));
  CHECK(*convert(text, cim_type::uint16, true) ==
        value::array(cim_type::uint16, {scalar(std::uint16_t{42})}));
  CHECK(*convert(value(scalar(std::uint8_t{7})), cim_type::sint64, false) ==
        value(scalar(std::int64_t{7})));
  CHECK(*convert(value(scalar(std::int32_t{-1})), cim_type::real64, false) == value(scalar(-1.0)));
  CHECK(convert(value(scalar(std::int32_t{-1})), cim_type::uint32, false).error().code ==
        errc::invalid_parameter);
  CHECK(convert(value(scalar(std::uint64_t{70000})), cim_type::uint16, false).error().code ==
        errc::invalid_parameter);
  CHECK(convert(value(scalar(true)), cim_type::uint16, false).error().code == errc::type_mismatch);
  CHECK(convert(value::array(cim_type::string, {scalar(std::string("1"))}), cim_type::uint8, false)
            .error()
            .code == errc::type_mismatch);
  const auto nulled = convert(value(), cim_type::datetime, false);
  CHECK(nulled->is_null());
  CHECK(nulled->type() == cim_type::datetime);
  const auto arr = convert(value::array(cim_type::string, {scalar(std::string("1")), scalar(std::string("2"))}),
                           cim_type::uint32, true);
  REQUIRE(arr);
  CHECK(arr->as_array().size() == 2);
  CHECK(convert(value::array(cim_type::string, {scalar(std::string("x"))}), cim_type::uint32, true)
            .error()
            .code == errc::invalid_parameter);
}

TEST_CASE("value: reals compare bit-exactly except signed zeros, and NaN equals NaN", "[cimom][value]") {
  CHECK(value(scalar(0.0)) == value(scalar(-0.0)));
  CHECK(value(scalar(std::nan(""))) == value(scalar(std::nan(""))));
  CHECK_FALSE(value(scalar(0.1f)) == value(scalar(0.1)));
  CHECK(to_text(scalar(0.1f)) == "0.1");
  CHECK(to_text(scalar(std::numeric_limits<double>::denorm_min())) == "5e-324");
  CHECK(to_text(scalar(1e21)) == "1e+21");
}

TEST_CASE("value: embedded instances and references compare by content", "[cimom][value]") {
  instance a("CIM_Error");
  a.set("Message", value("disk full"));
  instance b = a;
  CHECK(value(scalar(embedded_instance(std::make_shared<const instance>(a)))) ==
        value(scalar(embedded_instance(std::make_shared<const instance>(b)))));
  b.set("Message", value("other"));
  CHECK_FALSE(value(scalar(embedded_instance(std::make_shared<const instance>(a)))) ==
              value(scalar(embedded_instance(std::make_shared<const instance>(b)))));
  const auto p1 = std::make_shared<const object_path>(*object_path::parse("root/x:A.k=\"1\""));
  const auto p2 = std::make_shared<const object_path>(*object_path::parse("ROOT/X:a.K=\"1\""));
  CHECK(value(scalar(reference(p1))) == value(scalar(reference(p2))));
}
