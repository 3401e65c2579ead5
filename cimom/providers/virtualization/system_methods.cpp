// Msvm_ComputerSystem.RequestStateChange and the management service's DefineSystem,
// DestroySystem and ModifySystemSettings (embedded VSSD and RASD strings as Hyper-V clients
// send them; the object manager has already decoded them into embedded instances).

#include "cimom/name.hpp"
#include "cimom/providers/virtualization/method_params.hpp"
#include "cimom/providers/virtualization/model.hpp"
#include "cimom/providers/virtualization/provider_state.hpp"
#include "cimom/providers/virtualization/virtualization_provider.hpp"

#include <algorithm>
#include <array>

namespace vsnapd::cim::providers::virtualization {
namespace {

// A property of an embedded instance as `type`: clients send numbers as text, and a codec may
// hand them through untyped. nullopt when absent, NULL or not convertible.
template <class T>
std::optional<T> prop(const instance& i, std::string_view name, cim_type type) {
  const value* v = i.get(name);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  auto c = convert(*v, type, false);
  if (!c || c->get_if<T>() == nullptr) {
    return std::nullopt;
  }
  return *c->get_if<T>();
}

std::optional<std::string> text_prop(const instance& i, std::string_view name) {
  return prop<std::string>(i, name, cim_type::string);
}

// The first HostResource of a RASD (an array; GW found Hyper-V refuses it scalar, we accept both).
std::optional<std::string> host_resource(const instance& i) {
  const value* v = i.get("HostResource");
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (!v->is_array()) {
    const auto* s = v->get_if<std::string>();
    return s ? std::optional<std::string>(*s) : std::nullopt;
  }
  if (v->as_array().empty()) {
    return std::nullopt;
  }
  const auto* s = std::get_if<std::string>(&v->as_array().front());
  return s ? std::optional<std::string>(*s) : std::nullopt;
}

// The values Msvm_ComputerSystem.RequestStateChange declares; others are invalid parameters.
constexpr std::array<std::uint16_t, 15> declared_states{1,  2,  3,     4,     6,     7,     8,    9,
                                                        10, 11, 32773, 32776, 32777, 32779, 32780};

constexpr std::uint16_t resource_processor = 3;
constexpr std::uint16_t resource_memory = 4;
constexpr std::uint16_t resource_logical_disk = 31;

}  // namespace

virtualization_provider::outcome virtualization_provider::request_state_change(
    const object_path& target, const std::vector<param_value>& in) {
  if (!name_equal(target.class_name(), "CIM_ComputerSystem") &&
      !name_equal(target.class_name(), names::computer_system)) {
    // The services (CIM_Service.RequestStateChange) run as long as the daemon does.
    return refuse(status::not_supported, "the state of " + target.class_name() +
                                             " follows the daemon and cannot be changed");
  }
  const auto vm = vm_id_of(target);
  if (!vm) {
    return refuse(status::invalid_parameter, target.to_string() + " is not a virtual machine");
  }
  if (*vm == host_) {
    return refuse(status::not_supported, "the host's own state is not managed through vsnapd");
  }
  const value* requested = param(in, "RequestedState");
  if (requested == nullptr || requested->get_if<std::uint16_t>() == nullptr) {
    return refuse(status::invalid_parameter, "RequestedState is required");
  }
  const std::uint16_t rs = *requested->get_if<std::uint16_t>();
  // Lease before status (see create_snapshot): a busy VM is refused at once. Released again
  // when the request needs no change.
  auto lease = locks_.try_lock(*vm, "RequestStateChange");
  if (!lease) {
    return refuse(status::busy, "vm '" + *vm + "' is busy with " +
                                    locks_.holder(*vm).value_or("another operation"));
  }
  auto st = hv_.get_status(*vm);
  if (!st) {
    return refuse(st.error(), "vm '" + *vm + "'");
  }
  const auto req = map_requested_state(rs, st->state);
  if (!req) {
    const bool declared =
        std::find(declared_states.begin(), declared_states.end(), rs) != declared_states.end();
    return refuse(declared ? status::not_supported : status::invalid_parameter,
                  "RequestedState " + std::to_string(rs) + " is not supported for a vsnapd VM");
  }
  if (!req->change) {
    return outcome{};  // already in the requested state
  }
  const hv::state_change change = *req->change;
  if (!req->long_running) {
    auto r = hv_.change_state(*vm, change);
    if (!r) {
      return refuse(r.error(), std::string(hv::to_string(change)) + " of vm '" + *vm + "'");
    }
    return outcome{};
  }
  // A graceful shutdown waits on the guest and may be abandoned; start and save may not.
  const bool cancellable = change == hv::state_change::shutdown;
  return start_job("RequestStateChange",
                   "Changing the state of vm " + *vm + " (" +
                       std::string(hv::to_string(change)) + ")",
                   vm_path(*vm), {jobs::affected_element{vm_path(*vm), {2}}}, cancellable,
                   std::move(lease),
                   [this, id = *vm, change](jobs::job_context& ctx,
                                            const hv::op_control& ctl) -> result<void> {
                     (void)ctx;
                     auto r = hv_.change_state(id, change, ctl);
                     if (!r) {
                       return hv_error(r.error(), std::string(hv::to_string(change)) +
                                                      " of vm '" + id + "'");
                     }
                     return {};
                   });
}

virtualization_provider::outcome virtualization_provider::define_system(
    const std::vector<param_value>& in) {
  const instance* settings = embedded_param(in, "SystemSettings");
  if (settings == nullptr) {
    return refuse(status::invalid_parameter,
                  "SystemSettings must be an embedded Msvm_VirtualSystemSettingData");
  }
  if (!name_equal(settings->class_name(), names::vssd) &&
      !name_equal(settings->class_name(), "CIM_VirtualSystemSettingData")) {
    return refuse(status::invalid_type, "SystemSettings is an instance of " +
                                            settings->class_name() + ", not a VSSD");
  }
  if (const value* rc = param(in, "ReferenceConfiguration"); rc != nullptr && !rc->is_null()) {
    return refuse(status::not_supported, "ReferenceConfiguration (copying a VM) is not supported");
  }
  hv::vm_config cfg;
  cfg.name = text_prop(*settings, "ElementName").value_or("");
  if (cfg.name.empty()) {
    return refuse(status::invalid_parameter, "SystemSettings.ElementName (the VM name) is required");
  }
  cfg.uuid = text_prop(*settings, "VirtualSystemIdentifier").value_or("");
  if (const value* rs = param(in, "ResourceSettings"); rs != nullptr && !rs->is_null()) {
    std::vector<scalar> items;
    if (rs->is_array()) {
      items = rs->as_array();
    } else {
      items.push_back(rs->as_scalar());
    }
    for (const auto& item : items) {
      const auto* e = std::get_if<embedded_instance>(&item);
      if (e == nullptr || *e == nullptr) {
        return refuse(status::invalid_parameter, "ResourceSettings holds a non-instance value");
      }
      const instance& rasd = **e;
      const auto type = prop<std::uint16_t>(rasd, "ResourceType", cim_type::uint16);
      const bool disk =
          name_equal(rasd.class_name(), names::sasd) || type == resource_logical_disk;
      if (disk) {
        auto path = host_resource(rasd);
        if (!path || path->empty()) {
          return refuse(status::invalid_parameter,
                        "a disk in ResourceSettings has no HostResource (the image path)");
        }
        hv::disk_config d;
        d.path = *path;
        // vsnapd extension: a VirtualQuantity in bytes creates a missing image of that size.
        d.size_bytes = prop<std::uint64_t>(rasd, "VirtualQuantity", cim_type::uint64).value_or(0);
        cfg.disks.push_back(std::move(d));
      } else if (type == resource_memory) {
        auto mib = prop<std::uint64_t>(rasd, "VirtualQuantity", cim_type::uint64);
        if (!mib || *mib == 0 || *mib > 0xffffffffu) {
          return refuse(status::invalid_parameter, "memory VirtualQuantity (MiB) is invalid");
        }
        cfg.memory_mib = static_cast<std::uint32_t>(*mib);
      } else if (type == resource_processor) {
        auto n = prop<std::uint64_t>(rasd, "VirtualQuantity", cim_type::uint64);
        if (!n || *n == 0 || *n > 1024) {
          return refuse(status::invalid_parameter, "processor VirtualQuantity is invalid");
        }
        cfg.vcpus = static_cast<std::uint32_t>(*n);
      }
      // Other resources (controllers, drives, NICs Hyper-V clients add) have no vsnapd
      // equivalent yet and are ignored rather than refused, so scripts written for Hyper-V run.
    }
  }
  auto id = hv_.define_system(cfg);
  if (!id) {
    return refuse(id.error(), "DefineSystem of '" + cfg.name + "'");
  }
  outcome o;
  o.out.push_back(param_value{"ResultingSystem", ref(vm_path(*id))});
  o.out.push_back(param_value{"Job", value::null(cim_type::reference)});
  return o;
}

virtualization_provider::outcome virtualization_provider::destroy_system(
    const std::vector<param_value>& in) {
  const value* v = param(in, "AffectedSystem");
  const auto* system = v != nullptr ? v->get_if<reference>() : nullptr;
  if (system == nullptr || *system == nullptr) {
    return refuse(status::invalid_parameter, "AffectedSystem (a reference) is required");
  }
  const auto vm = vm_id_of(**system);
  if (!vm || *vm == host_) {
    return refuse(status::invalid_parameter,
                  "AffectedSystem " + (*system)->to_string() + " is not a virtual machine here");
  }
  auto st = hv_.get_status(*vm);
  if (!st) {
    return refuse(st.error(), "AffectedSystem '" + *vm + "'");
  }
  if (st->state != hv::vm_state::stopped && st->state != hv::vm_state::saved) {
    return refuse(status::invalid_state, "vm '" + *vm + "' is " +
                                             std::string(hv::to_string(st->state)) +
                                             ": turn it off (RequestStateChange 3) first");
  }
  auto lease = locks_.try_lock(*vm, "DestroySystem");
  if (!lease) {
    return refuse(status::busy, "vm '" + *vm + "' is busy with " +
                                    locks_.holder(*vm).value_or("another operation"));
  }
  return start_job("DestroySystem", "Deleting vm " + *vm, management_service_path(host_),
                   {jobs::affected_element{vm_path(*vm), {2}}}, false, std::move(lease),
                   [this, id = *vm](jobs::job_context& ctx,
                                    const hv::op_control& ctl) -> result<void> {
                     (void)ctx;
                     (void)ctl;
                     auto snaps = hv_.list_snapshots(id);
                     auto r = hv_.destroy_system(id);
                     if (!r) {
                       return hv_error(r.error(), "DestroySystem of vm '" + id + "'");
                     }
                     if (snaps) {
                       for (const auto& s : *snaps) {
                         VSNAPD_TRY_VOID(state_.forget_snapshot(s.id));
                       }
                     }
                     return state_.forget_vm(id);
                   });
}

virtualization_provider::outcome virtualization_provider::modify_system_settings(
    const std::vector<param_value>& in) {
  const instance* settings = embedded_param(in, "SystemSettings");
  if (settings == nullptr) {
    return refuse(status::invalid_parameter,
                  "SystemSettings must be an embedded Msvm_VirtualSystemSettingData");
  }
  const auto instance_id = text_prop(*settings, "InstanceID");
  object_path as_path(std::string(names::ns), std::string(names::vssd));
  as_path.set_key("InstanceID", value(std::string_view(instance_id.value_or(""))));
  const auto id = vssd_id_of(as_path);
  if (!id) {
    return refuse(status::invalid_parameter,
                  "SystemSettings.InstanceID '" + instance_id.value_or("") +
                      "' does not name a VM's settings or a snapshot");
  }
  const auto new_name = text_prop(*settings, "ElementName");
  if (!new_name || new_name->empty()) {
    return refuse(status::invalid_parameter,
                  "SystemSettings.ElementName is required (the only setting vsnapd changes)");
  }
  // The VM's current settings: rename the VM.
  if (auto cfg = hv_.get_config(*id); cfg) {
    auto lease = locks_.try_lock(*id, "ModifySystemSettings");
    if (!lease) {
      return refuse(status::busy, "vm '" + *id + "' is busy with " +
                                      locks_.holder(*id).value_or("another operation"));
    }
    cfg->name = *new_name;
    auto r = hv_.modify_system(*id, *cfg);
    if (!r) {
      return refuse(r.error(), "renaming vm '" + *id + "'");
    }
    outcome o;
    o.out.push_back(param_value{"Job", value::null(cim_type::reference)});
    return o;
  }
  // A snapshot: rename it (how Hyper-V clients name a checkpoint after CreateSnapshot).
  auto found = find_snapshot(*id);
  if (!found) {
    return refuse(status::failed, found.error().description);
  }
  if (!*found) {
    return refuse(status::invalid_parameter, "no VM or snapshot '" + *id + "'");
  }
  const std::string vm = (*found)->vm;
  auto lease = locks_.try_lock(vm, "ModifySystemSettings");
  if (!lease) {
    return refuse(status::busy,
                  "vm '" + vm + "' is busy with " + locks_.holder(vm).value_or("another operation"));
  }
  auto r = hv_.rename_snapshot(vm, *id, *new_name);
  if (!r) {
    return refuse(r.error(), "renaming snapshot '" + *id + "'");
  }
  outcome o;
  o.out.push_back(param_value{"Job", value::null(cim_type::reference)});
  return o;
}

}  // namespace vsnapd::cim::providers::virtualization
