#pragma once
// An in-memory hv::hypervisor for unit tests of its callers (the CIM providers): systems,
// their run states and snapshot trees as plain data, with the state rules the QEMU backend
// follows (full snapshot of a stopped system refused, apply of a disk snapshot leaves the system
// stopped, destroy reparents children). Tests can make the next long operation stop at a gate
// (to observe a running job, its progress and its cancellation) or fail with a chosen error.
// Thread-safe: every member may be called from any thread.

#include "hypervisor/hypervisor.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vsnapd::hv::testing {

class fake_hypervisor final : public hypervisor {
 public:
  /// Long operations a gate or an injected failure can target.
  enum class op : std::uint8_t { create, apply, destroy, change_state };

  /// The next `o` reports `percent`, then blocks until release() or its stop token fires (then
  /// it fails with errc::cancelled, as a backend that honours cancellation does).
  void hold_next(op o, unsigned percent = 40);
  /// When on, get_status waits while an operation runs on the system, as the QEMU backend's
  /// status query waits for the VM's operation lock.
  void status_waits_for_operations(bool on);
  /// Blocks until an operation is waiting at the gate. @return false after `timeout`.
  bool wait_until_held(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Lets the held operation finish.
  void release();
  /// The next `o` fails with `e` (after its checks pass).
  void fail_next(op o, errc e);
  /// How many times `o` ran to success.
  int completed(op o) const;
  /// Adds a system in a given state (tests' shortcut around define + change_state).
  std::string add_system(const std::string& name, vm_state state = vm_state::stopped,
                         std::size_t disks = 1);
  /// Largest number of mutating operations that ran at once on one system.
  int max_concurrent_per_system() const;

  // hv::hypervisor
  result<std::vector<std::string>> list_systems() override;
  result<vm_config> get_config(const std::string& id) override;
  result<vm_status> get_status(const std::string& id) override;
  result<std::string> define_system(const vm_config& cfg) override;
  result<void> modify_system(const std::string& id, const vm_config& cfg) override;
  result<void> destroy_system(const std::string& id) override;
  result<void> change_state(const std::string& id, state_change change,
                            const op_control& ctl) override;
  result<snapshot_info> create_snapshot(const std::string& id, const snapshot_request& req,
                                        const op_control& ctl, op_timing* timing) override;
  result<void> apply_snapshot(const std::string& id, const std::string& snapshot_id,
                              const op_control& ctl, op_timing* timing) override;
  result<void> destroy_snapshot(const std::string& id, const std::string& snapshot_id,
                                const op_control& ctl, op_timing* timing) override;
  result<void> clear_snapshot_state(const std::string& id,
                                    const std::string& snapshot_id) override;
  result<void> rename_snapshot(const std::string& id, const std::string& snapshot_id,
                               const std::string& name) override;
  result<std::vector<snapshot_info>> list_snapshots(const std::string& id) override;

 private:
  struct system {
    vm_config cfg;
    vm_status status;
    std::vector<snapshot_info> snapshots;  ///< parents before children
    int running_ops = 0;
  };
  /// Runs the gate / failure injection of `o`; lock held on entry and exit.
  result<void> checkpoint(std::unique_lock<std::mutex>& lock, op o, const op_control& ctl,
                          system& s);
  system* find(const std::string& id);
  std::string next_id(const char* prefix);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, system> systems_;
  std::map<op, unsigned> holds_;  ///< op -> percent to report before blocking
  std::map<op, errc> failures_;
  std::map<op, int> completed_;
  bool held_ = false;
  bool released_ = false;
  bool status_waits_ = false;
  int max_concurrent_ = 0;
  int counter_ = 0;
};

}  // namespace vsnapd::hv::testing
