#pragma once
// The QEMU/KVM backend of hv::hypervisor: vsnapd defines, launches and supervises
// qemu-system-x86_64 processes itself and drives them over QMP.
//
// Layout of the state directory:
//   <state_dir>/hypervisor.sqlite        snapshot trees, image graph, operation journal
//   <state_dir>/vms/<uuid>/vm.toml       definition (see vm_config_file.hpp)
//   <state_dir>/vms/<uuid>/*.qcow2       base disks and overlays
//   <state_dir>/vms/<uuid>/snap-<id>.mem memory/device state of full snapshots
//   <state_dir>/vms/<uuid>/qmp.sock, qemu.pid, console.sock, console.log, qemu.log
//
// Threading: the interface methods block the calling (worker) thread; QMP I/O runs on the
// backend's own io_context thread, on one strand per VM. One mutating operation per VM at a
// time: a second one waits for the first.

#include "hypervisor/hypervisor.hpp"

#include <chrono>
#include <future>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::hv::qemu {

class snapshot_store;
class step_clock;

/// Settings of the backend.
struct qemu_options {
  std::string state_dir;                         ///< created when missing
  std::string qemu_binary = "qemu-system-x86_64";
  std::chrono::milliseconds qmp_timeout{30000};  ///< per QMP command
  std::chrono::milliseconds agent_timeout{300};  ///< guest agent ping
  /// Cap on the rate a full snapshot or save copies guest memory to its file, in bytes per
  /// second; 0 is unlimited. The copy is live (the guest runs), so a cap trades a longer
  /// snapshot for less disk bandwidth taken from the host's other work.
  std::uint64_t memory_copy_bytes_per_second = 0;
  /// Accelerator for `accel = auto`; unset probes once (accel_probe.hpp).
  std::optional<accel> auto_accel;
};

class qemu_hypervisor final : public hypervisor {
 public:
  /// Opens the state directory: loads VM definitions, finishes or rolls back operations a
  /// crash interrupted (journal), and re-attaches to VMs whose QEMU is still running.
  /// Errors: journal_failed, invalid_argument (unreadable definition).
  [[nodiscard]] static result<std::unique_ptr<qemu_hypervisor>> open(const qemu_options& opts);

  /// Stops the I/O thread. Running VMs keep running (they are re-attached by the next open).
  ~qemu_hypervisor() override;

  /// True when this open created the state (no hypervisor database existed): the daemon's
  /// first start, the one moment a demo VM is defined.
  [[nodiscard]] bool first_open() const { return first_open_; }

  /// Defines every VM described by `*.toml` files in `dir` whose uuid (or, without uuid,
  /// name) is not defined yet. @return the number defined.
  [[nodiscard]] result<std::size_t> load_definitions(const std::string& dir);

  // hv::hypervisor
  result<std::vector<std::string>> list_systems() override;
  result<vm_config> get_config(const std::string& id) override;
  result<vm_status> get_status(const std::string& id) override;
  result<std::string> define_system(const vm_config& cfg) override;
  result<void> modify_system(const std::string& id, const vm_config& cfg) override;
  result<void> destroy_system(const std::string& id) override;
  result<void> change_state(const std::string& id, state_change change,
                            const op_control& ctl) override;
  result<void> clear_snapshot_state(const std::string& id, const std::string& snapshot_id) override;
  result<snapshot_info> create_snapshot(const std::string& id, const snapshot_request& req,
                                        const op_control& ctl, op_timing* timing) override;
  result<void> apply_snapshot(const std::string& id, const std::string& snapshot_id,
                              const op_control& ctl, op_timing* timing) override;
  result<void> destroy_snapshot(const std::string& id, const std::string& snapshot_id,
                                const op_control& ctl, op_timing* timing) override;
  result<void> rename_snapshot(const std::string& id, const std::string& snapshot_id,
                               const std::string& name) override;
  result<std::vector<snapshot_info>> list_snapshots(const std::string& id) override;

  /// The VM's directory (console.log, console.sock live there).
  [[nodiscard]] result<std::string> vm_dir(const std::string& id);

  /// The image each disk currently writes to, in disk order.
  [[nodiscard]] result<std::vector<std::string>> active_images(const std::string& id);

