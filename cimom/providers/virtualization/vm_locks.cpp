#include "cimom/providers/virtualization/vm_locks.hpp"

namespace vsnapd::cim::providers::virtualization {

vm_locks::lease vm_locks::try_lock(const std::string& vm, std::string_view what) {
  {
    std::lock_guard lock(mutex_);
    if (!held_.emplace(vm, std::string(what)).second) {
      return nullptr;
    }
  }
  // The deleter releases the VM; the lease's pointee is only a non-null marker.
  return lease(this, [vm](const vm_locks* self) { const_cast<vm_locks*>(self)->release(vm); });
}

std::optional<std::string> vm_locks::holder(const std::string& vm) const {
  std::lock_guard lock(mutex_);
  const auto it = held_.find(vm);
  if (it == held_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void vm_locks::release(const std::string& vm) {
  std::lock_guard lock(mutex_);
  held_.erase(vm);
}

}  // namespace vsnapd::cim::providers::virtualization
