#include "cimom/query/detail/like.hpp"

#include "cimom/query/detail/lexer.hpp"

#include <algorithm>

namespace vsnapd::cim::ql {
namespace {

char32_t fold(char32_t c) {
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

}  // namespace

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t cp = 0;
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    }
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      ok = (cont & 0xC0) == 0x80;
      cp = (cp << 6) | (cont & 0x3F);
    }
    if (!ok) {
      out += static_cast<char32_t>(b);
      ++i;
      continue;
    }
    out += cp;
    i += static_cast<std::size_t>(len);
  }
  return out;
}

bool like_pattern::element::accepts(char32_t ch, bool fold_case) const {
  switch (k) {
    case kind::any: return true;
    case kind::literal: return fold_case ? fold(c) == fold(ch) : c == ch;
    case kind::set: {
      bool in = false;
      for (const auto& r : ranges) {
        if ((ch >= r.lo && ch <= r.hi) ||
            (fold_case && fold(ch) >= fold(r.lo) && fold(ch) <= fold(r.hi))) {
          in = true;
          break;
        }
      }
      return in != negated;
    }
  }
  return false;
}

result<like_pattern> like_pattern::compile(query_language lang, std::string_view pattern,
                                           std::size_t column) {
  like_pattern out;
  out.fold_ = lang == query_language::wql;
  const std::u32string p = decode_utf8(pattern);
  const bool cql = lang == query_language::cql;
  std::size_t i = 0;
  while (i < p.size()) {
    const char32_t c = p[i];
    element e;
    // Sets decode the same way in both languages; only CQL has '\' escapes inside them.
    if (c == '[') {
      // A set: '^' first negates; 'a-z' is a range; a ']' right after '[' or '[^' is literal.
      std::size_t j = i + 1;
      e.k = element::kind::set;
      if (j < p.size() && p[j] == '^') {
        e.negated = true;
        ++j;
      }
      const std::size_t first = j;
      bool closed = false;
      while (j < p.size()) {
        if (p[j] == ']' && j != first) {
          closed = true;
          break;
        }
        char32_t lo = p[j];
        if (cql && lo == '\\' && j + 1 < p.size()) {
          lo = p[++j];
        }
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          const char32_t hi = p[j + 2];
          e.ranges.push_back({lo, hi});
          j += 3;
        } else {
          e.ranges.push_back({lo, lo});
          ++j;
        }
      }
      if (!closed) {
        return query_error(lang, column, "unterminated '[' set in LIKE pattern");
      }
      i = j + 1;
    } else if (!cql && c == '%') {
      e.k = element::kind::any;
      e.repeat = true;
      ++i;
    } else if (!cql && c == '_') {
      e.k = element::kind::any;
      ++i;
    } else if (cql && c == '.') {
      e.k = element::kind::any;
      ++i;
    } else if (cql && c == '*') {
      if (out.elements_.empty() || out.elements_.back().repeat) {
        return query_error(lang, column,
                           "'*' in a LIKE pattern must follow a character, '.' or a set");
      }
      out.elements_.back().repeat = true;
      ++i;
      continue;
    } else if (cql && c == '\\') {
      if (i + 1 == p.size()) {
        return query_error(lang, column, "LIKE pattern ends with a lone '\\'");
      }
      e.c = p[i + 1];
      i += 2;
    } else {
      e.c = c;
      ++i;
    }
    out.elements_.push_back(std::move(e));
  }
  return out;
}

// Dynamic programming over (pattern element, text position), one row per element: every
// pattern costs O(elements * text) time whatever its shape, so a client cannot stall a worker
// with a pattern built to make a backtracking matcher explode.
bool like_pattern::matches(std::string_view text) const {
  // Plain ASCII (the common case: names, GUIDs, paths) needs no decoding.
  const bool ascii = std::all_of(text.begin(), text.end(),
                                 [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
  if (ascii) {
    return match(text);
  }
  return match(std::u32string_view(decode_utf8(text)));
}

template <class Text>
bool like_pattern::match(Text s) const {
  // row[j]: the elements consumed so far match the first j characters.
  std::vector<char> row(s.size() + 1, 0);
  std::vector<char> next(s.size() + 1, 0);
  row[0] = 1;
  for (const auto& e : elements_) {
    if (e.repeat) {
      next[0] = row[0];
      for (std::size_t j = 1; j <= s.size(); ++j) {
        next[j] = row[j] || (next[j - 1] && e.accepts(static_cast<char32_t>(s[j - 1]), fold_));
      }
    } else {
      next[0] = 0;
      for (std::size_t j = 1; j <= s.size(); ++j) {
        next[j] = row[j - 1] && e.accepts(static_cast<char32_t>(s[j - 1]), fold_);
      }
    }
    row.swap(next);
  }
  return row[s.size()] != 0;
}

}  // namespace vsnapd::cim::ql
