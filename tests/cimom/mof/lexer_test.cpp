#include "cimom/mof/lexer.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace vsnapd::cim::mof;

namespace {

std::vector<token> lex_all(std::string_view text, diagnostics& d) {
  lexer lx(0, text, d);
  std::vector<token> out;
  for (;;) {
    token t = lx.next();
    if (t.kind == token_kind::end) {
      return out;
    }
    out.push_back(t);
  }
}

}  // namespace

TEST_CASE("lexer: classifies tokens and tracks line and column", "[cimom][mof][lexer]") {
  diagnostics d;
  const auto toks = lex_all(
      "class A_1 : B {\n"
      "  // comment\n"
      "  /* multi\n line */ uint8 x[] = {0x1F, -017, 101b, 1.5e-3, \"s\\\"\", 'c', $al};\n"
      "}; #",
      d);
  REQUIRE(d.all().empty());
  const std::vector<std::pair<token_kind, std::string>> want = {
      {token_kind::identifier, "class"}, {token_kind::identifier, "A_1"},
      {token_kind::colon, ":"},          {token_kind::identifier, "B"},
      {token_kind::lbrace, "{"},         {token_kind::identifier, "uint8"},
      {token_kind::identifier, "x"},     {token_kind::lbracket, "["},
      {token_kind::rbracket, "]"},       {token_kind::equals, "="},
      {token_kind::lbrace, "{"},         {token_kind::integer, "0x1F"},
      {token_kind::comma, ","},          {token_kind::integer, "-017"},
      {token_kind::comma, ","},          {token_kind::integer, "101b"},
      {token_kind::comma, ","},          {token_kind::real, "1.5e-3"},
      {token_kind::comma, ","},          {token_kind::string, "\"s\\\"\""},
      {token_kind::comma, ","},          {token_kind::char16, "'c'"},
      {token_kind::comma, ","},          {token_kind::alias, "al"},
      {token_kind::rbrace, "}"},         {token_kind::semicolon, ";"},
      {token_kind::rbrace, "}"},         {token_kind::semicolon, ";"},
      {token_kind::hash, "#"},
  };
  REQUIRE(toks.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO(i);
    CHECK(toks[i].kind == want[i].first);
    CHECK(toks[i].text == want[i].second);
  }
  CHECK(toks[5].line == 4);  // uint8, after the two-line comment
  CHECK(toks[5].column == 10);
  CHECK(toks.back().line == 5);
  CHECK(toks.back().column == 4);
}

TEST_CASE("lexer: malformed input is reported with its position", "[cimom][mof][lexer]") {
  struct row {
    const char* text;
    std::uint32_t line;
    std::uint32_t column;
    const char* message;
  };
  const row rows[] = {
      {"x /* never closed", 1, 3, "unterminated comment: expected '*/'"},
      {"x = \"abc\n;", 1, 5, "unterminated string"},
      {"x = 'a\n", 1, 5, "unterminated char16 literal"},
      {"\n  x = 0x;", 2, 7, "malformed hexadecimal number"},
      {"x = 019;", 1, 5, "malformed octal number"},
      {"x = 1.;", 1, 5, "malformed real number"},
      {"x = 1.5e;", 1, 5, "malformed real number"},
      {"x = 12ab;", 1, 5, "malformed number"},
      {"x = @;", 1, 5, "unexpected character '@'"},
      {"x = $;", 1, 5, "expected an alias name after '$'"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    diagnostics d;
    (void)lex_all(r.text, d);
    REQUIRE(d.error_count() == 1);
    CHECK(d.all()[0].where.line == r.line);
    CHECK(d.all()[0].where.column == r.column);
    CHECK_THAT(d.all()[0].message, Catch::Contains(r.message));
  }
}

TEST_CASE("lexer: a byte order mark is skipped", "[cimom][mof][lexer]") {
  diagnostics d;
  const auto toks = lex_all(
      "\xEF\xBB\xBF"
      "class",
      d);
  REQUIRE(toks.size() == 1);
  CHECK(toks[0].column == 1);
  CHECK(d.all().empty());
}

TEST_CASE("lexer: every token kind has a name", "[cimom][mof][lexer]") {
  for (int k = 0; k <= static_cast<int>(token_kind::invalid); ++k) {
    CHECK_FALSE(to_string(static_cast<token_kind>(k)).empty());
  }
}
