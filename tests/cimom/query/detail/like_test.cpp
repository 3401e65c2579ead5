#include "cimom/query/detail/like.hpp"
#include "tests/cimom/query/catch_result.hpp"

#include <catch2/catch.hpp>

#include <string>

using vsnapd::cim::errc;
using vsnapd::cim::query_language;
using vsnapd::cim::ql::like_pattern;

namespace {

struct like_case {
  query_language lang;
  const char* pattern;
  const char* text;
  bool expected;
};

constexpr like_case like_cases[] = {
    // WQL: % _ [set] [^set] [a-z], case-insensitive
    {query_language::wql, "abc", "abc", true},
    {query_language::wql, "abc", "ABC", true},
    {query_language::wql, "abc", "abcd", false},
    {query_language::wql, "", "", true},
    {query_language::wql, "", "a", false},
    {query_language::wql, "%", "", true},
    {query_language::wql, "%", "anything", true},
    {query_language::wql, "vm%", "VM-01", true},
    {query_language::wql, "vm%", "my-vm", false},
    {query_language::wql, "%vm%", "my-vm-01", true},
    {query_language::wql, "%01", "vm-01", true},
    {query_language::wql, "%01", "vm-010", false},
    {query_language::wql, "vm_01", "vm-01", true},
    {query_language::wql, "vm_01", "vm01", false},
    {query_language::wql, "vm__", "vm1", false},
    {query_language::wql, "[abc]x", "bx", true},
    {query_language::wql, "[abc]x", "dx", false},
    {query_language::wql, "[a-f]%", "Delta", true},
    {query_language::wql, "[a-f]%", "golf", false},
    {query_language::wql, "[^a-f]%", "golf", true},
    {query_language::wql, "[^a-f]%", "alpha", false},
    {query_language::wql, "[%]", "%", true},
    {query_language::wql, "[%]", "x", false},
    {query_language::wql, "100[%]", "100%", true},
    {query_language::wql, "[_]x", "_x", true},
    {query_language::wql, "[_]x", "ax", false},
    {query_language::wql, "[]]", "]", true},
    {query_language::wql, ".*", ".*", true},  // CQL metacharacters are literal in WQL
    {query_language::wql, ".*", "ab", false},
    {query_language::wql, "_", "\xC3\xA9", true},  // one code point (é), two UTF-8 bytes
    {query_language::wql, "%a%a%a%a%a%b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    // CQL (DSP0202 basic regular expressions), case-sensitive
    {query_language::cql, "abc", "abc", true},
    {query_language::cql, "abc", "ABC", false},
    {query_language::cql, ".*", "", true},
    {query_language::cql, ".*", "anything", true},
    {query_language::cql, "vm.*", "vm-01", true},
    {query_language::cql, "vm.", "vm1", true},
    {query_language::cql, "vm.", "vm12", false},
    {query_language::cql, "ab*c", "ac", true},
    {query_language::cql, "ab*c", "abbbc", true},
    {query_language::cql, "ab*c", "abxc", false},
    {query_language::cql, "[0-9]*", "12345", true},
    {query_language::cql, "[0-9]*", "123a5", false},
    {query_language::cql, "[^0-9].*", "x1", true},
    {query_language::cql, "[^0-9].*", "1x", false},
    {query_language::cql, "a\\.b", "a.b", true},
    {query_language::cql, "a\\.b", "axb", false},
    {query_language::cql, "a\\*", "a*", true},
    {query_language::cql, "100%", "100%", true},  // WQL metacharacters are literal in CQL
    {query_language::cql, "_", "x", false},
};

}  // namespace

TEST_CASE("like_pattern: WQL and CQL patterns match whole strings", "[cimom][query][like]") {
  for (const auto& c : like_cases) {
    INFO((c.lang == query_language::wql ? "WQL " : "CQL ")
         << "'" << c.pattern << "' vs '" << c.text << "'");
    const auto p = like_pattern::compile(c.lang, c.pattern, 1);
    REQUIRE(p);
    CHECK(p->matches(c.text) == c.expected);
  }
}

TEST_CASE("like_pattern: malformed patterns are invalid queries", "[cimom][query][like]") {
  struct bad {
    query_language lang;
    const char* pattern;
    const char* message;
  };
  const bad cases[] = {
      {query_language::wql, "[abc", "unterminated '['"},
      {query_language::wql, "x[^", "unterminated '['"},
      {query_language::cql, "*a", "'*' in a LIKE pattern must follow"},
      {query_language::cql, "a**", "'*' in a LIKE pattern must follow"},
      {query_language::cql, "a\\", "lone '\\'"},
      {query_language::cql, "[a-", "unterminated '['"},
  };
  for (const auto& c : cases) {
    INFO(c.pattern);
    const auto p = like_pattern::compile(c.lang, c.pattern, 7);
    REQUIRE_FALSE(p);
    CHECK(p.error().code == errc::invalid_query);
    CHECK_THAT(p.error().description, Catch::Contains(c.message) && Catch::Contains("column 7"));
  }
}

TEST_CASE("like_pattern: a long text against a pathological pattern stays fast",
          "[cimom][query][like]") {
  // Backtracking matchers take exponential time here; the row-by-row matcher is linear per element.
  const std::string text(20000, 'a');
  const auto p = like_pattern::compile(query_language::wql, "%a%a%a%a%a%a%a%a%b", 1);
  REQUIRE(p);
  CHECK_FALSE(p->matches(text));
  CHECK(p->matches(text + "b"));
}

TEST_CASE("like_pattern: invalid UTF-8 bytes match as themselves", "[cimom][query][like]") {
  const auto p = like_pattern::compile(query_language::wql, "a_c", 1);
  REQUIRE(p);
  CHECK(
      p->matches("a\xFF"
                 "c"));
  CHECK_FALSE(
      p->matches("a\xFF\xFF"
                 "c"));
}
