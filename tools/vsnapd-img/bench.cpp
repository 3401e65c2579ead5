#include "tools/vsnapd-img/bench.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace vsnapd::img {

namespace {

// splitmix64: a fixed, seedable sequence so random runs are repeatable across tools and runs.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct aligned_free {
  void operator()(std::byte* p) const { std::free(p); }
};

}  // namespace

std::uint64_t bench_offset(const bench_options& o, std::uint64_t disk_size, std::uint64_t index) {
  if (disk_size < o.size) {
    return 0;
  }
  if (o.random) {
    const std::uint64_t slots = (disk_size - o.size) / o.size + 1;
    return (mix(index) % slots) * o.size;
  }
  const std::uint64_t step = o.step == 0 ? o.size : o.step;
  std::uint64_t off = (o.offset + index * step) % disk_size;
  // A request that would run past the end wraps to the start, like a fresh lap.
  if (off + o.size > disk_size) {
    off = 0;
  }
  return off;
}

result<double> run_bench(const bench_options& o, std::uint64_t disk_size, const bench_io& io,
                         const bench_flush& flush) {
  const unsigned depth = o.depth == 0 ? 1 : o.depth;
  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> writes_done{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  error_code first_error;

  const auto worker = [&] {
    const std::size_t alloc = (o.size + 4095) / 4096 * 4096;
    std::unique_ptr<std::byte, aligned_free> mem(static_cast<std::byte*>(std::aligned_alloc(4096, alloc)));
    std::memset(mem.get(), o.pattern, alloc);
    const std::span<std::byte> buf(mem.get(), o.size);
    for (;;) {
      const std::uint64_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= o.count || failed.load(std::memory_order_relaxed)) {
        return;
      }
      result<void> r = io(o.write, bench_offset(o, disk_size, i), buf);
      if (r && o.write && o.flush_interval != 0 &&
          (writes_done.fetch_add(1, std::memory_order_relaxed) + 1) % o.flush_interval == 0) {
        r = flush();
      }
      if (!r) {
        std::lock_guard lock(error_mutex);
        if (!failed.exchange(true)) {
          first_error = r.error();
        }
        return;
      }
    }
  };

  const auto t0 = std::chrono::steady_clock::now();
  if (depth == 1) {
    worker();  // no thread hand-off at QD1: the caller's thread issues every request
  } else {
    std::vector<std::jthread> threads;
    threads.reserve(depth);
    for (unsigned t = 0; t < depth; ++t) {
      threads.emplace_back(worker);
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (failed) {
    return first_error;
  }
  return std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace vsnapd::img
