#include "common/log.hpp"

#include <catch2/catch.hpp>

namespace vlog = vsnapd::log;

TEST_CASE("log: every level round-trips through its name", "[common][log]") {
  for (vlog::level l : vlog::all_levels) {
    CHECK(vlog::parse_level(vlog::to_string(l)) == l);
  }
  CHECK(vlog::parse_level("warn") == vlog::level::warning);
  CHECK_FALSE(vlog::parse_level("verbose").has_value());
}

TEST_CASE("log: threshold filters lower levels", "[common][log]") {
  vlog::set_threshold(vlog::level::warning);
  CHECK_FALSE(vlog::enabled(vlog::level::info));
  CHECK(vlog::enabled(vlog::level::warning));
  CHECK(vlog::enabled(vlog::level::error));
  vlog::set_threshold(vlog::level::info);
  CHECK(vlog::enabled(vlog::level::info));
  CHECK_FALSE(vlog::enabled(vlog::level::debug));
}
