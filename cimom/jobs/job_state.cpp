#include "cimom/jobs/job_state.hpp"

namespace vsnapd::cim::jobs {

std::string_view to_string(job_state s) {
  switch (s) {
    case job_state::new_job:
      return "New";
    case job_state::starting:
      return "Starting";
    case job_state::running:
      return "Running";
    case job_state::suspended:
      return "Suspended";
    case job_state::shutting_down:
      return "Shutting Down";
    case job_state::completed:
      return "Completed";
    case job_state::terminated:
      return "Terminated";
    case job_state::killed:
      return "Killed";
    case job_state::exception:
      return "Exception";
    case job_state::service:
      return "Service";
    case job_state::query_pending:
      return "Query Pending";
  }
  return "Unknown";
}

std::optional<job_state> job_state_from(std::uint16_t v) {
  for (const auto s : all_job_states) {
    if (static_cast<std::uint16_t>(s) == v) {
      return s;
    }
  }
  return std::nullopt;
}

std::string_view to_string(requested_state s) {
  switch (s) {
    case requested_state::start:
      return "Start";
    case requested_state::suspend:
      return "Suspend";
    case requested_state::terminate:
      return "Terminate";
    case requested_state::kill:
      return "Kill";
    case requested_state::service:
      return "Service";
  }
  return "Unknown";
}

std::string_view to_string(rsc_status s) {
  switch (s) {
    case rsc_status::completed:
      return "Completed with No Error";
    case rsc_status::not_supported:
      return "Not Supported";
    case rsc_status::unknown_error:
      return "Unknown/Unspecified Error";
    case rsc_status::timeout:
      return "Can NOT complete within Timeout Period";
    case rsc_status::failed:
      return "Failed";
    case rsc_status::invalid_parameter:
      return "Invalid Parameter";
    case rsc_status::in_use:
      return "In Use";
    case rsc_status::transition_started:
      return "Method Parameters Checked - Transition Started";
    case rsc_status::invalid_state_transition:
      return "Invalid State Transition";
    case rsc_status::timeout_not_supported:
      return "Use of Timeout Parameter Not Supported";
    case rsc_status::busy:
      return "Busy";
  }
  return "Unknown";
}

std::string_view to_string(kill_status s) {
  switch (s) {
    case kill_status::success:
      return "Success";
    case kill_status::not_supported:
      return "Not Supported";
    case kill_status::unknown:
      return "Unknown";
    case kill_status::timeout:
      return "Timeout";
    case kill_status::failed:
      return "Failed";
    case kill_status::access_denied:
      return "Access Denied";
    case kill_status::not_found:
      return "Not Found";
  }
  return "Unknown";
}

}  // namespace vsnapd::cim::jobs
