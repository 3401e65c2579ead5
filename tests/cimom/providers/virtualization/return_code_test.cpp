#include "cimom/providers/virtualization/return_code.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace vsnapd::cim::providers::virtualization;

TEST_CASE("return_code: every status and code set has a name", "[cimom][providers]") {
  std::set<std::string> names;
  for (auto s : all_statuses) {
    const auto n = std::string(to_string(s));
    CHECK(n != "unknown status");
    names.insert(n);
  }
  CHECK(names.size() == all_statuses.size());
  for (auto c : all_code_sets) {
    CHECK(to_string(c) != "unknown code set");
  }
}

TEST_CASE("return_code: each code set numbers the outcomes as its ValueMap declares",
          "[cimom][providers]") {
  struct row {
    status s;
    std::uint32_t dmtf, msvm, state_change;
  };
  const row rows[] = {
      {status::completed, 0, 0, 0},
      {status::job_started, 4096, 4096, 4096},
      {status::not_supported, 1, 32770, 1},
      {status::failed, 2, 32768, 4},
      {status::timeout, 3, 32772, 3},
      {status::invalid_parameter, 4, 32773, 5},
      {status::invalid_state, 5, 32775, 4097},
      {status::invalid_type, 6, 32776, 5},
      {status::busy, 5, 32775, 4099},
  };
  static_assert(std::size(rows) == all_statuses.size());
  for (const auto& r : rows) {
    INFO(to_string(r.s));
    CHECK(wire_code(code_set::dmtf, r.s) == r.dmtf);
    CHECK(wire_code(code_set::msvm, r.s) == r.msvm);
    CHECK(wire_code(code_set::dmtf_state_change, r.s) == r.state_change);
  }
}
