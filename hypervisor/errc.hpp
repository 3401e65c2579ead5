#pragma once
// Typed errors of the hypervisor adapter layer (STYLE rule 15). Backends (QEMU/KVM, libvirt,
// Hyper-V; issue 7) return these; the server maps them to CIM status and WS-Man faults.

#include "common/error_category.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace vsnapd::hv {

enum class errc : std::uint8_t {
  no_such_system = 1,     ///< no virtual system with that id
  no_such_snapshot,       ///< no snapshot with that id on the system
  invalid_state,          ///< the operation is not allowed in the system's current state
  backend_unavailable,    ///< the hypervisor process or service cannot be reached
  backend_failed,         ///< the hypervisor reported an error
  not_supported,          ///< the backend cannot do this (e.g. full snapshots without memory)
  timed_out,              ///< the backend did not answer in time
  invalid_argument,       ///< a malformed definition or request (bad name, size, path)
  already_exists,         ///< a system with that id exists already
  cancelled,              ///< the caller cancelled a long operation (stop_token)
  journal_failed,         ///< the snapshot metadata database could not be read or written
};

inline constexpr std::array all_errcs{errc::no_such_system,   errc::no_such_snapshot,
                                      errc::invalid_state,    errc::backend_unavailable,
                                      errc::backend_failed,   errc::not_supported,
                                      errc::timed_out,        errc::invalid_argument,
                                      errc::already_exists,   errc::cancelled,
                                      errc::journal_failed};

std::string_view to_string(errc e);
const char* category_name(errc);

inline boost::system::error_code make_error_code(errc e) { return make_enum_error_code(e); }

}  // namespace vsnapd::hv

template <>
struct boost::system::is_error_code_enum<vsnapd::hv::errc> : std::true_type {};
