#include "cimom/jobs/job_state.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace vsnapd::cim::jobs;

TEST_CASE("job_state: every enumerator has a distinct name and its DMTF value",
          "[cimom][jobs][job_state]") {
  std::set<std::string_view> names;
  for (const auto s : all_job_states) {
    CHECK(names.insert(to_string(s)).second);
    CHECK(job_state_from(static_cast<std::uint16_t>(s)) == s);
  }
  CHECK(all_job_states.size() == 11);
  CHECK(static_cast<int>(job_state::new_job) == 2);
  CHECK(static_cast<int>(job_state::completed) == 7);
  CHECK(static_cast<int>(job_state::exception) == 10);
  CHECK(to_string(job_state::shutting_down) == "Shutting Down");
  for (std::uint16_t reserved : {0, 1, 13, 32768}) {
    CHECK_FALSE(job_state_from(reserved));
  }
  // Exactly the four end states are final.
  int finals = 0;
  for (const auto s : all_job_states) {
    finals += is_final(s) ? 1 : 0;
  }
  CHECK(finals == 4);
  CHECK(is_final(job_state::killed));
  CHECK_FALSE(is_final(job_state::shutting_down));
}

TEST_CASE("job_state: RequestStateChange and KillJob codes have one name each",
          "[cimom][jobs][job_state]") {
  std::set<std::string_view> names;
  for (const auto s : all_requested_states) {
    CHECK(names.insert(to_string(s)).second);
  }
  CHECK(static_cast<int>(requested_state::terminate) == 4);
  CHECK(static_cast<int>(requested_state::kill) == 5);
  names.clear();
  for (const auto s : all_rsc_statuses) {
    CHECK(names.insert(to_string(s)).second);
  }
  CHECK(static_cast<std::uint32_t>(rsc_status::transition_started) == 4096);
  CHECK(static_cast<std::uint32_t>(rsc_status::invalid_state_transition) == 4097);
  CHECK(to_string(rsc_status::timeout_not_supported) == "Use of Timeout Parameter Not Supported");
  names.clear();
  for (const auto s : all_kill_statuses) {
    CHECK(names.insert(to_string(s)).second);
  }
  CHECK(static_cast<std::uint32_t>(kill_status::not_found) == 7);
}
