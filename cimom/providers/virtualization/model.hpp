#pragma once
// The CIM shape of the hypervisor's objects (STYLE rule 5: format code apart from the code that
// acts): object paths and instances of the root/virtualization/v2 classes built from hv values,
// and the parsing of what clients send (references, embedded settings, requested states). Pure
// functions, no I/O, no locks: testable without a hypervisor.
//
// Identity: a virtual machine is Msvm_ComputerSystem.Name = its UUID; its current settings are
// Msvm_VirtualSystemSettingData.InstanceID "Microsoft:<vm uuid>" and a snapshot's
// "Microsoft:<snapshot id>" (as Hyper-V); the host is Msvm_ComputerSystem.Name = the host name.

#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"
#include "cimom/value.hpp"
#include "hypervisor/vm.hpp"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace vsnapd::cim::providers::virtualization {

/// Class names, service names and constants the providers publish.
namespace names {
inline constexpr std::string_view ns = "root/virtualization/v2";
inline constexpr std::string_view interop_ns = "root/interop";
inline constexpr std::string_view computer_system = "Msvm_ComputerSystem";
inline constexpr std::string_view vssd = "Msvm_VirtualSystemSettingData";
inline constexpr std::string_view sasd = "Msvm_StorageAllocationSettingData";
inline constexpr std::string_view snapshot_service = "Msvm_VirtualSystemSnapshotService";
inline constexpr std::string_view snapshot_service_name = "vssnapsvc";
inline constexpr std::string_view management_service = "Msvm_VirtualSystemManagementService";
inline constexpr std::string_view management_service_name = "vmms";
inline constexpr std::string_view snapshot_service_caps =
    "Msvm_VirtualSystemSnapshotServiceCapabilities";
inline constexpr std::string_view management_caps = "Msvm_VirtualSystemManagementCapabilities";
inline constexpr std::string_view vm_snapshot_caps = "CIM_VirtualSystemSnapshotCapabilities";
inline constexpr std::string_view snapshot_settings = "Msvm_VirtualSystemSnapshotSettingData";
inline constexpr std::string_view job = "Msvm_ConcreteJob";
inline constexpr std::string_view instance_id_prefix = "Microsoft:";
inline constexpr std::string_view type_realized = "Microsoft:Hyper-V:System:Realized";
inline constexpr std::string_view type_snapshot = "Microsoft:Hyper-V:Snapshot:Realized";
inline constexpr std::string_view type_recovery = "Microsoft:Hyper-V:Snapshot:Recovery";
inline constexpr std::string_view snapshot_service_caps_id = "Microsoft:SnapshotServiceCapabilities";
inline constexpr std::string_view management_caps_id = "Microsoft:ManagementCapabilities";
/// DSP1044 registration in root/interop (schema/interop/registered_profiles.mof).
inline constexpr std::string_view dsp1044_profile_id = "vsnapd:DSP1044-1.0.0";
}  // namespace names

/// SnapshotType values (CreateSnapshot).
inline constexpr std::uint16_t snapshot_type_full = 2;
inline constexpr std::uint16_t snapshot_type_disk = 3;
inline constexpr std::uint16_t snapshot_type_recovery = 32768;  ///< Hyper-V's backup checkpoint

/// A reference value to `p`.
value ref(const object_path& p);
/// A uint16 array value.
value u16_array(std::initializer_list<std::uint16_t> items);

// --- Paths ------------------------------------------------------------------------------------

object_path host_path(std::string_view host);
object_path vm_path(std::string_view uuid);
/// The VSSD of a VM's current settings (id = VM uuid) or of a snapshot (id = snapshot id).
object_path vssd_path(std::string_view id);
/// The disk `index` of the VSSD `owner_id`.
object_path sasd_path(std::string_view owner_id, std::size_t index);
object_path snapshot_service_path(std::string_view host);
object_path management_service_path(std::string_view host);
object_path snapshot_service_caps_path();
object_path management_caps_path();
object_path vm_snapshot_caps_path(std::string_view uuid);

