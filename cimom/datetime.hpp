#pragma once
// CIM datetime (DSP0004 section 5.2.4): a 25-character string that is either a timestamp
// `yyyymmddhhmmss.mmmmmmsutc` (s is '+' or '-', utc the offset in minutes) or an interval
// `ddddddddhhmmss.mmmmmm:000`. Asterisks may replace insignificant digits from the right.
// The validated text is kept verbatim, so parsing and printing round-trip exactly.

#include "cimom/error.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string_view>

namespace vsnapd::cim {

/// One validated CIM datetime value (timestamp or interval), compared by its exact text.
class datetime {
 public:
  /// The interval of zero length, "00000000000000.000000:000".
  datetime();

  /// Validates `text` (exactly 25 characters, field ranges, asterisk placement).
  /// @return the value, or errc::invalid_parameter naming the offending field.
  static result<datetime> parse(std::string_view text);

  /// A UTC timestamp (offset +000) from microseconds since the Unix epoch; years 0-9999.
  static datetime from_unix_micros(std::int64_t micros, std::int16_t utc_offset_minutes = 0);
  /// The current time as a UTC timestamp.
  static datetime now();
  /// An interval of `micros` microseconds (at most 99999999 days).
  static datetime from_interval_micros(std::uint64_t micros);
  /// An interval from a std::chrono duration (negative durations clamp to zero).
  template <class Rep, class Period>
  static datetime from_duration(std::chrono::duration<Rep, Period> d) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    return from_interval_micros(us < 0 ? 0 : static_cast<std::uint64_t>(us));
  }

  /// The exact 25-character text.
  std::string_view text() const { return {text_.data(), text_.size()}; }
  /// True for the interval form, false for a timestamp.
  bool is_interval() const { return text_[21] == ':'; }
  /// True when any digit is an asterisk (the value then has no exact time point).
  bool has_wildcards() const;

  /// Microseconds since the Unix epoch of a timestamp without wildcards; nullopt otherwise.
  std::optional<std::int64_t> unix_micros() const;
  /// Length in microseconds of an interval without wildcards; nullopt otherwise.
  std::optional<std::uint64_t> interval_micros() const;

  friend bool operator==(const datetime& a, const datetime& b) { return a.text_ == b.text_; }

 private:
  std::array<char, 25> text_{};
};

/// Prints the datetime text.
std::ostream& operator<<(std::ostream& os, const datetime& d);

}  // namespace vsnapd::cim
