#pragma once
// POSIX implementation of storage::file: pread/pwrite/fdatasync, optionally O_DIRECT.

#include <memory>
#include <string>

#include "storage/file.hpp"

namespace vsnapd::storage {

/// How open_posix_file opens a path.
struct posix_open_options {
  bool writable = false;  ///< O_RDWR instead of O_RDONLY
  bool create = false;    ///< O_CREAT|O_TRUNC (implies writable)
  bool direct = false;    ///< O_DIRECT: no page cache. Unaligned requests go through an
                          ///< aligned bounce buffer (correct but slower).
};

/// Opens `path`. Errors: errc::not_found, errc::read_only (EACCES/EROFS), errc::io_error;
/// errc::unsupported_feature when O_DIRECT is refused by the file system (EINVAL).
/// The detail (path and errno text) is available from last_error_detail().
[[nodiscard]] result<std::unique_ptr<file>> open_posix_file(const std::string& path,
                                                            const posix_open_options& options);

}  // namespace vsnapd::storage
