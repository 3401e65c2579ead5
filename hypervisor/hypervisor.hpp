#pragma once
// The one interface the snapshot service and the CIM providers use to drive virtual systems,
// whatever runs them (QEMU/KVM now; libvirt and Hyper-V later behind the same methods).
//
// Threading: every method may block the calling thread for as long as the operation takes and
// is meant to be called from a worker thread (the CIM job pool), never from an I/O thread.
// Methods may be called from several threads at once; a backend serialises mutating
// operations per system (a second one on the same system waits for the first).

#include "common/error.hpp"
#include "hypervisor/errc.hpp"
#include "hypervisor/vm.hpp"

#include <string>
#include <vector>

namespace vsnapd::hv {

/// Hypervisor results carry hv::errc (or a lower module's code with context in logs).
template <class T>
using result = vsnapd::result<T>;

class hypervisor {
 public:
  virtual ~hypervisor() = default;

  /// Ids (UUIDs) of every defined system, in a stable order.
  [[nodiscard]] virtual result<std::vector<std::string>> list_systems() = 0;

  /// Definition of a system. Errors: no_such_system.
  [[nodiscard]] virtual result<vm_config> get_config(const std::string& id) = 0;

  /// Run-time state of a system. Errors: no_such_system.
  [[nodiscard]] virtual result<vm_status> get_status(const std::string& id) = 0;

  /// Defines a new system (stopped) and creates disks that have a size and do not exist.
  /// @return the id (cfg.uuid, or a generated one when empty).
  /// Errors: invalid_argument (bad name, no memory), already_exists (uuid taken).
  [[nodiscard]] virtual result<std::string> define_system(const vm_config& cfg) = 0;

  /// Replaces a stopped system's definition (name, memory, vcpus, boot, network, accel; the
  /// disk list is fixed once snapshots exist). Errors: no_such_system, invalid_state.
  [[nodiscard]] virtual result<void> modify_system(const std::string& id,
                                                   const vm_config& cfg) = 0;

  /// Removes a stopped system with its snapshots and every file it owns.
  /// Errors: no_such_system, invalid_state.
  [[nodiscard]] virtual result<void> destroy_system(const std::string& id) = 0;

  /// Changes the run state. Errors: no_such_system, invalid_state (e.g. pause when stopped),
  /// backend_failed, timed_out (graceful shutdown the guest ignored).
  [[nodiscard]] virtual result<void> change_state(const std::string& id, state_change change,
                                                  const op_control& ctl = {}) = 0;

  /// Takes a snapshot of a running, paused or stopped system; the new snapshot becomes the
  /// system's current snapshot and a child of the previous one.
  /// @return the snapshot as recorded. Errors: no_such_system, invalid_state (full snapshot of
  /// a stopped system), cancelled, backend_failed.
  [[nodiscard]] virtual result<snapshot_info> create_snapshot(const std::string& id,
                                                              const snapshot_request& req,
                                                              const op_control& ctl = {},
                                                              op_timing* timing = nullptr) = 0;

  /// Reverts the system to a snapshot. A running or paused system is stopped first (the caller
  /// decides whether that is allowed). Afterwards a disk snapshot leaves the system stopped; a
  /// full snapshot restores memory and device state and resumes running or paused as it was
  /// taken. The snapshot stays intact and can be applied again.
  /// Errors: no_such_system, no_such_snapshot, backend_failed.
  [[nodiscard]] virtual result<void> apply_snapshot(const std::string& id,
                                                    const std::string& snapshot_id,
                                                    const op_control& ctl = {},
                                                    op_timing* timing = nullptr) = 0;

  /// Removes a snapshot from the tree; its data is merged into the images that still need it,
  /// so no other snapshot and not the current state lose data. Its children take its parent.
  /// Errors: no_such_system, no_such_snapshot, cancelled, backend_failed.
  [[nodiscard]] virtual result<void> destroy_snapshot(const std::string& id,
                                                      const std::string& snapshot_id,
                                                      const op_control& ctl = {},
                                                      op_timing* timing = nullptr) = 0;

  /// Drops a full snapshot's memory and device state: it becomes a disk snapshot (applying it
  /// then leaves the system stopped) and its saved-state file is deleted. A disk snapshot is
  /// left as it is. Errors: no_such_system, no_such_snapshot, backend_failed.
  [[nodiscard]] virtual result<void> clear_snapshot_state(const std::string& id,
                                                          const std::string& snapshot_id) = 0;

  /// Renames a snapshot. Errors: no_such_system, no_such_snapshot.
  [[nodiscard]] virtual result<void> rename_snapshot(const std::string& id,
                                                     const std::string& snapshot_id,
                                                     const std::string& name) = 0;

  /// Every snapshot of a system, parents before children, siblings by creation time.
  [[nodiscard]] virtual result<std::vector<snapshot_info>> list_snapshots(
      const std::string& id) = 0;
};

}  // namespace vsnapd::hv
