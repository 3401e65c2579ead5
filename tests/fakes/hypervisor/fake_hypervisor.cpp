#include "tests/fakes/hypervisor/fake_hypervisor.hpp"

#include <algorithm>
#include <cstdio>

namespace vsnapd::hv::testing {

void fake_hypervisor::hold_next(op o, unsigned percent) {
  std::lock_guard lock(mutex_);
  holds_[o] = percent;
  released_ = false;
}

bool fake_hypervisor::wait_until_held(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return held_; });
}

void fake_hypervisor::status_waits_for_operations(bool on) {
  std::lock_guard lock(mutex_);
  status_waits_ = on;
}

void fake_hypervisor::release() {
  std::lock_guard lock(mutex_);
  released_ = true;
  cv_.notify_all();
}

void fake_hypervisor::fail_next(op o, errc e) {
  std::lock_guard lock(mutex_);
  failures_[o] = e;
}

int fake_hypervisor::completed(op o) const {
  std::lock_guard lock(mutex_);
  const auto it = completed_.find(o);
  return it == completed_.end() ? 0 : it->second;
}

int fake_hypervisor::max_concurrent_per_system() const {
  std::lock_guard lock(mutex_);
  return max_concurrent_;
}

std::string fake_hypervisor::next_id(const char* prefix) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s-0000-4000-8000-%012d", prefix, ++counter_);
  return buf;
}

std::string fake_hypervisor::add_system(const std::string& name, vm_state state,
                                        std::size_t disks) {
  std::lock_guard lock(mutex_);
  system s;
  s.cfg.uuid = next_id("11111111");
  s.cfg.name = name;
  for (std::size_t i = 0; i < disks; ++i) {
    s.cfg.disks.push_back(disk_config{"/images/" + name + "-" + std::to_string(i) + ".qcow2",
                                      std::uint64_t{1} << 30});
  }
  s.status.state = state;
  if (state == vm_state::running || state == vm_state::paused) {
    s.status.pid = 4242;
  }
  const std::string id = s.cfg.uuid;
  systems_.emplace(id, std::move(s));
  return id;
}

fake_hypervisor::system* fake_hypervisor::find(const std::string& id) {
  const auto it = systems_.find(id);
  return it == systems_.end() ? nullptr : &it->second;
}

result<void> fake_hypervisor::checkpoint(std::unique_lock<std::mutex>& lock, op o,
                                         const op_control& ctl, system& s) {
  ++s.running_ops;
  max_concurrent_ = std::max(max_concurrent_, s.running_ops);
  result<void> r;
  if (const auto h = holds_.find(o); h != holds_.end()) {
    const unsigned percent = h->second;
    holds_.erase(h);
    lock.unlock();
    if (ctl.progress) {
      ctl.progress(percent);
    }
    lock.lock();
    held_ = true;
    cv_.notify_all();
    // The stop token wakes the gate through a callback, as a backend's cancellation would. The
    // callback takes mutex_, so it is registered and unregistered without holding it (it may
    // run at once inside the constructor, and the destructor waits for a running one).
    lock.unlock();
    auto wake = [this] {
      std::lock_guard inner(mutex_);
      cv_.notify_all();
    };
    std::optional<std::stop_callback<decltype(wake)>> on_stop;
    on_stop.emplace(ctl.stop, wake);
    lock.lock();
    cv_.wait(lock, [&] { return released_ || ctl.stop.stop_requested(); });
    held_ = false;
    if (!released_) {
      r = errc::cancelled;
    }
    lock.unlock();
    on_stop.reset();
    lock.lock();
  }
  if (r) {
    if (const auto f = failures_.find(o); f != failures_.end()) {
      r = f->second;
      failures_.erase(f);
    }
  }
  --s.running_ops;
  cv_.notify_all();  // get_status may wait for this (status_waits_for_operations)
  return r;
}

result<std::vector<std::string>> fake_hypervisor::list_systems() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, s] : systems_) {
    ids.push_back(id);
  }
  return ids;
}

result<vm_config> fake_hypervisor::get_config(const std::string& id) {
  std::lock_guard lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  return s->cfg;
}

result<vm_status> fake_hypervisor::get_status(const std::string& id) {
  std::unique_lock lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  if (status_waits_) {
    cv_.wait(lock, [&] { return s->running_ops == 0; });
  }
  return s->status;
}

result<std::string> fake_hypervisor::define_system(const vm_config& cfg) {
  std::lock_guard lock(mutex_);
  if (cfg.name.empty() || cfg.memory_mib == 0) {
    return errc::invalid_argument;
  }
  system s;
  s.cfg = cfg;
  if (s.cfg.uuid.empty()) {
    s.cfg.uuid = next_id("22222222");
  }
  if (systems_.count(s.cfg.uuid) != 0) {
    return errc::already_exists;
  }
  const std::string id = s.cfg.uuid;
  systems_.emplace(id, std::move(s));
  return id;
}

result<void> fake_hypervisor::modify_system(const std::string& id, const vm_config& cfg) {
  std::lock_guard lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  if (s->status.state != vm_state::stopped) {
    return errc::invalid_state;
  }
  s->cfg = cfg;
  s->cfg.uuid = id;
  return {};
}

result<void> fake_hypervisor::destroy_system(const std::string& id) {
  std::lock_guard lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  if (s->status.state != vm_state::stopped && s->status.state != vm_state::saved) {
    return errc::invalid_state;
  }
  systems_.erase(id);
  return {};
}

