#include "cimom/jobs/worker_pool.hpp"

#include "tests/cimom/jobs/test_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>

using vsnapd::cim::jobs::worker_pool;
using vsnapd::test::gate;

TEST_CASE("worker_pool: tasks run on a fixed set of threads, at most max_queued wait",
          "[cimom][jobs][worker_pool]") {
  worker_pool pool(2, 3);
  CHECK(pool.thread_count() == 2);
  gate release;
  gate both_started;
  std::atomic<int> started{0};
  std::atomic<int> ran{0};
  const auto blocker = [&] {
    if (++started == 2) {
      both_started.open();
    }
    (void)release.wait();
    ++ran;
  };
  REQUIRE(pool.post(blocker));
  REQUIRE(pool.post(blocker));
  REQUIRE(both_started.wait());  // both workers busy, the queue is empty
  for (int n = 0; n < 3; ++n) {
    CHECK(pool.post([&] { ++ran; }));
  }
  CHECK_FALSE(pool.post([&] { ++ran; }));  // the fourth would exceed max_queued
  release.open();
  // stop() lets running tasks finish; queued ones may have run or be discarded, never both.
  const std::size_t discarded = pool.stop();
  CHECK(ran.load() + static_cast<int>(discarded) == 5);
  CHECK_FALSE(pool.post([] {}));
  CHECK(pool.stop() == 0);  // idempotent
}

TEST_CASE("worker_pool: zero threads or queue length mean one", "[cimom][jobs][worker_pool]") {
  gate done;  // declared first: outlives the worker that opens it
  worker_pool pool(0, 0);
  CHECK(pool.thread_count() == 1);
  REQUIRE(pool.post([&] { done.open(); }));
  CHECK(done.wait());
}
