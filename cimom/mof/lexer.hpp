#pragma once
// The MOF lexer (DSP0004 Annex A): turns one file's text into tokens on demand. Tokens are views
// into the text; nothing is allocated per token. Literal values are decoded later by the parser
// (cimom/mof/literal.hpp), which knows the target type.

#include <cstdint>
#include <string_view>

#include "cimom/mof/diagnostic.hpp"

namespace vsnapd::cim::mof {

enum class token_kind : std::uint8_t {
  end,         ///< end of the file
  identifier,  ///< names and keywords (keywords are case-insensitive identifiers)
  integer,     ///< decimal, 0x hex, 0 octal or b binary, with an optional sign
  real,        ///< [sign] digits "." digits [exponent]
  string,      ///< one "..." literal including the quotes; escapes not yet decoded
  char16,      ///< one '...' literal including the quotes
  alias,       ///< $name; text excludes the '$'
  lbrace,
  rbrace,
  lparen,
  rparen,
  lbracket,
  rbracket,
  semicolon,
  colon,
  comma,
  equals,
  hash,     ///< '#', which starts a compiler directive
  invalid,  ///< the lexer already reported a diagnostic for it
};

/// Human-readable token kind for "expected X, found Y" messages.
std::string_view to_string(token_kind k);

struct token {
  token_kind kind = token_kind::end;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string_view text;
};

/// Lexes one file. Comments and whitespace are skipped; an unterminated comment, string or
/// character literal, or a stray character, is reported to @p diags and returned as `invalid`.
class lexer {
 public:
  /// @param text must outlive the lexer (it is a source_manager file's text).
  lexer(std::uint32_t file, std::string_view text, diagnostics& diags);

  /// The next token; after the end, keeps returning `end`.
  token next();

  std::uint32_t file() const { return file_; }

 private:
  void skip_space_and_comments();
  token make(token_kind kind, const char* begin, std::uint32_t line, std::uint32_t column);
  token lex_number(const char* begin, std::uint32_t line, std::uint32_t column);
  token lex_quoted(char quote, const char* begin, std::uint32_t line, std::uint32_t column);
  std::uint32_t column_of(const char* p) const {
    return static_cast<std::uint32_t>(p - line_start_) + 1;
  }

  std::uint32_t file_;
  const char* pos_;
  const char* end_;
  const char* line_start_;
  std::uint32_t line_ = 1;
  diagnostics& diags_;
};

}  // namespace vsnapd::cim::mof
