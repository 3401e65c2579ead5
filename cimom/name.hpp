#pragma once
// CIM names (classes, properties, methods, qualifiers, namespaces) compare ASCII
// case-insensitively (DSP0004 section 5.1); these helpers key maps and sort keys that way.

#include "common/text.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace vsnapd::cim {

/// ASCII lower-case of one character.
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

/// ASCII lower-case copy of a name, the form maps are keyed by.
inline std::string fold_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    c = ascii_lower(c);
  }
  return out;
}

/// Case-insensitive equality of CIM names.
inline bool name_equal(std::string_view a, std::string_view b) { return iequals(a, b); }

/// Case-insensitive strict weak order of CIM names (the canonical key order of object paths).
struct name_less {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i) {
      const char x = ascii_lower(a[i]);
      const char y = ascii_lower(b[i]);
      if (x != y) {
        return x < y;
      }
    }
    return a.size() < b.size();
  }
};

/// Case-insensitive hash and equality for unordered containers keyed by CIM names.
struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const {
    std::size_t h = 1469598103934665603ull;  // FNV-1a over the folded bytes
    for (char c : s) {
      h = (h ^ static_cast<unsigned char>(ascii_lower(c))) * 1099511628211ull;
    }
    return h;
  }
};
struct name_eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return iequals(a, b); }
};

}  // namespace vsnapd::cim
