#pragma once
// The one-mutating-operation-per-VM rule: a snapshot, apply, destroy, state change or
// definition change holds its VM's lease from the moment the method accepts it until its job
// ends. A second request on the same VM does not wait (a WS-Man client would time out behind a
// long snapshot); it is refused with Invalid State (5 / 32775 / 4099 Busy, by code set).
// Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace vsnapd::cim::providers::virtualization {

class vm_locks {
 public:
  /// Held while an operation runs; releases the VM when the last copy is destroyed (jobs keep
  /// it in their work function, which may be copied).
  using lease = std::shared_ptr<const void>;

  /// Takes `vm` for the operation `what` (for the refusal message of the next caller).
  /// @return the lease, or nullptr when another operation holds the VM.
  lease try_lock(const std::string& vm, std::string_view what);
  /// What holds `vm`, or nullopt when it is free.
  std::optional<std::string> holder(const std::string& vm) const;

 private:
  void release(const std::string& vm);

  mutable std::mutex mutex_;
  std::map<std::string, std::string> held_;  ///< vm -> operation
};

}  // namespace vsnapd::cim::providers::virtualization
