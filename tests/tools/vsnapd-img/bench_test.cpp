#include "tools/vsnapd-img/bench.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <vector>

namespace vsnapd::img {
namespace {

TEST_CASE("bench: offsets step, start at -o and wrap like qemu-img bench", "[img_cli][bench]") {
  bench_options o;
  o.size = 4096;
  CHECK(bench_offset(o, 1 << 20, 0) == 0);
  CHECK(bench_offset(o, 1 << 20, 3) == 3 * 4096);
  CHECK(bench_offset(o, 1 << 20, 256) == 0);  // one lap of a 1 MiB disk
  o.step = 65536;
  o.offset = 8192;
  CHECK(bench_offset(o, 1 << 20, 1) == 8192 + 65536);
  CHECK(bench_offset(o, 1 << 20, 16) == 8192);
  o.offset = (1 << 20) - 2048;  // a request that would run past the end starts over
  CHECK(bench_offset(o, 1 << 20, 0) == 0);
}

TEST_CASE("bench: random offsets are aligned, inside the disk and repeatable", "[img_cli][bench]") {
  bench_options o;
  o.random = true;
  o.size = 4096;
  std::set<std::uint64_t> seen;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    const std::uint64_t off = bench_offset(o, 10 << 20, i);
    CHECK(off % 4096 == 0);
    CHECK(off + 4096 <= (10u << 20));
    CHECK(off == bench_offset(o, 10 << 20, i));
    seen.insert(off);
  }
  CHECK(seen.size() > 500);
}

TEST_CASE("bench: issues every request once with the pattern at the queue depth", "[img_cli][bench]") {
  for (const unsigned depth : {1u, 8u}) {
    bench_options o;
    o.count = 500;
    o.depth = depth;
    o.size = 512;
    o.write = true;
    o.pattern = 0xa5;
    o.flush_interval = 100;
    std::mutex m;
    std::vector<std::uint64_t> offsets;
    std::atomic<int> in_flight{0};
    std::atomic<int> max_in_flight{0};
    std::atomic<int> flushes{0};
    std::atomic<int> bad_requests{0};
    const bench_io io = [&](bool write, std::uint64_t off, std::span<std::byte> buf) -> result<void> {
      const int now = ++in_flight;
      int prev = max_in_flight.load();
      while (now > prev && !max_in_flight.compare_exchange_weak(prev, now)) {
      }
      // Catch2 v2 assertions are not thread-safe: record here, check on the test's thread.
      if (!write || !std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{0xa5}; })) {
        ++bad_requests;
      }
      {
        std::lock_guard lock(m);
        offsets.push_back(off);
      }
      --in_flight;
      return {};
    };
    auto t = run_bench(o, 1 << 20, io, [&]() -> result<void> {
      ++flushes;
      return {};
    });
    REQUIRE(t.has_value());
    CHECK(*t >= 0.0);
    std::sort(offsets.begin(), offsets.end());
    REQUIRE(offsets.size() == 500);
    CHECK(std::adjacent_find(offsets.begin(), offsets.end()) == offsets.end());
    CHECK(max_in_flight.load() <= static_cast<int>(depth));
    CHECK(flushes.load() == 5);
    CHECK(bad_requests.load() == 0);
  }
}

TEST_CASE("bench: the first failed request stops the run and is returned", "[img_cli][bench]") {
  bench_options o;
  o.count = 1000;
  o.depth = 4;
  std::atomic<int> calls{0};
  const bench_io io = [&](bool, std::uint64_t, std::span<std::byte>) -> result<void> {
    if (++calls == 10) {
      return boost::system::errc::make_error_code(boost::system::errc::io_error);
    }
    return {};
  };
  auto t = run_bench(o, 1 << 30, io, [] { return result<void>{}; });
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error() == boost::system::errc::io_error);
  CHECK(calls.load() < 1000);
}

}  // namespace
}  // namespace vsnapd::img
