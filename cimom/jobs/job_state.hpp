#pragma once
// The numbers of CIM_ConcreteJob (DMTF CIM 2.41, Core/CIM_ConcreteJob.mof): JobState's ValueMap,
// RequestStateChange's RequestedState parameter and its return codes, and GetError's return
// codes. Each enum has one name table (STYLE rule 10); the values are wire values.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vsnapd::cim::jobs {

/// CIM_ConcreteJob.JobState.
enum class job_state : std::uint16_t {
  new_job = 2,  ///< "New": queued, never started
  starting = 3,
  running = 4,
  suspended = 5,      ///< never entered: jobs here cannot be suspended
  shutting_down = 6,  ///< Terminate requested, the work is winding down
  completed = 7,
  terminated = 8,
  killed = 9,
  exception = 10,
  service = 11,        ///< never entered
  query_pending = 12,  ///< never entered
};
inline constexpr std::array all_job_states{
    job_state::new_job,       job_state::starting,  job_state::running,      job_state::suspended,
    job_state::shutting_down, job_state::completed, job_state::terminated,   job_state::killed,
    job_state::exception,     job_state::service,   job_state::query_pending};

/// The ValueMap's Values text ("New", "Shutting Down", ...), also used for JobStatus.
std::string_view to_string(job_state s);
/// The state for a wire value, or nullopt for reserved values.
std::optional<job_state> job_state_from(std::uint16_t v);
/// True for Completed, Terminated, Killed and Exception: the job will not change again.
constexpr bool is_final(job_state s) {
  return s == job_state::completed || s == job_state::terminated || s == job_state::killed ||
         s == job_state::exception;
}

/// CIM_ConcreteJob.RequestStateChange RequestedState.
enum class requested_state : std::uint16_t {
  start = 2,
  suspend = 3,
  terminate = 4,
  kill = 5,
  service = 6,
};
inline constexpr std::array all_requested_states{requested_state::start, requested_state::suspend,
                                                 requested_state::terminate, requested_state::kill,
                                                 requested_state::service};
std::string_view to_string(requested_state s);

/// CIM_ConcreteJob.RequestStateChange return values.
enum class rsc_status : std::uint32_t {
  completed = 0,  ///< "Completed with No Error"
  not_supported = 1,
  unknown_error = 2,
  timeout = 3,  ///< "Can NOT complete within Timeout Period"
  failed = 4,
  invalid_parameter = 5,
  in_use = 6,
  transition_started = 4096,  ///< "Method Parameters Checked - Transition Started"
  invalid_state_transition = 4097,
  timeout_not_supported = 4098,  ///< "Use of Timeout Parameter Not Supported"
  busy = 4099,
};
inline constexpr std::array all_rsc_statuses{rsc_status::completed,
                                             rsc_status::not_supported,
                                             rsc_status::unknown_error,
                                             rsc_status::timeout,
                                             rsc_status::failed,
                                             rsc_status::invalid_parameter,
                                             rsc_status::in_use,
                                             rsc_status::transition_started,
                                             rsc_status::invalid_state_transition,
                                             rsc_status::timeout_not_supported,
                                             rsc_status::busy};
std::string_view to_string(rsc_status s);

/// CIM_Job.KillJob return values (deprecated method, still sent by old clients).
enum class kill_status : std::uint32_t {
  success = 0,
  not_supported = 1,
  unknown = 2,
  timeout = 3,
  failed = 4,
  access_denied = 6,
  not_found = 7,
};
inline constexpr std::array all_kill_statuses{
    kill_status::success, kill_status::not_supported, kill_status::unknown,  kill_status::timeout,
    kill_status::failed,  kill_status::access_denied, kill_status::not_found};
std::string_view to_string(kill_status s);

}  // namespace vsnapd::cim::jobs