// --- Instances --------------------------------------------------------------------------------

/// Msvm_ComputerSystem EnabledState of a run state (2 Enabled, 3 Disabled, 6 Enabled but
/// Offline for saved, 9 Quiesce for paused, 10 Starting).
std::uint16_t enabled_state(hv::vm_state s);
/// A CIM datetime of a system_clock time (UTC).
datetime to_datetime(std::chrono::system_clock::time_point t);
/// Hyper-V's name for a checkpoint nobody named: "<VM> - (YYYY/MM/DD - HH:MM:SS)" (UTC).
std::string default_snapshot_name(std::string_view vm_name,
                                  std::chrono::system_clock::time_point t);

instance host_instance(std::string_view host);
instance vm_instance(const hv::vm_config& cfg, const hv::vm_status& st);
/// The current settings of a VM; Parent is its current snapshot when it has one.
instance current_vssd(std::string_view host, const hv::vm_config& cfg, const hv::vm_status& st);
/// A snapshot's settings; `recovery` marks a 32768 recovery checkpoint.
instance snapshot_vssd(std::string_view host, const hv::vm_config& cfg, const hv::snapshot_info& s,
                       bool recovery);
/// Disk `index` of the VSSD `owner_id`, backed by `image` (the file path).
instance sasd_instance(std::string_view owner_id, std::size_t index, std::string_view image,
                       std::uint64_t size_bytes);
instance snapshot_service_instance(std::string_view host);
instance management_service_instance(std::string_view host);
instance snapshot_service_caps_instance();
instance management_caps_instance();
instance vm_snapshot_caps_instance(std::string_view uuid);

// --- What clients send ------------------------------------------------------------------------

/// The VM uuid a CIM_ComputerSystem / Msvm_ComputerSystem reference names, or nullopt when the
/// reference is of another class, another namespace, lacks Name, or carries a CreationClassName
/// other than Msvm_ComputerSystem (a foreign object). Whether the VM exists is not checked.
std::optional<std::string> vm_id_of(const object_path& p);
/// The id (VM uuid or snapshot id) a CIM_/Msvm_VirtualSystemSettingData reference names: its
/// InstanceID without the "Microsoft:" prefix; nullopt for other classes, namespaces or shapes.
std::optional<std::string> vssd_id_of(const object_path& p);

/// CreateSnapshot's SnapshotSettings, as far as vsnapd uses them.
struct snapshot_settings {
  hv::consistency level = hv::consistency::unknown;  ///< unknown: try the guest agent
  bool ignore_non_snapshottable_disks = false;       ///< every qcow2 disk can be snapshotted
  std::string name;                                  ///< ElementName of a VSSD-style request
};
/// Reads SnapshotSettings: NULL or absent (clients send an empty string) gives the defaults;
/// an embedded Msvm_VirtualSystemSnapshotSettingData (or CIM_SettingData) gives its
/// ConsistencyLevel and IgnoreNonSnapshottableDisks; an embedded VSSD (XenServer-style) gives
/// its ElementName as the snapshot's name. @return the settings, or a message saying what is
/// wrong (another class, a ConsistencyLevel outside 0..2, a value of the wrong type).
struct settings_or_error {
  std::optional<snapshot_settings> settings;
  std::string error;
};
settings_or_error parse_snapshot_settings(const value& v);

/// What RequestStateChange(RequestedState) asks of a VM in state `current`.
struct state_request {
  std::optional<hv::state_change> change;  ///< nullopt: already there, nothing to do
  bool long_running = false;               ///< run as a job (start, shutdown, save)
};
/// @return the request, or nullopt for a RequestedState vsnapd does not implement (7 Test,
/// 8 Defer, 1 Other, the Critical values ...) or that makes no sense in `current` (Quiesce of
/// a stopped VM is left to the hypervisor, which answers invalid_state).
std::optional<state_request> map_requested_state(std::uint16_t requested, hv::vm_state current);

}  // namespace vsnapd::cim::providers::virtualization
