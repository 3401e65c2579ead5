#include "common/log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace vsnapd::log {
namespace {

std::atomic<level> threshold{level::info};

// Read once: whether stderr is connected to the journal (systemd sets JOURNAL_STREAM).
bool to_journal() {
  static const bool value = std::getenv("JOURNAL_STREAM") != nullptr;
  return value;
}

char syslog_priority(level l) {
  switch (l) {
    case level::debug:
      return '7';
    case level::info:
      return '6';
    case level::warning:
      return '4';
    case level::error:
      return '3';
  }
  return '6';
}

void append_timestamp(std::string& line) {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ",
                              utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                              utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  line.append(buf, static_cast<std::size_t>(n));
}

}  // namespace

std::string_view to_string(level l) {
  switch (l) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warning:
      return "warning";
    case level::error:
      return "error";
  }
  return "unknown";
}

std::optional<level> parse_level(std::string_view name) {
  for (level l : all_levels) {
    if (to_string(l) == name) {
      return l;
    }
  }
  if (name == "warn") {
    return level::warning;
  }
  return std::nullopt;
}

void set_threshold(level l) { threshold.store(l, std::memory_order_relaxed); }

bool enabled(level l) { return l >= threshold.load(std::memory_order_relaxed); }

void write(level l, std::string_view component, std::string_view message,
           std::uint64_t request_id) {
  if (!enabled(l)) {
    return;
  }
  std::string line;
  line.reserve(64 + component.size() + message.size());
  if (to_journal()) {
    line += '<';
    line += syslog_priority(l);
    line += '>';
  } else {
    append_timestamp(line);
  }
  line += to_string(l);
  line += ' ';
  line += component;
  line += ' ';
  if (request_id != 0) {
    line += "req=";
    line += std::to_string(request_id);
    line += ' ';
  }
  // A message must stay one line: embedded newlines (say, from a client's header) are escaped.
  for (char c : message) {
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else {
      line += c;
    }
  }
  line += '\n';
  // A single write keeps concurrent lines whole; a short write on stderr is not retried.
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace vsnapd::log
