#pragma once
// Size-capped XML parsing (STYLE rule 26): the cap is checked before pugixml sees a byte, and
// pugixml's status plus byte offset become a typed error the protocol layer maps to a fault.

#include <pugixml.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vsnapd::xml {

enum class parse_errc : std::uint8_t {
  empty,          ///< no bytes, or only white space
  too_large,      ///< more bytes than the caller's limit
  not_wellformed, ///< pugixml rejected the text
  has_doctype,    ///< a DOCTYPE: SOAP and CIM-XML forbid DTDs, and we never process them
};

/// Name of a parse_errc for logs and tests.
std::string_view to_string(parse_errc e);

struct parse_error {
  parse_errc code;
  std::size_t offset;       ///< byte offset of the problem (0 when not applicable)
  std::string description;  ///< human-readable reason, e.g. "end tag mismatch at byte 120"
};

/// Parses `text` into `doc` in place (the buffer is modified and must outlive `doc`).
/// No DTD or entity processing is ever done.
/// @return nullopt on success, or the reason the text is not acceptable XML.
[[nodiscard]] std::optional<parse_error> parse_in_place(pugi::xml_document& doc, std::string& text,
                                                        std::size_t max_bytes);

}  // namespace vsnapd::xml
