#include "common/xml/parse.hpp"

namespace vsnapd::xml {

namespace {

// The offset of the first byte that does not belong to a well-formed UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF included), or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      lo = b == 0xE0 ? 0xA0 : 0x80;
      hi = b == 0xED ? 0x9F : 0xBF;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      lo = b == 0xF0 ? 0x90 : 0x80;
      hi = b == 0xF4 ? 0x8F : 0xBF;
    } else {
      return i;
    }
    if (i + len > s.size()) {
      return i;
    }
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < lo || second > hi) {
      return i;
    }
    for (std::size_t k = 2; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        return i;
      }
    }
    i += len;
  }
  return std::string_view::npos;
}

// True when pugixml will read `text` as UTF-8: no UTF-16/32 byte-order mark or NUL bytes at the
// start, and no XML declaration naming another encoding. Only then are its bytes checked, since
// pugixml passes invalid UTF-8 through and a reply that echoes them would not be XML either.
bool read_as_utf8(std::string_view text) {
  if (text.size() >= 2 && ((text[0] == '\xFE' && text[1] == '\xFF') || (text[0] == '\xFF' && text[1] == '\xFE'))) {
    return false;
  }
  if (text.substr(0, 4).find('\0') != std::string_view::npos) {
    return false;
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    text.remove_prefix(3);
  }
  if (text.substr(0, 5) != "<?xml") {
    return true;
  }
  const std::string_view decl = text.substr(0, text.find("?>"));
  const auto at = decl.find("encoding");
  if (at == std::string_view::npos) {
    return true;
  }
  const auto quote = decl.find_first_of("\"'", at);
  if (quote == std::string_view::npos) {
    return true;
  }
  const auto end = decl.find(decl[quote], quote + 1);
  std::string name(decl.substr(quote + 1, end == std::string_view::npos ? 0 : end - quote - 1));
  for (auto& c : name) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return name == "utf-8" || name == "utf8";
}

}  // namespace

std::string_view to_string(parse_errc e) {
  switch (e) {
    case parse_errc::empty:
      return "empty";
    case parse_errc::too_large:
      return "too_large";
    case parse_errc::not_wellformed:
      return "not_wellformed";
    case parse_errc::has_doctype:
      return "has_doctype";
  }
  return "unknown";
}

std::optional<parse_error> parse_in_place(pugi::xml_document& doc, std::string& text,
                                          std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    return parse_error{parse_errc::too_large, max_bytes,
                       "document of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                           std::to_string(max_bytes)};
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return parse_error{parse_errc::empty, 0, "empty document"};
  }
  if (read_as_utf8(text)) {
    if (const auto at = invalid_utf8_at(text); at != std::string_view::npos) {
      return parse_error{parse_errc::not_wellformed, at,
                         "invalid UTF-8 at byte " + std::to_string(at)};
    }
  }
  // parse_doctype keeps a DOCTYPE as a node so that we can refuse it rather than skip it
  // silently; pugixml never expands entities beyond the five predefined ones either way.
  const unsigned options = pugi::parse_default | pugi::parse_doctype;
  const pugi::xml_parse_result r =
      doc.load_buffer_inplace(text.data(), text.size(), options, pugi::encoding_auto);
  if (!r) {
    return parse_error{parse_errc::not_wellformed, static_cast<std::size_t>(r.offset),
                       std::string(r.description()) + " at byte " + std::to_string(r.offset)};
  }
  // pugixml accepts several top-level elements; XML allows exactly one (two envelopes sent
  // back to back must not be answered as if only the first had come).
  int roots = 0;
  for (pugi::xml_node n = doc.first_child(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_doctype) {
      return parse_error{parse_errc::has_doctype, 0, "document type declarations are not allowed"};
    }
    if (n.type() == pugi::node_element && ++roots > 1) {
      return parse_error{parse_errc::not_wellformed, static_cast<std::size_t>(n.offset_debug()),
                         "more than one root element"};
    }
  }
  if (!doc.document_element()) {
    return parse_error{parse_errc::not_wellformed, 0, "no root element"};
  }
  return std::nullopt;
}

}  // namespace vsnapd::xml
