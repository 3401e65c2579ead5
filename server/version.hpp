#pragma once
// Product identity, reported by --version, the Server header and WS-Man Identify.

#include <string_view>

namespace vsnapd::server {

inline constexpr std::string_view product_name = "vsnapd";
inline constexpr std::string_view product_vendor = "vsnapd";
inline constexpr std::string_view product_version = "0.1.0";
inline constexpr std::string_view server_header = "vsnapd/0.1.0";

}  // namespace vsnapd::server
