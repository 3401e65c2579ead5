#include "cimom/datetime.hpp"

#include <cstdio>
#include <ostream>
#include <string>

namespace vsnapd::cim {
namespace {

constexpr std::string_view zero_interval = "00000000000000.000000:000";

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
// days_from_civil algorithm, re-derived here); valid for every year of a CIM timestamp.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Value of a field of digits, or -1 if it holds an asterisk (insignificant).
int field(std::string_view t, std::size_t pos, std::size_t len) {
  int v = 0;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (t[i] == '*') {
      return -1;
    }
    v = v * 10 + (t[i] - '0');
  }
  return v;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && (y < 0 || leap(y)) ? 29 : days[m - 1];
}

}  // namespace

datetime::datetime() { std::copy(zero_interval.begin(), zero_interval.end(), text_.begin()); }

result<datetime> datetime::parse(std::string_view t) {
  const auto bad = [&](std::string_view why) {
    return fail(errc::invalid_parameter,
                "invalid CIM datetime '" + std::string(t) + "': " + std::string(why));
  };
  if (t.size() != 25) {
    return bad("expected 25 characters");
  }
  if (t[14] != '.') {
    return bad("expected '.' at position 15");
  }
  const bool interval = t[21] == ':';
  if (!interval && t[21] != '+' && t[21] != '-') {
    return bad("expected '+', '-' (timestamp) or ':' (interval) at position 22");
  }
  // Digits or asterisks in positions 0-13 and 15-20; once an asterisk appears every later
  // significant digit must be one too (asterisks replace digits from the right).
  bool star = false;
  for (std::size_t i = 0; i < 21; ++i) {
    if (i == 14) {
      continue;
    }
    if (t[i] == '*') {
      star = true;
    } else if (!is_digit(t[i])) {
      return bad("expected a digit or '*' at position " + std::to_string(i + 1));
    } else if (star) {
      return bad("a digit follows an asterisk at position " + std::to_string(i + 1));
    }
  }
  for (std::size_t i = 22; i < 25; ++i) {
    if (!is_digit(t[i])) {
      return bad(interval ? "an interval ends in ':000'" : "the UTC offset must be three digits");
    }
  }
  if (interval) {
    if (t.substr(22) != "000") {
      return bad("an interval ends in ':000'");
    }
    const int hh = field(t, 8, 2);
    const int mm = field(t, 10, 2);
    const int ss = field(t, 12, 2);
    if (hh > 23) {
      return bad("hours must be 00-23");
    }
    if (mm > 59) {
      return bad("minutes must be 00-59");
    }
    if (ss > 59) {
      return bad("seconds must be 00-59");
    }
  } else {
    const int y = field(t, 0, 4);
    const int mo = field(t, 4, 2);
    const int d = field(t, 6, 2);
    const int hh = field(t, 8, 2);
    const int mi = field(t, 10, 2);
    const int ss = field(t, 12, 2);
    if (mo != -1 && (mo < 1 || mo > 12)) {
      return bad("month must be 01-12");
    }
    if (d != -1 && (d < 1 || d > (mo == -1 ? 31 : days_in_month(y, mo)))) {
      return bad("day out of range for the month");
    }
    if (hh > 23) {
      return bad("hours must be 00-23");
    }
    if (mi > 59) {
      return bad("minutes must be 00-59");
    }
    if (ss > 60) {  // 60 allows a leap second
      return bad("seconds must be 00-60");
    }
  }
  datetime out;
  std::copy(t.begin(), t.end(), out.text_.begin());
  return out;
}

datetime datetime::from_unix_micros(std::int64_t micros, std::int16_t utc_offset_minutes) {
  const std::int64_t local = micros + std::int64_t{utc_offset_minutes} * 60'000'000;
  std::int64_t days = local / 86'400'000'000;
  std::int64_t rem = local % 86'400'000'000;
  if (rem < 0) {
    rem += 86'400'000'000;
    --days;
  }
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civil_from_days(days, y, m, d);
  if (y < 0) {
    y = 0;
  } else if (y > 9999) {
    y = 9999;
  }
  const auto secs = rem / 1'000'000;
  const auto us = rem % 1'000'000;
  const int off = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u%02d%02d%02d.%06d%c%03d", static_cast<int>(y), m, d,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60), static_cast<int>(us),
                utc_offset_minutes < 0 ? '-' : '+', off % 1000);
  datetime out;
  std::copy(buf, buf + 25, out.text_.begin());
  return out;
}

datetime datetime::now() {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return from_unix_micros(us);
}

datetime datetime::from_interval_micros(std::uint64_t micros) {
  constexpr std::uint64_t max_days = 99'999'999;
  std::uint64_t days = micros / 86'400'000'000;
  std::uint64_t rem = micros % 86'400'000'000;
  if (days > max_days) {
    days = max_days;
    rem = 86'400'000'000 - 1;
  }
  const auto secs = rem / 1'000'000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08llu%02llu%02llu%02llu.%06llu:000",
                static_cast<unsigned long long>(days), static_cast<unsigned long long>(secs / 3600),
                static_cast<unsigned long long>(secs / 60 % 60),
                static_cast<unsigned long long>(secs % 60),
                static_cast<unsigned long long>(rem % 1'000'000));
  datetime out;
  std::copy(buf, buf + 25, out.text_.begin());
  return out;
}

bool datetime::has_wildcards() const {
  for (std::size_t i = 0; i < 21; ++i) {
    if (text_[i] == '*') {
      return true;
    }
  }
  return false;
}

std::optional<std::int64_t> datetime::unix_micros() const {
  if (is_interval() || has_wildcards()) {
    return std::nullopt;
  }
  const std::string_view t = text();
  const std::int64_t days = days_from_civil(field(t, 0, 4), static_cast<unsigned>(field(t, 4, 2)),
                                            static_cast<unsigned>(field(t, 6, 2)));
  std::int64_t us = ((days * 24 + field(t, 8, 2)) * 60 + field(t, 10, 2)) * 60 + field(t, 12, 2);
  us = us * 1'000'000 + field(t, 15, 6);
  const std::int64_t offset = field(t, 22, 3) * std::int64_t{60'000'000};
  return t[21] == '+' ? us - offset : us + offset;
}

std::optional<std::uint64_t> datetime::interval_micros() const {
  if (!is_interval() || has_wildcards()) {
    return std::nullopt;
  }
  const std::string_view t = text();
  std::uint64_t days = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    days = days * 10 + static_cast<std::uint64_t>(t[i] - '0');
  }
  const std::uint64_t secs =
      days * 86400 + static_cast<std::uint64_t>(field(t, 8, 2) * 3600 + field(t, 10, 2) * 60 + field(t, 12, 2));
  return secs * 1'000'000 + static_cast<std::uint64_t>(field(t, 15, 6));
}

std::ostream& operator<<(std::ostream& os, const datetime& d) { return os << d.text(); }

}  // namespace vsnapd::cim
