#include "hypervisor/vm.hpp"

namespace vsnapd::hv {

std::string_view to_string(vm_state s) {
  switch (s) {
    case vm_state::stopped: return "stopped";
    case vm_state::running: return "running";
    case vm_state::paused: return "paused";
    case vm_state::saved: return "saved";
    case vm_state::starting: return "starting";
  }
  return "unknown";
}

std::string_view to_string(state_change c) {
  switch (c) {
    case state_change::start: return "start";
    case state_change::shutdown: return "shutdown";
    case state_change::power_off: return "power_off";
    case state_change::pause: return "pause";
    case state_change::resume: return "resume";
    case state_change::reset: return "reset";
    case state_change::save: return "save";
  }
  return "unknown";
}

std::string_view to_string(accel a) {
  switch (a) {
    case accel::automatic: return "auto";
    case accel::kvm: return "kvm";
    case accel::tcg: return "tcg";
  }
  return "unknown";
}

std::string_view to_string(network n) {
  switch (n) {
    case network::none: return "none";
    case network::user: return "user";
  }
  return "unknown";
}

std::string_view to_string(snapshot_type t) {
  switch (t) {
    case snapshot_type::full: return "full";
    case snapshot_type::disk: return "disk";
  }
  return "unknown";
}

std::string_view to_string(consistency c) {
  switch (c) {
    case consistency::unknown: return "unknown";
    case consistency::application: return "application";
    case consistency::crash: return "crash";
  }
  return "unknown";
}

}  // namespace vsnapd::hv
