#include "tools/vsnapd-img/progress_bar.hpp"

#include <algorithm>
#include <string>

namespace vsnapd::img {

progress_bar::progress_bar(std::FILE* out, bool enabled) : out_(out), enabled_(enabled) {}

progress_bar::~progress_bar() { finish(); }

void progress_bar::render(char* buf, std::size_t size, std::uint64_t done, std::uint64_t total,
                          int width) {
  // An empty job (total 0) is complete, not a division by zero.
  const double frac = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int inner = std::max(1, width - 2);
  const int filled = static_cast<int>(frac * inner);
  std::string bar(static_cast<std::size_t>(inner), '.');
  std::fill_n(bar.begin(), filled, '#');
  std::snprintf(buf, size, "[%s] %5.1f%%", bar.c_str(), frac * 100.0);
}

void progress_bar::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) {
    return;
  }
  last_ = now;
  char buf[128];
  render(buf, sizeof buf, done, total, 40);
  // '\r' rewinds to the start of the line; the frame has a fixed width so nothing is left over.
  std::fprintf(out_, "\r%s", buf);
  std::fflush(out_);
  drawn_ = true;
}

void progress_bar::finish() {
  if (enabled_ && drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
    drawn_ = false;
  }
}

}  // namespace vsnapd::img
