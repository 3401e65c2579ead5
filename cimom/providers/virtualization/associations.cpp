// Association instances, computed like the instances (instances.cpp) from the hypervisor, plus
// the last-applied links the provider persists. References filters them by the source's keys,
// so a source named through a CIM_ class path finds the Msvm_ instances.

#include "cimom/name.hpp"
#include "cimom/providers/virtualization/model.hpp"
#include "cimom/providers/virtualization/provider_state.hpp"
#include "cimom/providers/virtualization/virtualization_provider.hpp"

namespace vsnapd::cim::providers::virtualization {
namespace {

instance link(std::string_view cls, std::string_view role_a, const object_path& a,
              std::string_view role_b, const object_path& b) {
  instance i{std::string(cls)};
  i.set(role_a, ref(a)).set(role_b, ref(b));
  return i;
}

// Same instance named two ways: keys equal (class-name keys case-insensitively). Namespace and
// class are not compared: a source may name the object by a superclass (CIM_ComputerSystem).
bool same_object(const object_path& a, const object_path& b) {
  if (a.keys().size() != b.keys().size()) {
    return false;
  }
  for (const auto& k : a.keys()) {
    const value* other = b.key(k.name);
    if (other == nullptr) {
      return false;
    }
    const auto* x = k.v.get_if<std::string>();
    const auto* y = other->get_if<std::string>();
    const bool class_key =
        name_equal(k.name, "CreationClassName") || name_equal(k.name, "SystemCreationClassName");
    if (x != nullptr && y != nullptr && class_key) {
      if (!name_equal(*x, *y)) {
        return false;
      }
    } else if (!(k.v == *other)) {
      return false;
    }
  }
  return true;
}

}  // namespace

result<std::vector<instance>> virtualization_provider::associations_of(
    std::string_view assoc_class) {
  std::vector<instance> out;
  const auto is = [&](std::string_view c) { return name_equal(assoc_class, c); };
  if (is("Msvm_HostedService")) {
    out.push_back(link(assoc_class, "Antecedent", host_path(host_), "Dependent",
                       snapshot_service_path(host_)));
    out.push_back(link(assoc_class, "Antecedent", host_path(host_), "Dependent",
                       management_service_path(host_)));
    return out;
  }
  const bool caps = is("Msvm_ElementCapabilities");
  if (caps) {
    out.push_back(link(assoc_class, "ManagedElement", snapshot_service_path(host_),
                       "Capabilities", snapshot_service_caps_path()));
    out.push_back(link(assoc_class, "ManagedElement", management_service_path(host_),
                       "Capabilities", management_caps_path()));
  }
  const bool define_state = is("Msvm_SettingsDefineState");
  const bool components = is("Msvm_VirtualSystemSettingDataComponent");
  const bool snapshot_of = is("Msvm_SnapshotOfVirtualSystem");
  const bool most_current = is("Msvm_MostCurrentSnapshotInBranch");
  const bool last_applied = is("Msvm_LastAppliedSnapshot");
  const bool parent_child = is("Msvm_ParentChildSettingData");
  if (!caps && !define_state && !components && !snapshot_of && !most_current && !last_applied &&
      !parent_child) {
    return out;
  }
  auto vms = hv_.list_systems();
  if (!vms) {
    return hv_error(vms.error(), "listing virtual machines");
  }
  for (const auto& vm : *vms) {
    const object_path vm_ref = vm_path(vm);
    if (caps) {
      out.push_back(link(assoc_class, "ManagedElement", vm_ref, "Capabilities",
                         vm_snapshot_caps_path(vm)));
      continue;
    }
    if (define_state) {
      out.push_back(link(assoc_class, "ManagedElement", vm_ref, "SettingData", vssd_path(vm)));
      continue;
    }
    auto st = hv_.get_status(vm);
    auto snaps = hv_.list_snapshots(vm);
    if (!st || !snaps) {
      const auto& ec = !st ? st.error() : snaps.error();
      if (ec == hv::errc::no_such_system) {
        continue;  // destroyed since list_systems
      }
      return hv_error(ec, "reading vm '" + vm + "'");
    }
    if (components) {
      auto cfg = hv_.get_config(vm);
      if (!cfg) {
        return hv_error(cfg.error(), "reading vm '" + vm + "'");
      }
      for (std::size_t i = 0; i < cfg->disks.size(); ++i) {
        out.push_back(link(assoc_class, "GroupComponent", vssd_path(vm), "PartComponent",
                           sasd_path(vm, i)));
      }
      for (const auto& s : *snaps) {
        for (std::size_t i = 0; i < s.disk_images.size(); ++i) {
          out.push_back(link(assoc_class, "GroupComponent", vssd_path(s.id), "PartComponent",
                             sasd_path(s.id, i)));
        }
      }
    } else if (snapshot_of) {
      for (const auto& s : *snaps) {
        out.push_back(link(assoc_class, "Antecedent", vm_ref, "Dependent", vssd_path(s.id)));
      }
    } else if (most_current) {
      if (st->current_snapshot) {
        out.push_back(link(assoc_class, "Antecedent", vm_ref, "Dependent",
                           vssd_path(*st->current_snapshot)));
      }
    } else if (last_applied) {
      const auto applied = state_.last_applied(vm);
      if (applied) {
        for (const auto& s : *snaps) {
          if (s.id == *applied) {
            out.push_back(link(assoc_class, "Antecedent", vssd_path(s.id), "Dependent", vm_ref));
          }
        }
      }
    } else if (parent_child) {
      for (const auto& s : *snaps) {
        if (s.parent) {
          out.push_back(link(assoc_class, "Antecedent", vssd_path(*s.parent), "Dependent",
                             vssd_path(s.id)));
        }
      }
      // The VM's current settings derive from its current snapshot, as Hyper-V links them.
      if (st->current_snapshot) {
        out.push_back(link(assoc_class, "Antecedent", vssd_path(*st->current_snapshot),
                           "Dependent", vssd_path(vm)));
      }
    }
  }
  return out;
}

result<std::unique_ptr<instance_cursor>> virtualization_provider::references(
    const operation_context& ctx, const class_decl& assoc_class, const object_path& source,
    std::string_view role) {
  (void)ctx;
  auto all = VSNAPD_TRY(associations_of(assoc_class.name));
  std::vector<instance> hits;
  for (auto& a : all) {
    bool hit = false;
    for (const auto& p : a.properties()) {
      if (!role.empty() && !name_equal(p.name, role)) {
        continue;
      }
      const auto* r = p.v.get_if<reference>();
      if (r != nullptr && *r != nullptr && same_object(**r, source)) {
        hit = true;
        break;
      }
    }
    if (hit) {
      hits.push_back(std::move(a));
    }
  }
  return std::unique_ptr<instance_cursor>(std::make_unique<vector_cursor>(std::move(hits)));
}

}  // namespace vsnapd::cim::providers::virtualization
