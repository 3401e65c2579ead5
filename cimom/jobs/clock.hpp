#pragma once
// The job manager's time source: job timestamps and expiry (TimeBeforeRemoval) read it, so
// tests substitute a manual clock and expire jobs without sleeping.

#include <chrono>

namespace vsnapd::cim::jobs {

/// Wall-clock time source. Implementations must be thread-safe.
class clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~clock() = default;
  /// The current time (UTC).
  virtual time_point now() const = 0;
};

/// std::chrono::system_clock.
class system_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
  /// A process-wide instance (stateless).
  static const system_clock& instance() {
    static const system_clock c;
    return c;
  }
};

}  // namespace vsnapd::cim::jobs
