#pragma once
// Escaping for XML text and attribute values we write (the five predefined entities, plus
// CR/LF/TAB in attributes so that they survive attribute-value normalization).

#include <string>
#include <string_view>

namespace vsnapd::xml {

/// Appends `text` to `out`, escaped for element content or a double-quoted attribute.
void append_escaped(std::string& out, std::string_view text);

}  // namespace vsnapd::xml
