#include "cimom/providers/virtualization/return_code.hpp"

namespace vsnapd::cim::providers::virtualization {

std::string_view to_string(status s) {
  switch (s) {
    case status::completed: return "completed";
    case status::job_started: return "job started";
    case status::not_supported: return "not supported";
    case status::failed: return "failed";
    case status::timeout: return "timeout";
    case status::invalid_parameter: return "invalid parameter";
    case status::invalid_state: return "invalid state";
    case status::invalid_type: return "invalid type";
    case status::busy: return "busy";
  }
  return "unknown status";
}

std::string_view to_string(code_set c) {
  switch (c) {
    case code_set::dmtf: return "dmtf";
    case code_set::msvm: return "msvm";
    case code_set::dmtf_state_change: return "dmtf_state_change";
  }
  return "unknown code set";
}

std::uint32_t wire_code(code_set set, status s) {
  switch (set) {
    case code_set::dmtf:
      switch (s) {
        case status::completed: return 0;
        case status::job_started: return 4096;
        case status::not_supported: return 1;
        case status::failed: return 2;
        case status::timeout: return 3;
        case status::invalid_parameter: return 4;
        case status::invalid_state: return 5;
        case status::invalid_type: return 6;
        case status::busy: return 5;  // DSP1044 has no "in use": the machine's state forbids it
      }
      break;
    case code_set::msvm:
      switch (s) {
        case status::completed: return 0;
        case status::job_started: return 4096;
        case status::not_supported: return 32770;
        case status::failed: return 32768;
        case status::timeout: return 32772;
        case status::invalid_parameter: return 32773;
        case status::invalid_state: return 32775;
        case status::invalid_type: return 32776;  // "Incorrect data type"
        // Not 32774 "System is in use": Hyper-V answers a second operation on a busy VM with
        // 32775, and clients (and the issue) expect that.
        case status::busy: return 32775;
      }
      break;
    case code_set::dmtf_state_change:
      switch (s) {
        case status::completed: return 0;
        case status::job_started: return 4096;
        case status::not_supported: return 1;
        case status::failed: return 4;
        case status::timeout: return 3;
        case status::invalid_parameter: return 5;
        case status::invalid_state: return 4097;  // Invalid State Transition
        case status::invalid_type: return 5;
        case status::busy: return 4099;
      }
      break;
  }
  return 2;
}

}  // namespace vsnapd::cim::providers::virtualization
