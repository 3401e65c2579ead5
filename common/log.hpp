#pragma once
// One line per event on stderr, suitable for journald (STYLE: one channel per module).
//
// Line shape: `<time> <level> <component> [req=<id>] <message>`. Under systemd (JOURNAL_STREAM
// set) the time is dropped and a `<N>` syslog priority prefix is written instead, so journald
// records the right priority. Each line is emitted with a single write(2), so lines from
// concurrent threads never interleave.

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vsnapd::log {

enum class level : std::uint8_t { debug, info, warning, error };

/// Every level, for tests that walk the name table.
inline constexpr std::array all_levels{level::debug, level::info, level::warning, level::error};

/// The level's configuration and log name ("debug", "info", "warning", "error").
std::string_view to_string(level l);

/// Parses a level name; "warn" is accepted as an alias of "warning".
std::optional<level> parse_level(std::string_view name);

/// Sets the lowest level that is written. Thread-safe.
void set_threshold(level l);

/// True when a line at `l` would be written; check it before building an expensive message.
bool enabled(level l);

/// Writes one line. `request_id` 0 means "not tied to a request". Thread-safe.
void write(level l, std::string_view component, std::string_view message,
           std::uint64_t request_id = 0);

}  // namespace vsnapd::log
