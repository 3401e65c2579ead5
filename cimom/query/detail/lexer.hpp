#pragma once
// Tokens of WQL and CQL. One lexer serves both: the languages share their lexical structure, and
// the few differences (CQL binary literals) are switched by the language.

#include "cimom/error.hpp"
#include "cimom/query/query.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim::ql {

/// Token kinds.
enum class tok : std::uint8_t {
  identifier,  ///< a name or keyword (keywords are recognized by the parser, case-insensitively)
  string,      ///< a quoted string, escapes resolved
  integer,     ///< a non-negative integer literal, value in `u`
  real,        ///< a real literal, value in `r`
  path,        ///< `{...}`: the object path text between the braces
  punct,       ///< an operator or punctuation, spelled in `text`
  end,         ///< end of input
};

/// One token with its 1-based column.
struct token {
  tok kind = tok::end;
  std::string text;  ///< identifier/punct spelling, string contents, path text, number as written
  std::uint64_t u = 0;
  double r = 0;
  std::size_t column = 0;
};

/// Splits `text` into tokens, ending with a tok::end token.
/// @return the tokens, or errc::invalid_query naming the column of an unterminated string or path,
/// a malformed or out-of-range number, or a character that starts no token.
result<std::vector<token>> tokenize(query_language lang, std::string_view text);

/// "WQL query, column N: what" - the one diagnostic format of the query module.
error query_error(query_language lang, std::size_t column, std::string_view what);

/// Rewrites a WMI object path (`\\HOST\root\ns:Class.Key='v'`) into the DSP0207 form that
/// object_path::parse reads (`//HOST/root/ns:Class.Key="v"`); other paths pass through unchanged.
std::string normalize_wmi_path(std::string_view p);

}  // namespace vsnapd::cim::ql
