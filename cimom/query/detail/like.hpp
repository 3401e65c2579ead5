#pragma once
// LIKE patterns of WQL and CQL, compiled once per query and matched against whole strings.
// WQL (MS-WMI 2.2.1): `%` any run of characters, `_` any one character, `[abc]`, `[a-z]` and
// `[^abc]` sets; every other character, `%` and `_` inside brackets included, stands for itself.
// CQL (DSP0202 basic regular expressions): `.` any one character, `x*` zero or more of the
// preceding element, `[...]` / `[^...]` sets, `\x` the character x itself.
// Matching is by Unicode code point (the UTF-8 text is decoded), case-insensitive for WQL (ASCII
// letters only, see query.hpp) and case-sensitive for CQL.

#include "cimom/error.hpp"
#include "cimom/query/query.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim::ql {

/// A compiled LIKE pattern.
class like_pattern {
 public:
  /// Compiles `pattern`. @return errc::invalid_query for an unterminated '[' set, a CQL '*' with
  /// nothing before it or a trailing '\' (`column` locates the pattern in the query).
  static result<like_pattern> compile(query_language lang, std::string_view pattern,
                                      std::size_t column);

  /// True when the whole of `text` matches. Runs in O(pattern * text) time and O(text) space,
  /// whatever the pattern (no exponential backtracking on `%a%a%a%b`).
  bool matches(std::string_view text) const;

 private:
  struct range {
    char32_t lo;
    char32_t hi;
  };
  struct element {
    enum class kind { literal, any, set } k = kind::literal;
    char32_t c = 0;
    std::vector<range> ranges;  ///< set
    bool negated = false;       ///< set: [^...]
    bool repeat = false;        ///< zero or more (WQL '%', CQL 'x*')
    bool accepts(char32_t ch, bool fold) const;
  };
  // The matcher over bytes (ASCII text) or decoded code points.
  template <class Text>
  bool match(Text s) const;

  std::vector<element> elements_;
  bool fold_ = false;
};

/// Decodes UTF-8 into code points; an invalid byte stands for itself (so matching never fails on
/// bad input, it only compares what is there).
std::u32string decode_utf8(std::string_view s);

}  // namespace vsnapd::cim::ql
