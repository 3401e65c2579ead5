#include "hypervisor/errc.hpp"

namespace vsnapd::hv {

std::string_view to_string(errc e) {
  switch (e) {
    case errc::no_such_system: return "no_such_system";
    case errc::no_such_snapshot: return "no_such_snapshot";
    case errc::invalid_state: return "invalid_state";
    case errc::backend_unavailable: return "backend_unavailable";
    case errc::backend_failed: return "backend_failed";
    case errc::not_supported: return "not_supported";
    case errc::timed_out: return "timed_out";
    case errc::invalid_argument: return "invalid_argument";
    case errc::already_exists: return "already_exists";
    case errc::cancelled: return "cancelled";
    case errc::journal_failed: return "journal_failed";
  }
  return "unknown";
}

const char* category_name(errc) { return "hv"; }

}  // namespace vsnapd::hv
