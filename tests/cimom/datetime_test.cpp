#include "cimom/datetime.hpp"

#include <catch2/catch.hpp>

#include <string>

using vsnapd::cim::datetime;

TEST_CASE("datetime: valid timestamps and intervals round-trip verbatim", "[cimom][datetime]") {
  const char* valid[] = {
      "20261124211315.123456+000", "19700101000000.000000+000", "00000101000000.000000-720",
      "99991231235959.999999+999", "20240229120000.000000+060",  // leap day
      "20261124211315.******+000", "2026112421****.******+000", "20261124******.******+000",
      "****************.******+000" /* rejected below: wrong length */, "00000000000000.000000:000",
      "99999999235959.999999:000", "00000001******.******:000", "20161231235960.000000+000"};
  for (const char* text : valid) {
    const std::string t(text);
    if (t.size() != 25) {
      continue;
    }
    INFO(t);
    auto dt = datetime::parse(t);
    REQUIRE(dt);
    CHECK(dt->text() == t);
  }
}

TEST_CASE("datetime: each malformed form is refused with a reason", "[cimom][datetime]") {
  struct row {
    const char* text;
    const char* reason;
  };
  const row rows[] = {
      {"2026112421131.123456+000", "25 characters"},
      {"20261124211315,123456+000", "'.'"},
      {"20261124211315.123456*000", "'+', '-'"},
      {"20261324211315.123456+000", "month"},
      {"20260230211315.123456+000", "day"},
      {"20230229120000.000000+000", "day"},
      {"20261124241315.123456+000", "hours"},
      {"20261124216015.123456+000", "minutes"},
      {"20261124211361.123456+000", "seconds"},
      {"2026112421*315.123456+000", "digit follows an asterisk"},
      {"20261124211315.12345a+000", "digit or '*'"},
      {"20261124211315.123456+0a0", "UTC offset"},
      {"00000000000000.000000:001", ":000"},
      {"00000000240000.000000:000", "hours"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    auto dt = datetime::parse(r.text);
    REQUIRE_FALSE(dt);
    CHECK(dt.error().code == vsnapd::cim::errc::invalid_parameter);
    CHECK_THAT(dt.error().description, Catch::Contains(r.reason));
  }
}

TEST_CASE("datetime: time points convert both ways, honouring the UTC offset", "[cimom][datetime]") {
  const auto epoch = datetime::from_unix_micros(0);
  CHECK(epoch.text() == "19700101000000.000000+000");
  CHECK(*epoch.unix_micros() == 0);
  const auto t = datetime::from_unix_micros(1'795'000'000'123'456);
  CHECK(*datetime::parse(t.text())->unix_micros() == 1'795'000'000'123'456);
  // The same instant written with a +060 offset is one hour later on the wall clock.
  const auto plus = datetime::from_unix_micros(0, 60);
  CHECK(plus.text() == "19700101010000.000000+060");
  CHECK(*plus.unix_micros() == 0);
  const auto minus = datetime::parse("19691231190000.000000-300");
  CHECK(*minus->unix_micros() == 0);
  CHECK_FALSE(datetime::parse("2026112421****.******+000")->unix_micros());
}

TEST_CASE("datetime: intervals convert from durations and back", "[cimom][datetime]") {
  using namespace std::chrono_literals;
  CHECK(datetime{}.text() == "00000000000000.000000:000");
  const auto five_min = datetime::from_duration(5min);
  CHECK(five_min.text() == "00000000000500.000000:000");
  CHECK(five_min.is_interval());
  const auto long_one = datetime::from_interval_micros(((3ull * 86400 + 4 * 3600 + 5 * 60 + 6) * 1'000'000) + 7);
  CHECK(long_one.text() == "00000003040506.000007:000");
  CHECK(*long_one.interval_micros() == ((3ull * 86400 + 4 * 3600 + 5 * 60 + 6) * 1'000'000) + 7);
  CHECK(datetime::from_duration(-5s).text() == "00000000000000.000000:000");
  CHECK(datetime::from_interval_micros(~0ull).text() == "99999999235959.999999:000");
}
