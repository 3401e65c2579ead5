#pragma once
// Typed errors of the copy-on-write disk module (STYLE rule 15). The qcow2 engine (issue 6)
// returns these; the server maps them to CIM status and WS-Man faults.

#include "common/error_category.hpp"

#include <array>
#include <cstdint>
#include <string>
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
  invalid_argument,     ///< a request outside the image, a bad size or option, a duplicate name
};

inline constexpr std::array all_errcs{errc::io_error,      errc::no_space,
                                      errc::not_found,     errc::corrupt_image,
                                      errc::unsupported_feature, errc::backing_chain_loop,
                                      errc::read_only,     errc::cancelled,
                                      errc::invalid_argument};

std::string_view to_string(errc e);
const char* category_name(errc);

inline boost::system::error_code make_error_code(errc e) { return make_enum_error_code(e); }

/// The human-readable context of the last storage error raised on this thread: which file,
/// which offset, which rule ("L2 table at 0x50000 in 'a.qcow2' lies beyond the end of the
/// file"). Empty when the last failing call added none. Callers show it next to the errc.
const std::string& last_error_detail();

/// Records `detail` as this thread's last_error_detail() and returns `e` as an error_code;
/// for use inside the storage module: `return fail(errc::corrupt_image, "...")`.
boost::system::error_code fail(errc e, std::string detail);

}  // namespace vsnapd::storage

template <>
struct boost::system::is_error_code_enum<vsnapd::storage::errc> : std::true_type {};