result<void> fake_hypervisor::change_state(const std::string& id, state_change change,
                                           const op_control& ctl) {
  std::unique_lock lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  const vm_state from = s->status.state;
  std::optional<vm_state> to;
  switch (change) {
    case state_change::start:
      if (from == vm_state::stopped || from == vm_state::saved) to = vm_state::running;
      break;
    case state_change::shutdown:
    case state_change::power_off:
      if (from == vm_state::running || from == vm_state::paused) to = vm_state::stopped;
      break;
    case state_change::pause:
      if (from == vm_state::running) to = vm_state::paused;
      break;
    case state_change::resume:
      if (from == vm_state::paused) to = vm_state::running;
      break;
    case state_change::reset:
      if (from == vm_state::running) to = vm_state::running;
      break;
    case state_change::save:
      if (from == vm_state::running || from == vm_state::paused) to = vm_state::saved;
      break;
  }
  if (!to) {
    return errc::invalid_state;
  }
  VSNAPD_TRY_VOID(checkpoint(lock, op::change_state, ctl, *s));
  s = find(id);
  s->status.state = *to;
  s->status.pid = (*to == vm_state::running || *to == vm_state::paused)
                      ? std::optional<std::int64_t>(4242)
                      : std::nullopt;
  ++completed_[op::change_state];
  return {};
}

result<snapshot_info> fake_hypervisor::create_snapshot(const std::string& id,
                                                       const snapshot_request& req,
                                                       const op_control& ctl, op_timing* timing) {
  std::unique_lock lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  if (req.type == snapshot_type::full && s->status.state == vm_state::stopped) {
    return errc::invalid_state;
  }
  VSNAPD_TRY_VOID(checkpoint(lock, op::create, ctl, *s));
  s = find(id);
  snapshot_info info;
  info.id = next_id("5a5a5a5a");
  info.parent = s->status.current_snapshot;
  info.name = req.name.empty() ? "snapshot " + info.id : req.name;
  info.created = std::chrono::system_clock::now();
  info.type = req.type;
  for (std::size_t i = 0; i < s->cfg.disks.size(); ++i) {
    info.disk_images.push_back("/images/" + info.id + "-" + std::to_string(i) + ".qcow2");
  }
  if (req.type == snapshot_type::full) {
    info.memory_file = "/images/" + info.id + ".vmstate";
  }
  info.level = req.quiesce ? consistency::application : consistency::crash;
  info.taken_in = s->status.state;
  s->snapshots.push_back(info);
  s->status.current_snapshot = info.id;
  ++completed_[op::create];
  lock.unlock();  // progress takes the job manager's lock (see op_control)
  if (ctl.progress) {
    ctl.progress(100);
  }
  if (timing != nullptr) {
    *timing = op_timing{};
  }
  return info;
}

result<void> fake_hypervisor::apply_snapshot(const std::string& id,
                                             const std::string& snapshot_id,
                                             const op_control& ctl, op_timing* timing) {
  (void)timing;
  std::unique_lock lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  const auto it = std::find_if(s->snapshots.begin(), s->snapshots.end(),
                               [&](const snapshot_info& i) { return i.id == snapshot_id; });
  if (it == s->snapshots.end()) {
    return errc::no_such_snapshot;
  }
  const snapshot_info info = *it;
  VSNAPD_TRY_VOID(checkpoint(lock, op::apply, ctl, *s));
  s = find(id);
  s->status.state = info.type == snapshot_type::full ? info.taken_in : vm_state::stopped;
  s->status.current_snapshot = snapshot_id;
  ++completed_[op::apply];
  return {};
}

result<void> fake_hypervisor::destroy_snapshot(const std::string& id,
                                               const std::string& snapshot_id,
                                               const op_control& ctl, op_timing* timing) {
  (void)timing;
  std::unique_lock lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  auto has = [&] {
    return std::any_of(s->snapshots.begin(), s->snapshots.end(),
                       [&](const snapshot_info& i) { return i.id == snapshot_id; });
  };
  if (!has()) {
    return errc::no_such_snapshot;
  }
  VSNAPD_TRY_VOID(checkpoint(lock, op::destroy, ctl, *s));
  s = find(id);
  const auto it = std::find_if(s->snapshots.begin(), s->snapshots.end(),
                               [&](const snapshot_info& i) { return i.id == snapshot_id; });
  const std::optional<std::string> parent = it->parent;
  s->snapshots.erase(it);
  for (auto& c : s->snapshots) {
    if (c.parent == snapshot_id) {
      c.parent = parent;
    }
  }
  if (s->status.current_snapshot == snapshot_id) {
    s->status.current_snapshot = parent;
  }
  ++completed_[op::destroy];
  lock.unlock();  // progress takes the job manager's lock (see op_control)
  if (ctl.progress) {
    ctl.progress(100);
  }
  return {};
}

result<void> fake_hypervisor::clear_snapshot_state(const std::string& id,
                                                   const std::string& snapshot_id) {
  std::lock_guard lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  for (auto& i : s->snapshots) {
    if (i.id == snapshot_id) {
      i.memory_file.reset();
      i.type = snapshot_type::disk;
      return {};
    }
  }
  return errc::no_such_snapshot;
}

result<void> fake_hypervisor::rename_snapshot(const std::string& id,
                                              const std::string& snapshot_id,
                                              const std::string& name) {
  std::lock_guard lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  for (auto& i : s->snapshots) {
    if (i.id == snapshot_id) {
      i.name = name;
      return {};
    }
  }
  return errc::no_such_snapshot;
}

result<std::vector<snapshot_info>> fake_hypervisor::list_snapshots(const std::string& id) {
  std::lock_guard lock(mutex_);
  system* s = find(id);
  if (s == nullptr) {
    return errc::no_such_system;
  }
  return s->snapshots;
}

}  // namespace vsnapd::hv::testing
