#include "common/xml/parse.hpp"

namespace vsnapd::xml {

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
