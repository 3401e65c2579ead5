#pragma once
// Typed errors of the copy-on-write disk module (STYLE rule 15). The qcow2 engine (issue 6)
// returns these; the server maps them to CIM status and WS-Man faults.

#include "common/error_category.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace vsnapd::storage {

enum class errc : std::uint8_t {
  io_error = 1,         ///< read or write failed (EIO)
  no_space,             ///< the file system is full (ENOSPC)
  not_found,            ///< an image, backing file or snapshot does not exist
  corrupt_image,        ///< metadata is inconsistent or the corrupt bit is set
  unsupported_feature,  ///< encryption, external data file, unknown incompatible bit...
  backing_chain_loop,   ///< an image is its own ancestor
  read_only,            ///< a write to an image opened read-only
  cancelled,            ///< a long operation was cancelled; the chain stays consistent
};

inline constexpr std::array all_errcs{errc::io_error,      errc::no_space,
                                      errc::not_found,     errc::corrupt_image,
                                      errc::unsupported_feature, errc::backing_chain_loop,
                                      errc::read_only,     errc::cancelled};

std::string_view to_string(errc e);
const char* category_name(errc);

inline boost::system::error_code make_error_code(errc e) { return make_enum_error_code(e); }

}  // namespace vsnapd::storage

template <>
struct boost::system::is_error_code_enum<vsnapd::storage::errc> : std::true_type {};
