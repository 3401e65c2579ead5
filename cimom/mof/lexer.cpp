#include "cimom/mof/lexer.hpp"

namespace vsnapd::cim::mof {

namespace {

bool is_ident_start(unsigned char c) {
  // Bytes >= 0x80 are UTF-8 sequences: DSP0004 allows non-ASCII letters in names (UNICODE
  // ranges U+0080..U+FFEF), and we do not need to classify them further.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

bool is_ident_char(unsigned char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string_view to_string(token_kind k) {
  switch (k) {
    case token_kind::end:
      return "end of file";
    case token_kind::identifier:
      return "identifier";
    case token_kind::integer:
      return "integer";
    case token_kind::real:
      return "real number";
    case token_kind::string:
      return "string";
    case token_kind::char16:
      return "char16 literal";
    case token_kind::alias:
      return "alias";
    case token_kind::lbrace:
      return "'{'";
    case token_kind::rbrace:
      return "'}'";
    case token_kind::lparen:
      return "'('";
    case token_kind::rparen:
      return "')'";
    case token_kind::lbracket:
      return "'['";
    case token_kind::rbracket:
      return "']'";
    case token_kind::semicolon:
      return "';'";
    case token_kind::colon:
      return "':'";
    case token_kind::comma:
      return "','";
    case token_kind::equals:
      return "'='";
    case token_kind::hash:
      return "'#'";
    case token_kind::invalid:
      return "invalid token";
  }
  return "token";
}

lexer::lexer(std::uint32_t file, std::string_view text, diagnostics& diags)
    : file_(file),
      pos_(text.data()),
      end_(text.data() + text.size()),
      line_start_(text.data()),
      diags_(diags) {
  // A UTF-8 byte order mark is not part of the MOF text.
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    pos_ += 3;
    line_start_ = pos_;
  }
}

token lexer::make(token_kind kind, const char* begin, std::uint32_t line, std::uint32_t column) {
  return token{kind, line, column, std::string_view(begin, static_cast<std::size_t>(pos_ - begin))};
}

void lexer::skip_space_and_comments() {
  while (pos_ < end_) {
    const char c = *pos_;
    if (c == '\n') {
      ++pos_;
      ++line_;
      line_start_ = pos_;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++pos_;
    } else if (c == '/' && pos_ + 1 < end_ && pos_[1] == '/') {
      while (pos_ < end_ && *pos_ != '\n') {
        ++pos_;
      }
    } else if (c == '/' && pos_ + 1 < end_ && pos_[1] == '*') {
      const source_location start{file_, line_, column_of(pos_)};
      pos_ += 2;
      bool closed = false;
      while (pos_ < end_) {
        if (*pos_ == '*' && pos_ + 1 < end_ && pos_[1] == '/') {
          pos_ += 2;
          closed = true;
          break;
        }
        if (*pos_ == '\n') {
          ++line_;
          line_start_ = pos_ + 1;
        }
        ++pos_;
      }
      if (!closed) {
        diags_.error(start, "unterminated comment: expected '*/' before the end of the file");
      }
    } else {
      return;
    }
  }
}

token lexer::next() {
  skip_space_and_comments();
  const std::uint32_t line = line_;
  const std::uint32_t column = column_of(pos_);
  const char* begin = pos_;
  if (pos_ >= end_) {
    return token{token_kind::end, line, column, {}};
  }
  const char c = *pos_;
  if (is_ident_start(static_cast<unsigned char>(c))) {
    while (pos_ < end_ && is_ident_char(static_cast<unsigned char>(*pos_))) {
      ++pos_;
    }
    return make(token_kind::identifier, begin, line, column);
  }
  if (is_digit(c) || ((c == '+' || c == '-' || c == '.') && pos_ + 1 < end_ &&
                      (is_digit(pos_[1]) || (c != '.' && pos_[1] == '.')))) {
    return lex_number(begin, line, column);
  }
  switch (c) {
    case '"':
    case '\'':
      return lex_quoted(c, begin, line, column);
    case '$': {
      ++pos_;
      const char* name = pos_;
      while (pos_ < end_ && is_ident_char(static_cast<unsigned char>(*pos_))) {
        ++pos_;
      }
      if (pos_ == name) {
        diags_.error({file_, line, column}, "expected an alias name after '$'");
        return make(token_kind::invalid, begin, line, column);
      }
      return token{token_kind::alias, line, column,
                   std::string_view(name, static_cast<std::size_t>(pos_ - name))};
    }
    default:
      break;
  }
  ++pos_;
  switch (c) {
    case '{':
      return make(token_kind::lbrace, begin, line, column);
    case '}':
      return make(token_kind::rbrace, begin, line, column);
    case '(':
      return make(token_kind::lparen, begin, line, column);
    case ')':
      return make(token_kind::rparen, begin, line, column);
    case '[':
      return make(token_kind::lbracket, begin, line, column);
    case ']':
      return make(token_kind::rbracket, begin, line, column);
    case ';':
      return make(token_kind::semicolon, begin, line, column);
    case ':':
      return make(token_kind::colon, begin, line, column);
    case ',':
      return make(token_kind::comma, begin, line, column);
    case '=':
      return make(token_kind::equals, begin, line, column);
    case '#':
      return make(token_kind::hash, begin, line, column);
    default:
      break;
  }
  std::string msg = "unexpected character '";
  if (static_cast<unsigned char>(c) < 0x20) {
    msg += "\\x";
    constexpr char hex[] = "0123456789abcdef";
    msg += hex[(c >> 4) & 0xF];
    msg += hex[c & 0xF];
  } else {
    msg += c;
  }
  msg += "'";
  diags_.error({file_, line, column}, std::move(msg));
  return make(token_kind::invalid, begin, line, column);
}

token lexer::lex_number(const char* begin, std::uint32_t line, std::uint32_t column) {
  // Take the longest run that could belong to a number (digits, letters, '.', and a sign
  // right after an exponent 'e'), then classify it; a malformed run is one error instead of
  // a cascade of confusing tokens.
  if (*pos_ == '+' || *pos_ == '-') {
    ++pos_;
  }
  const char* body = pos_;
  const bool hex = pos_ + 1 < end_ && pos_[0] == '0' && (pos_[1] == 'x' || pos_[1] == 'X');
  while (pos_ < end_) {
    const char c = *pos_;
    if (is_ident_char(static_cast<unsigned char>(c)) || c == '.') {
      ++pos_;
    } else if ((c == '+' || c == '-') && !hex && (pos_[-1] == 'e' || pos_[-1] == 'E')) {
      ++pos_;
    } else {
      break;
    }
  }
  const std::string_view s(body, static_cast<std::size_t>(pos_ - body));
  auto all = [&](std::string_view v, auto pred) {
    if (v.empty()) {
      return false;
    }
    for (const char ch : v) {
      if (!pred(ch)) {
        return false;
      }
    }
    return true;
  };
  auto bad = [&](const char* what) {
    diags_.error({file_, line, column},
                 std::string("malformed ") + what + " '" +
                     std::string(begin, static_cast<std::size_t>(pos_ - begin)) + "'");
    return make(token_kind::invalid, begin, line, column);
  };
  if (hex) {
    if (!all(s.substr(2), [](char ch) {
          return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
        })) {
      return bad("hexadecimal number (expected 0x followed by hex digits)");
    }
    return make(token_kind::integer, begin, line, column);
  }
  if (s.size() > 1 && (s.back() == 'b' || s.back() == 'B') &&
      all(s.substr(0, s.size() - 1), [](char ch) { return ch == '0' || ch == '1'; })) {
    return make(token_kind::integer, begin, line, column);
  }
  if (s.find('.') != std::string_view::npos || s.find_first_of("eE") != std::string_view::npos) {
    // [digits] "." 1*digit [("e"|"E") [sign] 1*digit]
    std::size_t i = 0;
    while (i < s.size() && is_digit(s[i])) {
      ++i;
    }
    bool ok = i < s.size() && s[i] == '.';
    if (ok) {
      ++i;
      const std::size_t frac = i;
      while (i < s.size() && is_digit(s[i])) {
        ++i;
      }
      ok = i > frac;
    }
    if (ok && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        ++i;
      }
      const std::size_t exp = i;
      while (i < s.size() && is_digit(s[i])) {
        ++i;
      }
      ok = i > exp;
    }
    if (!ok || i != s.size()) {
      return bad("real number (expected digits '.' digits with an optional exponent)");
    }
    return make(token_kind::real, begin, line, column);
  }
  if (!all(s, is_digit)) {
    return bad("number");
  }
  if (s.size() > 1 && s[0] == '0' && !all(s, [](char ch) { return ch >= '0' && ch <= '7'; })) {
    return bad("octal number (a leading 0 means octal; expected digits 0-7)");
  }
  return make(token_kind::integer, begin, line, column);
}

token lexer::lex_quoted(char quote, const char* begin, std::uint32_t line, std::uint32_t column) {
  ++pos_;
  while (pos_ < end_) {
    const char c = *pos_;
    if (c == '\\' && pos_ + 1 < end_ && pos_[1] != '\n') {
      pos_ += 2;
      continue;
    }
    if (c == quote) {
      ++pos_;
      return make(quote == '"' ? token_kind::string : token_kind::char16, begin, line, column);
    }
    if (c == '\n') {
      break;
    }
    ++pos_;
  }
  diags_.error({file_, line, column}, quote == '"'
                                          ? "unterminated string: expected '\"' before the end "
                                            "of the line"
                                          : "unterminated char16 literal: expected \"'\" before "
                                            "the end of the line");
  return make(token_kind::invalid, begin, line, column);
}

}  // namespace vsnapd::cim::mof
