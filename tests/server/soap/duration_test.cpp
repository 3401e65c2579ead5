#include "server/soap/duration.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace vsnapd::server::soap;
using std::chrono::microseconds;

TEST_CASE("duration: the forms clients send parse to microseconds", "[server][soap][duration]") {
  struct row {
    const char* text;
    std::int64_t micros;
  };
  const row rows[] = {
      {"PT60S", 60'000'000},
      {"PT60.000S", 60'000'000},
      {"PT1.5S", 1'500'000},
      {"PT0.000001S", 1},
      {"P1D", 86'400'000'000},
      {"PT1H", 3'600'000'000},
      {"P1DT2H3M4.5S", 93'784'500'000},
      {"P0Y0M0DT0H0M1S", 1'000'000},
      {"PT0S", 0},
      {"PT1.1234567S", 1'123'456},
  };
  for (const row& r : rows) {
    INFO(r.text);
    const auto d = parse_duration(r.text);
    REQUIRE(d);
    CHECK(d->count() == r.micros);
  }
}

TEST_CASE("duration: malformed text is refused", "[server][soap][duration]") {
  for (const char* bad : {"", "P", "PT", "60", "PT60", "-PT1S", "P1Y", "P2M", "PT1S1M", "PT1.S",
                          "PT.5S", "P1.5D", "PTS", "P1DT", "PT1H2H", "sixty"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("duration: printing round-trips and omits zero fields", "[server][soap][duration]") {
  struct row {
    std::uint64_t micros;
    const char* text;
  };
  const row rows[] = {{0, "PT0S"},
                      {1'000'000, "PT1S"},
                      {86'400'000'000, "P1D"},
                      {93'784'500'000, "P1DT2H3M4.500000S"},
                      {3'600'000'001, "PT1H0.000001S"}};
  for (const row& r : rows) {
    std::string out;
    append_duration(out, r.micros);
    CHECK(out == r.text);
    const auto back = parse_duration(out);
    REQUIRE(back);
    CHECK(static_cast<std::uint64_t>(back->count()) == r.micros);
  }
}
