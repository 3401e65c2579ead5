// Instances of the virtualization classes, computed from the hypervisor on every call: the
// hypervisor's snapshot journal is the one source of truth, so nothing here can go stale.

#include "cimom/name.hpp"
#include "cimom/providers/virtualization/model.hpp"
#include "cimom/providers/virtualization/provider_state.hpp"
#include "cimom/providers/virtualization/virtualization_provider.hpp"

#include <array>
#include <utility>

namespace vsnapd::cim::providers::virtualization {
namespace {

// Requested class (a registered CIM_ base or the served subclass) -> the class served for it.
constexpr std::array<std::pair<std::string_view, std::string_view>, 16> served_for{{
    {"CIM_ComputerSystem", names::computer_system},
    {names::computer_system, names::computer_system},
    {"CIM_VirtualSystemSettingData", names::vssd},
    {names::vssd, names::vssd},
    {"CIM_ResourceAllocationSettingData", names::sasd},
    {"CIM_StorageAllocationSettingData", names::sasd},
    {names::sasd, names::sasd},
    {"CIM_VirtualSystemSnapshotService", names::snapshot_service},
    {names::snapshot_service, names::snapshot_service},
    {"CIM_VirtualSystemManagementService", names::management_service},
    {names::management_service, names::management_service},
    {"CIM_VirtualSystemSnapshotServiceCapabilities", names::snapshot_service_caps},
    {names::snapshot_service_caps, names::snapshot_service_caps},
    {"CIM_VirtualSystemManagementCapabilities", names::management_caps},
    {names::management_caps, names::management_caps},
    {names::vm_snapshot_caps, names::vm_snapshot_caps},
}};

std::string_view served_class(std::string_view requested) {
  for (const auto& [from, to] : served_for) {
    if (name_equal(from, requested)) {
      return to;
    }
  }
  return {};
}

bool is_class_key(std::string_view key) {
  return name_equal(key, "CreationClassName") || name_equal(key, "SystemCreationClassName");
}

// The instance is the one `path` names: every key the path carries matches.
bool matches(const instance& inst, const object_path& path) {
  for (const auto& k : path.keys()) {
    const value* v = inst.get(k.name);
    if (v == nullptr) {
      return false;
    }
    const auto* a = v->get_if<std::string>();
    const auto* b = k.v.get_if<std::string>();
    if (a != nullptr && b != nullptr && is_class_key(k.name)) {
      if (!name_equal(*a, *b)) {
        return false;
      }
    } else if (!(*v == k.v)) {
      return false;
    }
  }
  return true;
}

}  // namespace

result<std::optional<virtualization_provider::located_snapshot>>
virtualization_provider::find_snapshot(const std::string& id) {
  auto vms = hv_.list_systems();
  if (!vms) {
    return hv_error(vms.error(), "listing virtual machines");
  }
  for (const auto& vm : *vms) {
    auto snaps = hv_.list_snapshots(vm);
    if (!snaps) {
      if (snaps.error() == hv::errc::no_such_system) {
        continue;  // destroyed since list_systems
      }
      return hv_error(snaps.error(), "listing snapshots of vm '" + vm + "'");
    }
    for (auto& s : *snaps) {
      if (s.id == id) {
        auto cfg = hv_.get_config(vm);
        if (!cfg) {
          return hv_error(cfg.error(), "reading vm '" + vm + "'");
        }
        return std::optional<located_snapshot>(located_snapshot{vm, std::move(*cfg), std::move(s)});
      }
    }
  }
  return std::optional<located_snapshot>();
}

result<std::vector<instance>> virtualization_provider::instances_of(std::string_view class_name) {
  std::vector<instance> out;
  if (name_equal(class_name, names::snapshot_service)) {
    out.push_back(snapshot_service_instance(host_));
    return out;
  }
  if (name_equal(class_name, names::management_service)) {
    out.push_back(management_service_instance(host_));
    return out;
  }
  if (name_equal(class_name, names::snapshot_service_caps)) {
    out.push_back(snapshot_service_caps_instance());
    return out;
  }
  if (name_equal(class_name, names::management_caps)) {
    out.push_back(management_caps_instance());
    return out;
  }
  const bool systems = name_equal(class_name, names::computer_system);
  const bool settings = name_equal(class_name, names::vssd);
  const bool disks = name_equal(class_name, names::sasd);
  const bool caps = name_equal(class_name, names::vm_snapshot_caps);
  if (!systems && !settings && !disks && !caps) {
    return out;
  }
  if (systems) {
    out.push_back(host_instance(host_));
  }
  auto vms = hv_.list_systems();
  if (!vms) {
    return hv_error(vms.error(), "listing virtual machines");
  }
  for (const auto& vm : *vms) {
    if (caps) {
      out.push_back(vm_snapshot_caps_instance(vm));
      continue;
    }
    auto cfg = hv_.get_config(vm);
    auto st = hv_.get_status(vm);
    if (!cfg || !st) {
      const auto& ec = !cfg ? cfg.error() : st.error();
      if (ec == hv::errc::no_such_system) {
        continue;  // destroyed since list_systems
      }
      return hv_error(ec, "reading vm '" + vm + "'");
    }
    if (systems) {
      out.push_back(vm_instance(*cfg, *st));
      continue;
    }
    if (settings) {
      out.push_back(current_vssd(host_, *cfg, *st));
    } else {
      // The current settings' disks are the images the VM writes to now (Hyper-V reports the
      // differencing disk in use, not the base), so a client follows the real chain.
      for (std::size_t i = 0; i < cfg->disks.size(); ++i) {
        const std::string& image =
            i < st->active_disks.size() ? st->active_disks[i] : cfg->disks[i].path;
        out.push_back(sasd_instance(cfg->uuid, i, image, cfg->disks[i].size_bytes));
      }
    }
    auto snaps = hv_.list_snapshots(vm);
    if (!snaps) {
      return hv_error(snaps.error(), "listing snapshots of vm '" + vm + "'");
    }
    for (const auto& s : *snaps) {
      if (settings) {
        out.push_back(snapshot_vssd(host_, *cfg, s, state_.is_recovery(s.id)));
        continue;
      }
      for (std::size_t i = 0; i < s.disk_images.size(); ++i) {
        const std::uint64_t size = i < cfg->disks.size() ? cfg->disks[i].size_bytes : 0;
        out.push_back(sasd_instance(s.id, i, s.disk_images[i], size));
      }
    }
  }
  return out;
}

result<std::vector<instance>> virtualization_provider::family_of(std::string_view class_name) {
  const std::string_view served = served_class(class_name);
  if (served.empty()) {
    return std::vector<instance>{};
  }
  return instances_of(served);
}

result<instance> virtualization_provider::get_instance(const operation_context& ctx,
                                                       const class_decl& cls,
                                                       const object_path& path) {
  (void)ctx;
  auto all = VSNAPD_TRY(family_of(cls.name));
  for (auto& inst : all) {
    if (matches(inst, path)) {
      return std::move(inst);
    }
  }
  return fail(errc::not_found, "no instance " + path.to_string());
}

result<std::unique_ptr<instance_cursor>> virtualization_provider::enumerate_instances(
    const operation_context& ctx, const class_decl& cls) {
  (void)ctx;
  // Exactly `cls`: the object manager asks once per class of the hierarchy.
  auto all = VSNAPD_TRY(instances_of(cls.name));
  return std::unique_ptr<instance_cursor>(std::make_unique<vector_cursor>(std::move(all)));
}

}  // namespace vsnapd::cim::providers::virtualization
