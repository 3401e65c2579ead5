#include "cimom/query/detail/lexer.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace vsnapd::cim::ql {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

error query_error(query_language lang, std::size_t column, std::string_view what) {
  return fail(errc::invalid_query, std::string(lang == query_language::wql ? "WQL" : "CQL") +
                                       " query, column " + std::to_string(column) + ": " +
                                       std::string(what));
}

result<std::vector<token>> tokenize(query_language lang, std::string_view text) {
  std::vector<token> out;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (true) {
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) {
      ++i;
    }
    token t;
    t.column = i + 1;
    if (i == n) {
      out.push_back(std::move(t));
      return out;
    }
    const char c = text[i];
    if (is_ident_start(c)) {
      const std::size_t start = i;
      while (i < n && is_ident_char(text[i])) {
        ++i;
      }
      t.kind = tok::identifier;
      t.text = std::string(text.substr(start, i - start));
    } else if (c == '\'' || c == '"') {
      // Both languages escape with a backslash (WQL 'C:\\Windows', CQL '\''); the common
      // control escapes are resolved, any other escaped character stands for itself.
      ++i;
      bool closed = false;
      while (i < n) {
        char ch = text[i++];
        if (ch == c) {
          closed = true;
          break;
        }
        if (ch == '\\' && i < n) {
          ch = text[i++];
          switch (ch) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            default: break;
          }
        }
        t.text += ch;
      }
      if (!closed) {
        return query_error(lang, t.column, "unterminated string literal");
      }
      t.kind = tok::string;
    } else if (is_digit(c)) {
      // Numbers: decimal and hex integers up to UINT64_MAX (a sign is the parser's business, so
      // -9223372036854775808 works), reals with a fraction or exponent, CQL binary 101b. A number
      // running into letters (12ab) is an error here rather than two tokens.
      const std::size_t start = i;
      if (c == '0' && i + 1 < n && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
        i += 2;
        const std::size_t digits = i;
        while (i < n && is_hex(text[i])) {
          ++i;
        }
        const auto [p, ec] = std::from_chars(text.data() + digits, text.data() + i, t.u, 16);
        if (i == digits || ec != std::errc{}) {
          return query_error(lang, t.column, "malformed or out-of-range hexadecimal literal");
        }
        t.kind = tok::integer;
      } else {
        while (i < n && is_digit(text[i])) {
          ++i;
        }
        bool is_real = false;
        if (i < n && text[i] == '.' && i + 1 < n && is_digit(text[i + 1])) {
          is_real = true;
          ++i;
          while (i < n && is_digit(text[i])) {
            ++i;
          }
        }
        if (i < n && (text[i] == 'e' || text[i] == 'E')) {
          std::size_t j = i + 1;
          if (j < n && (text[j] == '+' || text[j] == '-')) {
            ++j;
          }
          if (j < n && is_digit(text[j])) {
            is_real = true;
            i = j;
            while (i < n && is_digit(text[i])) {
              ++i;
            }
          }
        }
        const std::string_view digits = text.substr(start, i - start);
        if (is_real) {
          // strtod, not from_chars, for portability of the real parse across libstdc++ versions.
          const std::string s(digits);
          errno = 0;
          t.r = std::strtod(s.c_str(), nullptr);
          if (errno == ERANGE && (t.r > 1 || t.r < -1)) {
            return query_error(lang, t.column, "real literal out of range");
          }
          t.kind = tok::real;
        } else if (lang == query_language::cql && i < n && (text[i] == 'b' || text[i] == 'B') &&
                   digits.find_first_not_of("01") == std::string_view::npos &&
                   (i + 1 == n || !is_ident_char(text[i + 1]))) {
          // DSP0202 binary literal: 1011B
          const auto [p, ec] =
              std::from_chars(digits.data(), digits.data() + digits.size(), t.u, 2);
          if (ec != std::errc{}) {
            return query_error(lang, t.column, "binary literal out of range");
          }
          ++i;
          t.kind = tok::integer;
        } else {
          const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.u);
          if (ec != std::errc{}) {
            return query_error(
                lang, t.column,
                "integer literal " + std::string(digits) + " is out of the 64-bit range");
          }
          t.kind = tok::integer;
        }
      }
      if (i < n && is_ident_char(text[i])) {
        return query_error(
            lang, t.column,
            "malformed number '" + std::string(text.substr(start, i + 1 - start)) + "'");
      }
      t.text = std::string(text.substr(start, i - start));
    } else if (c == '{') {
      // `{...}` appears only after ASSOCIATORS OF / REFERENCES OF; lexing it whole keeps the
      // object path syntax (quotes, '=', ',', ':') out of the query grammar.
      // An object path: read to the matching '}' outside quoted key values.
      ++i;
      const std::size_t start = i;
      char quote = 0;
      bool closed = false;
      while (i < n) {
        const char ch = text[i];
        if (quote != 0) {
          if (ch == '\\') {
            ++i;
          } else if (ch == quote) {
            quote = 0;
          }
        } else if (ch == '"' || ch == '\'') {
          quote = ch;
        } else if (ch == '}') {
          closed = true;
          break;
        }
        ++i;
      }
      if (!closed) {
        return query_error(lang, t.column, "unterminated object path: expected '}'");
      }
      t.kind = tok::path;
      t.text = std::string(text.substr(start, i - start));
      ++i;
    } else {
      static constexpr std::string_view two[] = {"<>", "!=", "<=", ">=", "::", "||"};
      t.kind = tok::punct;
      for (const auto p : two) {
        if (text.substr(i, 2) == p) {
          t.text = std::string(p);
          break;
        }
      }
      if (t.text.empty()) {
        if (std::string_view("=<>(),.*-+/[]#;").find(c) == std::string_view::npos) {
          return query_error(lang, t.column, std::string("unexpected character '") + c + "'");
        }
        t.text = std::string(1, c);
      }
      i += t.text.size();
    }
    out.push_back(std::move(t));
  }
}

// WMI writes source paths as `\\HOST\root\ns:Class.Key='v'`; object_path::parse reads the DSP0207
// form `//host/root/ns:Class.Key="v"`. Rewrite the host prefix and single-quoted values.
std::string normalize_wmi_path(std::string_view p) {
  while (!p.empty() && p.front() == ' ') {
    p.remove_prefix(1);
  }
  while (!p.empty() && p.back() == ' ') {
    p.remove_suffix(1);
  }
  std::string out;
  std::size_t i = 0;
  if (p.starts_with("\\\\")) {
    const std::size_t sep = p.find('\\', 2);
    if (sep != std::string_view::npos) {
      out = "//" + std::string(p.substr(2, sep - 2)) + "/";
      i = sep + 1;
    }
  }
  while (i < p.size()) {
    const char c = p[i];
    if (c == '"') {
      // copy a double-quoted value verbatim, escapes included
      out += c;
      ++i;
      while (i < p.size()) {
        out += p[i];
        if (p[i] == '\\' && i + 1 < p.size()) {
          out += p[++i];
        } else if (p[i] == '"') {
          ++i;
          break;
        }
        ++i;
      }
    } else if (c == '\'') {
      out += '"';
      ++i;
      while (i < p.size() && p[i] != '\'') {
        if (p[i] == '\\' && i + 1 < p.size()) {
          out += p[i];
          out += p[i + 1];
          i += 2;
          continue;
        }
        if (p[i] == '"') {
          out += '\\';
        }
        out += p[i++];
      }
      out += '"';
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

}  // namespace vsnapd::cim::ql
