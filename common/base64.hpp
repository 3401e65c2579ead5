#pragma once
// Base64 (RFC 4648, standard alphabet with padding), for HTTP Basic credentials and
// password-hash encodings.

#include <optional>
#include <string>
#include <string_view>

namespace vsnapd {

/// Encodes bytes as padded base64.
std::string base64_encode(std::string_view bytes);

/// Decodes padded base64. Returns nullopt on any character outside the alphabet, bad
/// padding, or a length that is not a multiple of four.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace vsnapd
