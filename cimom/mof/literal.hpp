#pragma once
// Decoding of MOF literals (DSP0004 Annex A): integers in all four bases, reals, char16 and
// string escapes. Kept apart from the parser so values are parsed exactly and testable alone.

#include <cstdint>
#include <string>
#include <string_view>

namespace vsnapd::cim::mof {

/// An integer literal as sign + 64-bit magnitude; `overflow` if the magnitude needs more bits.
struct integer_literal {
  bool negative = false;
  bool overflow = false;
  std::uint64_t magnitude = 0;
};

/// Parses a lexeme the lexer classified as an integer: [sign] decimal, 0x hex, 0 octal or
/// binary with a trailing b/B. Precondition: the lexeme is well formed.
integer_literal parse_integer_literal(std::string_view lexeme);

/// Parses a real lexeme exactly (correctly rounded to double). Precondition: well formed.
double parse_real_literal(std::string_view lexeme);


/// The outcome of decoding one escape sequence.
enum class escape_status : std::uint8_t { ok, unknown_escape, missing_hex_digits };

/// Decodes the body of a string literal (between the quotes) into UTF-8, appending to @p out.
/// Unknown escapes (`\q`) keep the character and `\x` without digits keeps an 'x', as lenient
/// compilers do; the first problem is returned with its byte offset in @p body so the caller
/// can warn about it.
escape_status decode_string_body(std::string_view body, std::string& out,
                                 std::size_t& problem_offset);

/// Decodes a char16 literal body (between the quotes) to one UTF-16 code unit.
/// @return false if the body is not exactly one character or escape (or is beyond U+FFFF).
bool decode_char16_body(std::string_view body, char16_t& out);

}  // namespace vsnapd::cim::mof
