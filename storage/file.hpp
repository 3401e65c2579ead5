#pragma once
// The one seam every byte of image I/O goes through (STYLE rule 31), so tests can swap in
// tests/fakes/storage/mem_file and inject torn writes, EIO and ENOSPC.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/error.hpp"

namespace vsnapd::storage {

/// A random-access byte file. Implementations: posix_file (storage/posix_file.hpp) and the
/// fault-injecting mem_file (tests/fakes/storage/mem_file.hpp).
///
/// Thread safety: read_at/write_at/flush may be called concurrently from several threads for
/// disjoint ranges; overlapping concurrent writes have no defined order. resize() must not run
/// concurrently with anything else.
class file {
 public:
  virtual ~file() = default;

  /// Reads exactly `buf.size()` bytes at `offset`. Bytes beyond the end of the file read as
  /// zero (qcow2 allows clusters that were allocated but never written past EOF).
  /// @return errc::io_error on a device error.
  [[nodiscard]] virtual result<void> read_at(std::uint64_t offset, std::span<std::byte> buf) = 0;

  /// Writes all of `buf` at `offset`, extending the file if needed. Not durable until flush().
  /// @return errc::io_error, errc::no_space, or errc::read_only for a read-only file.
  [[nodiscard]] virtual result<void> write_at(std::uint64_t offset,
                                              std::span<const std::byte> buf) = 0;

  /// Makes every completed write durable (fdatasync). The ordering barrier of the image code.
  [[nodiscard]] virtual result<void> flush() = 0;

  /// The current file size in bytes.
  [[nodiscard]] virtual result<std::uint64_t> size() = 0;

  /// Sets the file size; growing reads as zeros.
  [[nodiscard]] virtual result<void> resize(std::uint64_t new_size) = 0;

  /// The alignment (bytes) at which offset, length and buffer address avoid a bounce copy:
  /// 1 for buffered files, the logical block size (512 or 4096) for O_DIRECT files.
  [[nodiscard]] virtual std::size_t alignment() const = 0;

  /// The name used in error messages (the path for posix files).
  [[nodiscard]] virtual const std::string& name() const = 0;
};

}  // namespace vsnapd::storage