  /// Every image file the backend tracks for a VM (for `qemu-img check` in tests).
  [[nodiscard]] result<std::vector<std::string>> image_files(const std::string& id);

  /// Runs an HMP command (e.g. `qemu-io -d disk0 "write -P 0x11 0 4k"`) in the running VM.
  [[nodiscard]] result<std::string> human_monitor_command_for_test(const std::string& id,
                                                                   const std::string& cmd);

  /// Runs a QMP command with `args_json` (a JSON object text) in the running VM and returns the
  /// answer's "return" as JSON text (benchmarks compare against QEMU's own commands).
  [[nodiscard]] result<std::string> qmp_command_for_test(const std::string& id,
                                                         const std::string& command,
                                                         const std::string& args_json);

  /// Waits until no QMP job of the VM is left (after snapshot-save and similar jobs).
  [[nodiscard]] result<void> wait_jobs_for_test(const std::string& id,
                                                std::chrono::milliseconds timeout);

  /// With no VM defined: defines `demo` (128 MiB, one 1 GiB disk), booting `<guest_dir>/vmlinux`
  /// (or `vmlinuz`) + `initrd.img` when they exist and the firmware otherwise. The daemon calls
  /// it on first_open() only, so a user who destroyed the demo VM does not get it back.
  /// @return the new VM's id, or nothing when VMs were defined already.
  [[nodiscard]] result<std::optional<std::string>> define_demo_if_empty(const std::string& guest_dir);

  /// Makes the next create/apply/destroy stop dead after journal step `step` (1 = files made,
  /// 2 = hypervisor switched; 3 = full snapshot paused in pre-switchover, `kill` only) without
  /// cleaning up: with `kill` the process SIGKILLs
  /// itself there, otherwise the call returns errc::backend_failed leaving files and database
  /// as the kill would. Recovery is then exercised by opening the state again.
  void crash_after_step_for_test(int step, bool kill = false) {
    crash_step_ = step;
    crash_kill_ = kill;
  }

 private:
  struct vm_rt;
  struct io;
  explicit qemu_hypervisor(const qemu_options& opts);

  [[nodiscard]] result<std::shared_ptr<vm_rt>> find(const std::string& id);
  [[nodiscard]] result<void> load_vm(const std::string& dir);
  [[nodiscard]] result<void> recover();
  [[nodiscard]] accel resolve_accel(accel a);
  /// `incoming` non-empty: start with `-incoming defer`; `inherit_fd` (>= 0) is passed to QEMU
  /// under the same number (the migration stream for `migrate-incoming fd:N`).
  [[nodiscard]] result<void> launch(vm_rt& vm, bool paused, const std::string& incoming,
                                    int inherit_fd = -1);
  [[nodiscard]] result<void> attach(vm_rt& vm, std::chrono::milliseconds timeout);
  [[nodiscard]] result<void> stop_process(vm_rt& vm, bool graceful,
                                          std::chrono::milliseconds timeout);
  [[nodiscard]] result<vm_state> live_state(vm_rt& vm);
  [[nodiscard]] result<void> restore_memory(vm_rt& vm, const std::string& file, bool resume,
                                           step_clock* steps = nullptr);
  [[nodiscard]] result<void> gc_image(vm_rt& vm, const std::string& path, const op_control& ctl,
                                      step_clock* steps = nullptr);
  [[nodiscard]] bool crash_here(int step);
  /// Moves a file no snapshot needs any more aside (`reap-<name>` in the VM's directory) and
  /// unlinks it on a background thread; the destructor waits for those threads.
  void reap_later(vm_rt& vm, const std::string& path);
  static constexpr std::string_view reap_prefix = "reap-";

  qemu_options opts_;
  std::unique_ptr<io> io_;
  std::unique_ptr<snapshot_store> store_;
  std::mutex mu_;  // vms_
  std::map<std::string, std::shared_ptr<vm_rt>> vms_;
  std::once_flag probe_once_;
  accel probed_ = accel::tcg;
  bool first_open_ = false;
  int crash_step_ = 0;
  bool crash_kill_ = false;
  std::mutex reap_mu_;                       // reaping_
  std::vector<std::future<void>> reaping_;   // last member: destroyed (joined) first
};

}  // namespace vsnapd::hv::qemu
