#include "cimom/mof/literal.hpp"

#include "common/text.hpp"

#include <charconv>

namespace vsnapd::cim::mof {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Decodes one escape starting at body[i] == '\\'. Advances i past it; appends to out.
escape_status decode_escape(std::string_view body, std::size_t& i, std::string& out) {
  ++i;  // the backslash
  if (i >= body.size()) {
    out += '\\';
    return escape_status::unknown_escape;
  }
  const char c = body[i++];
  switch (c) {
    case 'b':
      out += '\b';
      return escape_status::ok;
    case 't':
      out += '\t';
      return escape_status::ok;
    case 'n':
      out += '\n';
      return escape_status::ok;
    case 'f':
      out += '\f';
      return escape_status::ok;
    case 'r':
      out += '\r';
      return escape_status::ok;
    case '"':
    case '\'':
    case '\\':
      out += c;
      return escape_status::ok;
    case 'x':
    case 'X': {
      // DSP0004: 1 to 4 hex digits, a UCS-2 character.
      char32_t cp = 0;
      std::size_t n = 0;
      while (n < 4 && i < body.size() && hex_value(body[i]) >= 0) {
        cp = cp * 16 + static_cast<char32_t>(hex_value(body[i]));
        ++i;
        ++n;
      }
      if (n == 0) {
        out += c;
        return escape_status::missing_hex_digits;
      }
      append_utf8(out, cp);
      return escape_status::ok;
    }
    default:
      out += c;
      return escape_status::unknown_escape;
  }
}

}  // namespace

integer_literal parse_integer_literal(std::string_view s) {
  integer_literal r;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    r.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 1 && (s.back() == 'b' || s.back() == 'B')) {
    base = 2;
    s.remove_suffix(1);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
  }
  for (const char c : s) {
    const auto d = static_cast<std::uint64_t>(hex_value(c));
    if (r.magnitude > (UINT64_MAX - d) / base) {
      r.overflow = true;
      return r;
    }
    r.magnitude = r.magnitude * base + d;
  }
  return r;
}

double parse_real_literal(std::string_view s) {
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
  }
  double v = 0;
  // from_chars is exact (round to nearest) and locale independent, unlike strtod.
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

escape_status decode_string_body(std::string_view body, std::string& out,
                                 std::size_t& problem_offset) {
  escape_status first = escape_status::ok;
  std::size_t i = 0;
  while (i < body.size()) {
    const std::size_t run = body.find('\\', i);
    if (run == std::string_view::npos) {
      out.append(body.substr(i));
      break;
    }
    out.append(body.substr(i, run - i));
    i = run;
    const escape_status s = decode_escape(body, i, out);
    if (s != escape_status::ok && first == escape_status::ok) {
      first = s;
      problem_offset = run;
    }
  }
  return first;
}

namespace {

// One UTF-8 encoded character in the Basic Multilingual Plane, and nothing else.
bool single_bmp_char(std::string_view body, char16_t& out) {
  if (body.empty()) {
    return false;
  }
  const auto b0 = static_cast<unsigned char>(body[0]);
  char32_t cp = 0;
  std::size_t len = 1;
  if (b0 < 0x80) {
    cp = b0;
  } else if ((b0 & 0xE0) == 0xC0 && body.size() >= 2) {
    cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(body[1]) & 0x3Fu);
    len = 2;
  } else if ((b0 & 0xF0) == 0xE0 && body.size() >= 3) {
    cp = ((b0 & 0x0Fu) << 12) | ((static_cast<unsigned char>(body[1]) & 0x3Fu) << 6) |
         (static_cast<unsigned char>(body[2]) & 0x3Fu);
    len = 3;
  } else {
    return false;
  }
  if (len != body.size()) {
    return false;
  }
  out = static_cast<char16_t>(cp);
  return true;
}

}  // namespace

bool decode_char16_body(std::string_view body, char16_t& out) {
  if (body.empty() || body[0] != '\\') {
    return single_bmp_char(body, out);
  }
  std::size_t i = 0;
  std::string decoded;
  if (decode_escape(body, i, decoded) != escape_status::ok || i != body.size()) {
    return false;
  }
  return single_bmp_char(decoded, out);
}

}  // namespace vsnapd::cim::mof
