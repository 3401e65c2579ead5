// The snapshot service's methods (DSP1044 and Hyper-V's Msvm_VirtualSystemSnapshotService):
// parameters are checked and the VM leased synchronously, so every refusal is a return value
// at once; the hypervisor work runs in a job.

#include "cimom/name.hpp"
#include "cimom/providers/virtualization/method_params.hpp"
#include "cimom/providers/virtualization/model.hpp"
#include "cimom/providers/virtualization/provider_state.hpp"
#include "cimom/providers/virtualization/virtualization_provider.hpp"

#include <algorithm>
#include <set>

namespace vsnapd::cim::providers::virtualization {
namespace {

std::string busy_message(const std::string& vm, const std::optional<std::string>& holder) {
  return "vm '" + vm + "' is busy with " + holder.value_or("another operation") +
         "; one operation per virtual machine at a time";
}

}  // namespace

virtualization_provider::outcome virtualization_provider::create_snapshot(
    const std::vector<param_value>& in) {
  const object_path* system = ref_param(in, "AffectedSystem");
  if (system == nullptr) {
    return refuse(status::invalid_parameter, "AffectedSystem (a reference) is required");
  }
  const auto vm = vm_id_of(*system);
  if (!vm) {
    return refuse(status::invalid_parameter,
                  "AffectedSystem " + system->to_string() + " is not a virtual machine here");
  }
  std::uint16_t type = snapshot_type_full;  // Hyper-V's standard checkpoint when not given
  if (const value* t = param(in, "SnapshotType"); t != nullptr && t->get_if<std::uint16_t>()) {
    type = *t->get_if<std::uint16_t>();
  }
  if (type != snapshot_type_full && type != snapshot_type_disk &&
      type != snapshot_type_recovery) {
    return refuse(status::invalid_type,
                  "SnapshotType " + std::to_string(type) +
                      " is not supported: use 2 (Full), 3 (Disk) or 32768 (Recovery)");
  }
  const value* raw_settings = param(in, "SnapshotSettings");
  auto settings = parse_snapshot_settings(raw_settings ? *raw_settings : value());
  if (!settings.settings) {
    return refuse(status::invalid_parameter, settings.error);
  }
  // The lease before the VM's status: the backend answers a status query only between two
  // operations on the VM, so asking first would hold this request until a running snapshot
  // ends instead of refusing it at once.
  auto lease = locks_.try_lock(*vm, "CreateSnapshot");
  if (!lease) {
    return refuse(status::busy, busy_message(*vm, locks_.holder(*vm)));
  }
  auto cfg = hv_.get_config(*vm);
  if (!cfg) {
    return refuse(cfg.error(), "AffectedSystem '" + *vm + "'");
  }
  auto st = hv_.get_status(*vm);
  if (!st) {
    return refuse(st.error(), "AffectedSystem '" + *vm + "'");
  }

  hv::snapshot_request req;
  const bool recovery = type == snapshot_type_recovery;
  // A stopped VM has no memory or device state: its full snapshot is its disks, which is what
  // Hyper-V's standard checkpoint of a VM that is off records too. A recovery checkpoint is an
  // application-consistent disk snapshot taken for backup.
  req.type = (type == snapshot_type_full && st->state != hv::vm_state::stopped)
                 ? hv::snapshot_type::full
                 : hv::snapshot_type::disk;
  if (req.type == hv::snapshot_type::full && st->state == hv::vm_state::saved) {
    return refuse(status::invalid_state, "vm '" + *vm +
                                             "' is saved: start it (2) or turn it off (3) before"
                                             " a full snapshot");
  }
  req.quiesce = recovery || settings.settings->level != hv::consistency::crash;
  req.name = settings.settings->name.empty()
                 ? default_snapshot_name(cfg->name, std::chrono::system_clock::now())
                 : settings.settings->name;
  auto o = start_job(
      "CreateSnapshot", "Creating a snapshot of " + cfg->name, snapshot_service_path(host_), {},
      true, std::move(lease),
      [this, id = *vm, req, recovery](jobs::job_context& ctx,
                                      const hv::op_control& ctl) -> result<void> {
        auto snap = hv_.create_snapshot(id, req, ctl);
        if (!snap) {
          return hv_error(snap.error(), "CreateSnapshot of vm '" + id + "'");
        }
        if (recovery) {
          VSNAPD_TRY_VOID(state_.mark_recovery(snap->id));
        }
        // DSP1044: the new snapshot is found through the job, ElementEffects 5 (Create).
        ctx.add_affected_element(jobs::affected_element{vssd_path(snap->id), {5}});
        return {};
      });
  if (o.st == status::job_started) {
    // Hyper-V leaves it empty too: the snapshot does not exist until the job ends.
    o.out.push_back(param_value{"ResultingSnapshot", value::null(cim_type::reference)});
  }
  return o;
}

std::variant<virtualization_provider::located_snapshot, virtualization_provider::outcome>
virtualization_provider::snapshot_param(const std::vector<param_value>& in, std::string_view name) {
  const object_path* target = ref_param(in, name);
  if (target == nullptr) {
    return refuse(status::invalid_parameter, std::string(name) + " (a reference) is required");
  }
  const auto id = vssd_id_of(*target);
  if (!id) {
    return refuse(status::invalid_parameter,
                  std::string(name) + " " + target->to_string() + " is not a snapshot here");
  }
  auto found = find_snapshot(*id);
  if (!found) {
    return refuse(status::failed, found.error().description);
  }
  if (!*found) {
    return refuse(status::invalid_parameter, "no snapshot '" + *id + "' on any virtual machine");
  }
  return std::move(**found);
}

virtualization_provider::outcome virtualization_provider::destroy_snapshot(
    const std::vector<param_value>& in, bool tree) {
  auto resolved = snapshot_param(in, tree ? "SnapshotSettingData" : "AffectedSnapshot");
  if (auto* refusal = std::get_if<outcome>(&resolved)) {
    return std::move(*refusal);
  }
  located_snapshot snap = std::move(std::get<located_snapshot>(resolved));
  auto lease = locks_.try_lock(snap.vm, tree ? "DestroySnapshotTree" : "DestroySnapshot");
  if (!lease) {
    return refuse(status::busy, busy_message(snap.vm, locks_.holder(snap.vm)));
  }
  const std::string name = tree ? "DestroySnapshotTree" : "DestroySnapshot";
  return start_job(
      name, "Deleting snapshot " + snap.info.name, snapshot_service_path(host_),
      {jobs::affected_element{vm_path(snap.vm), {2}}}, true, std::move(lease),
      [this, vm = snap.vm, root = snap.info.id, tree, name](
          jobs::job_context& ctx, const hv::op_control& ctl) -> result<void> {
        (void)ctx;
        std::vector<std::string> doomed{root};
        if (tree) {
          // The tree as it is now (the lease keeps it from changing): parents come before
          // children in list_snapshots, so one pass collects the subtree, and deleting it in
          // reverse removes leaves first and never merges data into a snapshot about to go.
          auto all = hv_.list_snapshots(vm);
          if (!all) {
            return hv_error(all.error(), name + " of vm '" + vm + "'");
          }
          std::set<std::string> in_tree{root};
          doomed.clear();
          for (const auto& s : *all) {
            if (s.id == root || (s.parent && in_tree.count(*s.parent) != 0)) {
              in_tree.insert(s.id);
              doomed.push_back(s.id);
            }
          }
          std::reverse(doomed.begin(), doomed.end());
        }
        const auto n = static_cast<unsigned>(doomed.size());
        for (unsigned k = 0; k < n; ++k) {
          hv::op_control step;
          step.stop = ctl.stop;
          step.progress = [&ctl, k, n](unsigned p) {
            if (ctl.progress) {
              ctl.progress((k * 100 + p) / n);
            }
          };
          auto r = hv_.destroy_snapshot(vm, doomed[k], step);
          if (!r) {
            return hv_error(r.error(), name + " of snapshot '" + doomed[k] + "'");
          }
          VSNAPD_TRY_VOID(state_.forget_snapshot(doomed[k]));
        }
        return {};
      });
}

virtualization_provider::outcome virtualization_provider::apply_snapshot(
    const std::vector<param_value>& in) {
  auto resolved = snapshot_param(in, "Snapshot");
  if (auto* refusal = std::get_if<outcome>(&resolved)) {
    return std::move(*refusal);
  }
  located_snapshot snap = std::move(std::get<located_snapshot>(resolved));
  // Lease first, as in create_snapshot: a busy VM is refused at once.
  auto lease = locks_.try_lock(snap.vm, "ApplySnapshot");
  if (!lease) {
    return refuse(status::busy, busy_message(snap.vm, locks_.holder(snap.vm)));
  }
  auto st = hv_.get_status(snap.vm);
  if (!st) {
    return refuse(st.error(), "vm '" + snap.vm + "'");
  }
  // Hyper-V applies only to a VM that is off or saved; the caller turns it off or saves it
  // first (RequestStateChange 3 or 6), so nobody loses a running guest by accident.
  if (st->state == hv::vm_state::running || st->state == hv::vm_state::paused ||
      st->state == hv::vm_state::starting) {
    return refuse(status::invalid_state,
                  "vm '" + snap.vm + "' is " + std::string(hv::to_string(st->state)) +
                      ": turn it off (RequestStateChange 3) or save it (6) before applying");
  }
  // Not cancellable: a half-applied snapshot would leave the VM with neither state.
  return start_job("ApplySnapshot", "Applying snapshot " + snap.info.name,
                   snapshot_service_path(host_), {jobs::affected_element{vm_path(snap.vm), {2}}},
                   false, std::move(lease),
                   [this, vm = snap.vm, sid = snap.info.id](
                       jobs::job_context& ctx, const hv::op_control& ctl) -> result<void> {
                     (void)ctx;
                     auto r = hv_.apply_snapshot(vm, sid, ctl);
                     if (!r) {
                       return hv_error(r.error(), "ApplySnapshot of '" + sid + "'");
                     }
                     return state_.set_last_applied(vm, sid);
                   });
}

virtualization_provider::outcome virtualization_provider::clear_snapshot_state(
    const std::vector<param_value>& in) {
  auto resolved = snapshot_param(in, "SnapshotSettingData");
  if (auto* refusal = std::get_if<outcome>(&resolved)) {
    return std::move(*refusal);
  }
  const located_snapshot& snap = std::get<located_snapshot>(resolved);
  if (!snap.info.memory_file) {
    return outcome{};  // a disk snapshot has no saved state: already clear
  }
  // Quick (one database update and a file deletion): synchronous, under the VM's lock so it
  // cannot race an ApplySnapshot reading the same memory file.
  auto lease = locks_.try_lock(snap.vm, "ClearSnapshotState");
  if (!lease) {
    return refuse(status::busy, busy_message(snap.vm, locks_.holder(snap.vm)));
  }
  if (auto r = hv_.clear_snapshot_state(snap.vm, snap.info.id); !r) {
    return refuse(r.error(), "ClearSnapshotState of '" + snap.info.id + "'");
  }
  return outcome{};
}

}  // namespace vsnapd::cim::providers::virtualization
