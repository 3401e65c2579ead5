#include "server/soap/duration.hpp"

#include <charconv>
#include <cstdio>

namespace vsnapd::server::soap {
namespace {

constexpr std::uint64_t us_per_second = 1'000'000;
constexpr std::uint64_t max_days = 99'999'999;  // the range of a CIM interval

}  // namespace

std::optional<std::chrono::microseconds> parse_duration(std::string_view text) {
  if (text.size() < 2 || text[0] != 'P') {
    return std::nullopt;
  }
  std::size_t i = 1;
  bool in_time = false;
  bool any = false;
  std::uint64_t total = 0;
  // Designators must appear in order: Y M D T H M S; `order` remembers the last one seen.
  int order = 0;
  while (i < text.size()) {
    if (text[i] == 'T') {
      if (in_time || i + 1 == text.size()) {
        return std::nullopt;
      }
      in_time = true;
      order = 4;
      ++i;
      continue;
    }
    std::uint64_t whole = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), whole);
    if (ec != std::errc{} || whole > max_days * 86400) {
      return std::nullopt;
    }
    i = static_cast<std::size_t>(end - text.data());
    std::uint64_t frac_us = 0;
    bool has_frac = false;
    if (i < text.size() && text[i] == '.') {
      has_frac = true;
      ++i;
      std::uint64_t scale = 100'000;
      const std::size_t start = i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        frac_us += static_cast<std::uint64_t>(text[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
      if (i == start) {
        return std::nullopt;
      }
    }
    if (i >= text.size()) {
      return std::nullopt;
    }
    const char d = text[i++];
    int pos = 0;
    std::uint64_t unit = 0;
    if (!in_time && d == 'Y') {
      pos = 1;
    } else if (!in_time && d == 'M') {
      pos = 2;
    } else if (!in_time && d == 'D') {
      pos = 3;
      unit = 86400 * us_per_second;
    } else if (in_time && d == 'H') {
      pos = 5;
      unit = 3600 * us_per_second;
    } else if (in_time && d == 'M') {
      pos = 6;
      unit = 60 * us_per_second;
    } else if (in_time && d == 'S') {
      pos = 7;
      unit = us_per_second;
    } else {
      return std::nullopt;
    }
    if (pos <= order || (has_frac && pos != 7)) {
      return std::nullopt;
    }
    order = pos;
    any = true;
    if (pos <= 2) {
      if (whole != 0) {
        return std::nullopt;  // a month or year has no fixed length in seconds
      }
      continue;
    }
    total += whole * unit + frac_us;
  }
  if (!any || total > max_days * 86400 * us_per_second) {
    return std::nullopt;
  }
  return std::chrono::microseconds(static_cast<std::int64_t>(total));
}

void append_duration(std::string& out, std::uint64_t micros) {
  const std::uint64_t days = micros / (86400 * us_per_second);
  micros %= 86400 * us_per_second;
  const std::uint64_t hours = micros / (3600 * us_per_second);
  micros %= 3600 * us_per_second;
  const std::uint64_t minutes = micros / (60 * us_per_second);
  micros %= 60 * us_per_second;
  const std::uint64_t seconds = micros / us_per_second;
  const std::uint64_t frac = micros % us_per_second;
  out += 'P';
  if (days != 0) {
    out += std::to_string(days);
    out += 'D';
  }
  if (hours == 0 && minutes == 0 && seconds == 0 && frac == 0) {
    if (days == 0) {
      out += "T0S";
    }
    return;
  }
  out += 'T';
  if (hours != 0) {
    out += std::to_string(hours);
    out += 'H';
  }
  if (minutes != 0) {
    out += std::to_string(minutes);
    out += 'M';
  }
  if (seconds != 0 || frac != 0) {
    out += std::to_string(seconds);
    if (frac != 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, ".%06llu", static_cast<unsigned long long>(frac));
      out += buf;
    }
    out += 'S';
  }
}

}  // namespace vsnapd::server::soap
