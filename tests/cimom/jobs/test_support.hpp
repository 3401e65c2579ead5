#pragma once
// Test helpers for the job manager: a manual clock (expiry without sleeping) and a gate that
// work functions and tests wait on. Waits have generous timeouts that matter only on failure.

#include "cimom/jobs/clock.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace vsnapd::test {

/// A clock that moves only when told to. Starts at 2026-01-02 03:04:05 UTC.
class manual_clock final : public cim::jobs::clock {
 public:
  time_point now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void advance(std::chrono::microseconds d) {
    std::lock_guard lock(mutex_);
    now_ += std::chrono::duration_cast<time_point::duration>(d);
  }
  /// Microseconds since the Unix epoch of the start time.
  static constexpr std::int64_t start_micros = 1767323045000000;

 private:
  mutable std::mutex mutex_;
  time_point now_{
      std::chrono::duration_cast<time_point::duration>(std::chrono::microseconds(start_micros))};
};

/// A one-shot event.
class gate {
 public:
  // Notifies under the lock: a waiter may destroy the gate as soon as wait() returns, which
  // cannot happen before open() releases the mutex.
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  /// @return true once opened; false after `timeout` (a test failure).
  bool wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }
  bool is_open() const {
    std::lock_guard lock(mutex_);
    return open_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

}  // namespace vsnapd::test
