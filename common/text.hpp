#pragma once
// Small ASCII text helpers for protocol parsing (HTTP header values, SOAP tokens), where
// comparisons are case-insensitive by specification and locale must not matter.

#include <algorithm>
#include <string_view>

namespace vsnapd {

/// ASCII case-insensitive equality (HTTP scheme names, media types, charsets).
inline bool iequals(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

/// Strips HTTP optional white space (spaces and tabs) from both ends (RFC 9110 section 5.6.3).
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace vsnapd
