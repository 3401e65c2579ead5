#pragma once
// Method return codes of the virtualization providers. A method reports one outcome (`status`);
// the number a client sees depends on the code set its declaration uses:
//   - dmtf: CIM_VirtualSystemSnapshotService and CIM_VirtualSystemManagementService methods
//     (0, 1 Not Supported, 2 Failed, 3 Timeout, 4 Invalid Parameter, 5 Invalid State, 6 Invalid
//     Type, 4096 Job Started), also when invoked through the Msvm_ subclasses, whose MOF keeps
//     the DMTF ValueMap;
//   - msvm: the Msvm-only methods (DestroySnapshotTree, ClearSnapshotState) and
//     Msvm_ComputerSystem.RequestStateChange (0, 4096, 32768 Failed ... 32778 Out of memory);
//   - dmtf_state_change: CIM_EnabledLogicalElement.RequestStateChange through a CIM_ path
//     (0, 1, 2 Unknown Error, 3 Timeout, 4 Failed, 5 Invalid Parameter, 6 In Use, 4096,
//     4097 Invalid State Transition, 4099 Busy).

#include <array>
#include <cstdint>
#include <string_view>

namespace vsnapd::cim::providers::virtualization {

/// What a method did, before it is numbered for the client.
enum class status : std::uint8_t {
  completed = 1,      ///< done synchronously
  job_started,        ///< parameters checked, a job runs the rest
  not_supported,      ///< the operation or option is not implemented for this target
  failed,             ///< the hypervisor reported an error
  timeout,            ///< the hypervisor did not finish in time
  invalid_parameter,  ///< unknown, foreign or malformed reference or value
  invalid_state,      ///< not allowed in the machine's current state
  invalid_type,       ///< unsupported SnapshotType or embedded instance class
  busy,               ///< another mutating operation on the same machine is running
};
inline constexpr std::array all_statuses{
    status::completed,         status::job_started,   status::not_supported,
    status::failed,            status::timeout,       status::invalid_parameter,
    status::invalid_state,     status::invalid_type,  status::busy};
std::string_view to_string(status s);

/// Which ValueMap a method's return value follows.
enum class code_set : std::uint8_t { dmtf = 1, msvm, dmtf_state_change };
inline constexpr std::array all_code_sets{code_set::dmtf, code_set::msvm,
                                          code_set::dmtf_state_change};
std::string_view to_string(code_set c);

/// The wire number of `s` in `set`. A busy machine is 5 Invalid State (dmtf), 32775 Invalid
/// state for this operation (msvm) and 4099 Busy (dmtf_state_change); an invalid type has no
/// code of its own outside the dmtf set and becomes Invalid parameter / Incorrect data type.
std::uint32_t wire_code(code_set set, status s);

}  // namespace vsnapd::cim::providers::virtualization
