#pragma once
// What the virtualization providers know that the hypervisor does not record: which snapshot
// was last applied to each VM (CIM_LastAppliedSnapshot; the hypervisor's current snapshot is
// also moved by CreateSnapshot) and which snapshots were taken as 32768 recovery checkpoints
// (VirtualSystemType Microsoft:Hyper-V:Snapshot:Recovery; the hypervisor takes them as disk
// snapshots). Kept in memory and, with a state directory, in its own SQLite file
// (`virtualization.sqlite`, through cim::persistence::instance_store) so that a daemon restart
// shows the same associations. Each change is written before the call returns. Thread-safe.

#include "cimom/error.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace vsnapd::cim::persistence {
class instance_store;
}

namespace vsnapd::cim::providers::virtualization {

class provider_state {
 public:
  /// Opens (or creates) `<state_dir>/virtualization.sqlite` and loads it; an empty state_dir
  /// keeps everything in memory. @return errc::failed when the file cannot be read.
  [[nodiscard]] static result<std::unique_ptr<provider_state>> open(const std::string& state_dir);
  ~provider_state();
  provider_state(const provider_state&) = delete;
  provider_state& operator=(const provider_state&) = delete;

  /// The snapshot last applied to `vm`, if any.
  std::optional<std::string> last_applied(const std::string& vm) const;
  /// Records that `snapshot` was applied to `vm`.
  [[nodiscard]] result<void> set_last_applied(const std::string& vm, const std::string& snapshot);
  /// True when `snapshot` was taken as a recovery checkpoint.
  bool is_recovery(const std::string& snapshot) const;
  [[nodiscard]] result<void> mark_recovery(const std::string& snapshot);
  /// Forgets a destroyed snapshot (its recovery mark and any last-applied link to it).
  [[nodiscard]] result<void> forget_snapshot(const std::string& snapshot);
  /// Forgets a destroyed VM.
  [[nodiscard]] result<void> forget_vm(const std::string& vm);

 private:
  provider_state() = default;
  result<void> load();

  mutable std::mutex mutex_;
  std::unique_ptr<persistence::instance_store> store_;  ///< null: memory only
  std::map<std::string, std::string> last_applied_;     ///< vm -> snapshot
  std::set<std::string> recovery_;
};

}  // namespace vsnapd::cim::providers::virtualization
