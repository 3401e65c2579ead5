#include "cimom/mof/literal.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

using namespace vsnapd::cim::mof;

TEST_CASE("literal: integers in every base parse exactly", "[cimom][mof][literal]") {
  struct row {
    const char* text;
    bool negative;
    bool overflow;
    std::uint64_t magnitude;
  };
  const row rows[] = {
      {"0", false, false, 0},
      {"42", false, false, 42},
      {"+42", false, false, 42},
      {"-42", true, false, 42},
      {"0x1F", false, false, 31},
      {"0XfF", false, false, 255},
      {"-0x80", true, false, 128},
      {"017", false, false, 15},
      {"101b", false, false, 5},
      {"-1B", true, false, 1},
      {"18446744073709551615", false, false, UINT64_MAX},
      {"0xFFFFFFFFFFFFFFFF", false, false, UINT64_MAX},
      {"9223372036854775808", false, false, 9223372036854775808ull},
      {"-9223372036854775808", true, false, 9223372036854775808ull},
      {"18446744073709551616", false, true, 0},
      {"0x10000000000000000", false, true, 0},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    const integer_literal v = parse_integer_literal(r.text);
    CHECK(v.negative == r.negative);
    CHECK(v.overflow == r.overflow);
    if (!r.overflow) {
      CHECK(v.magnitude == r.magnitude);
    }
  }
}

TEST_CASE("literal: reals are correctly rounded", "[cimom][mof][literal]") {
  CHECK(parse_real_literal("1.5") == 1.5);
  CHECK(parse_real_literal("+0.1") == 0.1);
  CHECK(parse_real_literal("-2.5e3") == -2500.0);
  CHECK(parse_real_literal(".25") == 0.25);
  CHECK(parse_real_literal("1.7976931348623157e308") == 1.7976931348623157e308);
  CHECK(parse_real_literal("4.9e-324") == 4.9e-324);
}

TEST_CASE("literal: string escapes decode to UTF-8", "[cimom][mof][literal]") {
  struct row {
    std::string body;
    std::string decoded;
    escape_status status;
  };
  const row rows[] = {
      {"plain", "plain", escape_status::ok},
      {R"(\b\t\n\f\r)", "\b\t\n\f\r", escape_status::ok},
      {R"(\"\'\\)", "\"'\\", escape_status::ok},
      {R"(\x41\X42)", "AB", escape_status::ok},
      {R"(\x00e9)", "\xC3\xA9", escape_status::ok},
      {R"(\x20AC)", "\xE2\x82\xAC", escape_status::ok},
      {R"(\x41BCDE)",
       "\xE4\x86\xBC"
       "DE",
       escape_status::ok},  // at most four hex digits
      {std::string("a\\x0b", 5), std::string("a\x0b", 2), escape_status::ok},
      {R"(\q)", "q", escape_status::unknown_escape},
      {R"(\xg)", "xg", escape_status::missing_hex_digits},
  };
  for (const auto& r : rows) {
    INFO(r.body);
    std::string out;
    std::size_t offset = 99;
    CHECK(decode_string_body(r.body, out, offset) == r.status);
    CHECK(out == r.decoded);
    if (r.status != escape_status::ok) {
      CHECK(offset == 0);
    }
  }
}

TEST_CASE("literal: char16 bodies are one character or one escape", "[cimom][mof][literal]") {
  char16_t c = 0;
  CHECK(decode_char16_body("a", c));
  CHECK(c == u'a');
  CHECK(decode_char16_body(R"(\n)", c));
  CHECK(c == u'\n');
  CHECK(decode_char16_body(R"(\')", c));
  CHECK(c == u'\'');
  CHECK(decode_char16_body(R"(\x263A)", c));
  CHECK(c == u'\u263A');
  CHECK(decode_char16_body("\xC3\xA9", c));
  CHECK(c == u'\u00E9');
  CHECK_FALSE(decode_char16_body("", c));
  CHECK_FALSE(decode_char16_body("ab", c));
  CHECK_FALSE(decode_char16_body(R"(\q)", c));
  CHECK_FALSE(decode_char16_body("\xF0\x9F\x98\x80", c));  // beyond the BMP
}
