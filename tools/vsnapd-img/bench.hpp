#pragma once
// The I/O driver of `vsnapd-img bench`: qemu-img bench's request pattern (count, queue depth,
// size, step, start offset, fill pattern) issued in-process against any synchronous I/O
// function. Queue depth d is d threads each keeping one request in flight, which is what
// qemu's thread-pool AIO does under `qemu-img bench` (aio=threads).

#include "common/error.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

namespace vsnapd::img {

/// qemu-img bench's options and defaults.
struct bench_options {
  std::uint64_t count = 75000;       ///< -c: requests in total
  unsigned depth = 64;               ///< -d: requests in flight
  std::uint64_t size = 4096;         ///< -s: bytes per request
  std::uint64_t step = 0;            ///< -S: offset increment; 0 means `size`
  std::uint64_t offset = 0;          ///< -o: first offset
  bool write = false;                ///< -w
  std::uint8_t pattern = 0;          ///< --pattern: byte written
  bool random = false;               ///< --random (vsnapd extension): uniform aligned offsets
  std::uint64_t flush_interval = 0;  ///< --flush-interval: flush after this many writes
};

/// One synchronous request: read or write `buf` at guest `offset`. Called concurrently from
/// `depth` threads for distinct requests.
using bench_io = std::function<result<void>(bool write, std::uint64_t offset, std::span<std::byte> buf)>;
/// Makes writes durable (used by --flush-interval).
using bench_flush = std::function<result<void>()>;

/// The offset of request `index` (0-based) for a disk of `disk_size` bytes, wrapping as
/// qemu-img bench does (offset modulo disk size).
std::uint64_t bench_offset(const bench_options& o, std::uint64_t disk_size, std::uint64_t index);

/// Runs the benchmark. Buffers are 4096-aligned so O_DIRECT needs no bounce copy.
/// @return the wall time in seconds, or the first request's error.
[[nodiscard]] result<double> run_bench(const bench_options& o, std::uint64_t disk_size,
                                       const bench_io& io, const bench_flush& flush);

}  // namespace vsnapd::img
