#pragma once
// A one-line progress bar for long operations (commit, rebase, convert-like copies), drawn only
// when the output is a terminal, as qemu-img -p does. Redraws are rate-limited so that a
// callback fired per cluster costs a clock read, not a write(2).

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace vsnapd::img {

class progress_bar {
 public:
  /// @param out  where to draw; nothing is drawn unless `enabled`.
  /// @param enabled  draw at all (the caller passes `-p` and isatty(fileno(out))).
  progress_bar(std::FILE* out, bool enabled);
  ~progress_bar();
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  /// Records progress `done` of `total` work units (bytes); redraws at most every 100 ms and
  /// always when `done == total`. Not thread-safe: call from the operation's thread.
  void update(std::uint64_t done, std::uint64_t total);
  /// Ends the line (once) so that later output starts on a fresh line.
  void finish();

  /// The text of one frame, e.g. "[########............]  40.0%" (width counts the brackets).
  static void render(char* buf, std::size_t size, std::uint64_t done, std::uint64_t total, int width);

 private:
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace vsnapd::img
