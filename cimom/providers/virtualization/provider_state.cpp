#include "cimom/providers/virtualization/provider_state.hpp"

#include "cimom/instance.hpp"
#include "cimom/persistence/instance_store.hpp"

#include <vector>

namespace vsnapd::cim::providers::virtualization {
namespace {

// Internal record classes: never served, so they need no MOF (as the job manager's records).
constexpr std::string_view record_ns = "vsnapd/virtualization";
constexpr std::string_view last_applied_class = "VSNAPD_LastApplied";
constexpr std::string_view recovery_class = "VSNAPD_RecoverySnapshot";

object_path last_applied_path(const std::string& vm) {
  object_path p{std::string(record_ns), std::string(last_applied_class)};
  p.set_key("VM", value(std::string_view(vm)));
  return p;
}

object_path recovery_path(const std::string& snapshot) {
  object_path p{std::string(record_ns), std::string(recovery_class)};
  p.set_key("Snapshot", value(std::string_view(snapshot)));
  return p;
}

const std::string* text(const instance& i, std::string_view name) {
  const value* v = i.get(name);
  return v != nullptr ? v->get_if<std::string>() : nullptr;
}

}  // namespace

provider_state::~provider_state() = default;

result<std::unique_ptr<provider_state>> provider_state::open(const std::string& state_dir) {
  std::unique_ptr<provider_state> s(new provider_state());
  if (!state_dir.empty()) {
    persistence::store_options options;
    options.file = state_dir + "/virtualization.sqlite";
    s->store_ = VSNAPD_TRY(persistence::instance_store::open(options));
    VSNAPD_TRY_VOID(s->load());
  }
  return s;
}

result<void> provider_state::load() {
  std::vector<instance> batch;
  auto applied = VSNAPD_TRY(store_->enumerate(record_ns, last_applied_class));
  for (bool more = true; more;) {
    more = VSNAPD_TRY(applied->next(batch, 64));
  }
  for (const auto& i : batch) {
    const auto* vm = text(i, "VM");
    const auto* snap = text(i, "Snapshot");
    if (vm != nullptr && snap != nullptr) {
      last_applied_[*vm] = *snap;
    }
  }
  batch.clear();
  auto recovery = VSNAPD_TRY(store_->enumerate(record_ns, recovery_class));
  for (bool more = true; more;) {
    more = VSNAPD_TRY(recovery->next(batch, 64));
  }
  for (const auto& i : batch) {
    if (const auto* snap = text(i, "Snapshot"); snap != nullptr) {
      recovery_.insert(*snap);
    }
  }
  return {};
}

std::optional<std::string> provider_state::last_applied(const std::string& vm) const {
  std::lock_guard lock(mutex_);
  const auto it = last_applied_.find(vm);
  if (it == last_applied_.end()) {
    return std::nullopt;
  }
  return it->second;
}

result<void> provider_state::set_last_applied(const std::string& vm, const std::string& snapshot) {
  std::lock_guard lock(mutex_);
  if (store_) {
    instance rec{std::string(last_applied_class)};
    rec.set("VM", value(std::string_view(vm))).set("Snapshot", value(std::string_view(snapshot)));
    VSNAPD_TRY_VOID(store_->put(last_applied_path(vm), rec));
  }
  last_applied_[vm] = snapshot;
  return {};
}

bool provider_state::is_recovery(const std::string& snapshot) const {
  std::lock_guard lock(mutex_);
  return recovery_.count(snapshot) != 0;
}

result<void> provider_state::mark_recovery(const std::string& snapshot) {
  std::lock_guard lock(mutex_);
  if (store_) {
    instance rec{std::string(recovery_class)};
    rec.set("Snapshot", value(std::string_view(snapshot)));
    VSNAPD_TRY_VOID(store_->put(recovery_path(snapshot), rec));
  }
  recovery_.insert(snapshot);
  return {};
}

result<void> provider_state::forget_snapshot(const std::string& snapshot) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> vms;
  for (const auto& [vm, snap] : last_applied_) {
    if (snap == snapshot) {
      vms.push_back(vm);
    }
  }
  if (store_) {
    auto tx = VSNAPD_TRY(store_->begin());
    VSNAPD_TRY(tx.erase(recovery_path(snapshot)));
    for (const auto& vm : vms) {
      VSNAPD_TRY(tx.erase(last_applied_path(vm)));
    }
    VSNAPD_TRY_VOID(tx.commit());
  }
  recovery_.erase(snapshot);
  for (const auto& vm : vms) {
    last_applied_.erase(vm);
  }
  return {};
}

result<void> provider_state::forget_vm(const std::string& vm) {
  std::lock_guard lock(mutex_);
  if (store_) {
    VSNAPD_TRY(store_->erase(last_applied_path(vm)));
  }
  last_applied_.erase(vm);
  return {};
}

}  // namespace vsnapd::cim::providers::virtualization
