#include "cimom/providers/virtualization/model.hpp"

#include "cimom/name.hpp"

#include <ctime>
#include <cstdio>

namespace vsnapd::cim::providers::virtualization {
namespace {

std::string ns_string() { return std::string(names::ns); }

// A string value (value's own constructors take literals and views, not std::string).
value text(std::string s) { return value(scalar(std::move(s))); }

std::string prefixed(std::string_view id) {
  return std::string(names::instance_id_prefix) + std::string(id);
}

// Hyper-V writes VSSD.Parent as a WMI path with the host: clients split it on ':' and '"'.
std::string wmi_vssd_path(std::string_view host, std::string_view id) {
  return "\\\\" + std::string(host) + "\\root\\virtualization\\v2:" + std::string(names::vssd) +
         ".InstanceID=\"" + prefixed(id) + "\"";
}

// A reference from a client belongs to us only in our namespace (or none: WS-Man EPRs of the
// same resource URI family often omit it).
bool our_namespace(const object_path& p) {
  return p.ns().empty() || name_equal(normalize_namespace(p.ns()), names::ns);
}

const std::string* string_key(const object_path& p, std::string_view name) {
  const value* v = p.key(name);
  return v != nullptr ? v->get_if<std::string>() : nullptr;
}

}  // namespace

value ref(const object_path& p) { return value(scalar(std::make_shared<const object_path>(p))); }

value u16_array(std::initializer_list<std::uint16_t> items) {
  std::vector<scalar> out;
  for (auto i : items) {
    out.emplace_back(i);
  }
  return value::array(cim_type::uint16, std::move(out));
}

object_path host_path(std::string_view host) {
  object_path p(ns_string(), std::string(names::computer_system));
  p.set_key("CreationClassName", value(names::computer_system));
  p.set_key("Name", value(host));
  return p;
}

object_path vm_path(std::string_view uuid) { return host_path(uuid); }

object_path vssd_path(std::string_view id) {
  object_path p(ns_string(), std::string(names::vssd));
  p.set_key("InstanceID", text(prefixed(id)));
  return p;
}

object_path sasd_path(std::string_view owner_id, std::size_t index) {
  object_path p(ns_string(), std::string(names::sasd));
  p.set_key("InstanceID", text(prefixed(owner_id) + "\\Disk" + std::to_string(index)));
  return p;
}

namespace {
object_path service_path(std::string_view host, std::string_view cls, std::string_view name) {
  object_path p(ns_string(), std::string(cls));
  p.set_key("SystemCreationClassName", value(names::computer_system));
  p.set_key("SystemName", value(host));
  p.set_key("CreationClassName", value(cls));
  p.set_key("Name", value(name));
  return p;
}
object_path caps_path(std::string_view cls, std::string_view id) {
  object_path p(ns_string(), std::string(cls));
  p.set_key("InstanceID", value(id));
  return p;
}
}  // namespace

object_path snapshot_service_path(std::string_view host) {
  return service_path(host, names::snapshot_service, names::snapshot_service_name);
}
object_path management_service_path(std::string_view host) {
  return service_path(host, names::management_service, names::management_service_name);
}
object_path snapshot_service_caps_path() {
  return caps_path(names::snapshot_service_caps, names::snapshot_service_caps_id);
}
object_path management_caps_path() {
  return caps_path(names::management_caps, names::management_caps_id);
}
object_path vm_snapshot_caps_path(std::string_view uuid) {
  return caps_path(names::vm_snapshot_caps, prefixed(uuid) + ":SnapshotCapabilities");
}

std::uint16_t enabled_state(hv::vm_state s) {
  switch (s) {
    case hv::vm_state::stopped: return 3;
    case hv::vm_state::running: return 2;
    case hv::vm_state::paused: return 9;   // Quiesce, as the v2 namespace reports a paused VM
    case hv::vm_state::saved: return 6;    // Enabled but Offline
    case hv::vm_state::starting: return 10;
  }
  return 0;  // Unknown
}

datetime to_datetime(std::chrono::system_clock::time_point t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  return datetime::from_unix_micros(us.count());
}

std::string default_snapshot_name(std::string_view vm_name,
                                  std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, " - (%04d/%02d/%02d - %02d:%02d:%02d)", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(vm_name) + buf;
}

instance host_instance(std::string_view host) {
  instance i{std::string(names::computer_system)};
  i.set("CreationClassName", value(names::computer_system))
      .set("Name", value(host))
      .set("ElementName", value(host))
      .set("Caption", value("Hosting Computer System"))
      .set("Description", value("Microsoft Hosting Computer System"))
      .set("EnabledState", value(scalar(std::uint16_t{2})))
      .set("HealthState", value(scalar(std::uint16_t{5})))
      .set("OperationalStatus", u16_array({2}));
  return i;
}

instance vm_instance(const hv::vm_config& cfg, const hv::vm_status& st) {
  instance i{std::string(names::computer_system)};
  i.set("CreationClassName", value(names::computer_system))
      .set("Name", text(cfg.uuid))
      .set("ElementName", text(cfg.name))
      .set("Caption", value("Virtual Machine"))
      .set("Description", value("Microsoft Virtual Machine"))
      .set("EnabledState", value(scalar(enabled_state(st.state))))
      .set("RequestedState", value(scalar(std::uint16_t{12})))  // Not Applicable: none pending
      .set("HealthState", value(scalar(std::uint16_t{5})))
      .set("OperationalStatus", u16_array({2}))
      .set("EnabledDefault", value(scalar(std::uint16_t{3})));
  if (st.pid) {
    i.set("ProcessID", value(scalar(static_cast<std::uint32_t>(*st.pid))));
  }
  return i;
}

namespace {
instance vssd_common(std::string_view id, const hv::vm_config& cfg) {
  instance i{std::string(names::vssd)};
  i.set("InstanceID", text(prefixed(id)))
      .set("VirtualSystemIdentifier", text(cfg.uuid))
      .set("Caption", value("Virtual Machine Settings"));
  return i;
}
}  // namespace

instance current_vssd(std::string_view host, const hv::vm_config& cfg, const hv::vm_status& st) {
  instance i = vssd_common(cfg.uuid, cfg);
  i.set("ElementName", text(cfg.name))
      .set("VirtualSystemType", value(names::type_realized))
      .set("Description", value("Active settings for the virtual machine."))
      .set("IsSaved", value(scalar(st.state == hv::vm_state::saved)));
  if (st.current_snapshot) {
    i.set("Parent", text(wmi_vssd_path(host, *st.current_snapshot)));
  }
  return i;
}

instance snapshot_vssd(std::string_view host, const hv::vm_config& cfg, const hv::snapshot_info& s,
                       bool recovery) {
  instance i = vssd_common(s.id, cfg);
  i.set("ElementName", text(s.name))
      .set("VirtualSystemType", value(recovery ? names::type_recovery : names::type_snapshot))
      .set("Description", value("Snapshot settings for the virtual machine."))
      .set("CreationTime", value(scalar(to_datetime(s.created))))
      .set("IsSaved", value(scalar(s.memory_file.has_value())));
  if (s.parent) {
    i.set("Parent", text(wmi_vssd_path(host, *s.parent)));
  }
  return i;
}

instance sasd_instance(std::string_view owner_id, std::size_t index, std::string_view image,
                       std::uint64_t size_bytes) {
  instance i{std::string(names::sasd)};
  const object_path p = sasd_path(owner_id, index);
  i.set("InstanceID", *p.key("InstanceID"))
      .set("ElementName", value("Hard Disk Image"))
      .set("ResourceType", value(scalar(std::uint16_t{31})))  // Logical Disk
      .set("ResourceSubType", value("Microsoft:Hyper-V:Virtual Hard Disk"))
      .set("HostResource", value::array(cim_type::string, {scalar(std::string(image))}))
      .set("Address", text(std::to_string(index)))
      .set("AddressOnParent", text(std::to_string(index)));
  if (size_bytes != 0) {
    i.set("VirtualQuantity", value(scalar(size_bytes)))
        .set("VirtualQuantityUnits", value("byte"));
  }
  return i;
}

instance snapshot_service_instance(std::string_view host) {
  instance i{std::string(names::snapshot_service)};
  i.set("SystemCreationClassName", value(names::computer_system))
      .set("SystemName", value(host))
      .set("CreationClassName", value(names::snapshot_service))
      .set("Name", value(names::snapshot_service_name))
      .set("ElementName", value("Hyper-V Virtual System Snapshot Service"))
      .set("Caption", value("Virtual System Snapshot Service"))
      .set("EnabledState", value(scalar(std::uint16_t{2})))
      .set("HealthState", value(scalar(std::uint16_t{5})))
      .set("OperationalStatus", u16_array({2}))
      .set("Started", value(scalar(true)));
  return i;
}

instance management_service_instance(std::string_view host) {
  instance i{std::string(names::management_service)};
  i.set("SystemCreationClassName", value(names::computer_system))
      .set("SystemName", value(host))
      .set("CreationClassName", value(names::management_service))
      .set("Name", value(names::management_service_name))
      .set("ElementName", value("Hyper-V Virtual System Management Service"))
      .set("Caption", value("Virtual System Management Service"))
      .set("EnabledState", value(scalar(std::uint16_t{2})))
      .set("HealthState", value(scalar(std::uint16_t{5})))
      .set("OperationalStatus", u16_array({2}))
      .set("Started", value(scalar(true)));
  return i;
}

instance snapshot_service_caps_instance() {
  instance i{std::string(names::snapshot_service_caps)};
  // Every snapshot method returns 4096 and a job: none completes synchronously. Both spellings
  // of the asynchronous list are served, because CIM 2.22 misspelled it and old clients read
  // the misspelled one.
  const value async = u16_array({2, 3, 4});  // CreateSnapshot, DestroySnapshot, ApplySnapshot
  i.set("InstanceID", value(names::snapshot_service_caps_id))
      .set("ElementName", value("Hyper-V Virtual System Snapshot Service Capabilities"))
      .set("SynchronousMethodsSupported", value::array(cim_type::uint16, {}))
      .set("AsynchronousMethodsSupported", async)
      .set("AynchronousMethodsSupported", async)
      .set("SnapshotTypesSupported",
           u16_array({snapshot_type_full, snapshot_type_disk, snapshot_type_recovery}));
  return i;
}

instance management_caps_instance() {
  instance i{std::string(names::management_caps)};
  i.set("InstanceID", value(names::management_caps_id))
      .set("ElementName", value("Hyper-V Virtual System Management Service Capabilities"))
      .set("VirtualSystemTypesSupported",
           value::array(cim_type::string, {scalar(std::string(names::type_realized))}))
      // DefineSystem (2) and ModifySystemSettings (6) finish at once; DestroySystem (3) deletes
      // image files and runs as a job.
      .set("SynchronousMethodsSupported", u16_array({2, 6}))
      .set("AsynchronousMethodsSupported", u16_array({3}));
  return i;
}

instance vm_snapshot_caps_instance(std::string_view uuid) {
  instance i{std::string(names::vm_snapshot_caps)};
  i.set("InstanceID", *vm_snapshot_caps_path(uuid).key("InstanceID"))
      .set("ElementName", value("Virtual System Snapshot Capabilities"))
      .set("SnapshotTypesEnabled",
           u16_array({snapshot_type_full, snapshot_type_disk, snapshot_type_recovery}))
      // The guest agent is asked to freeze file systems, but that is best effort, not the
      // DSP1044 notification the property promises.
      .set("GuestOSNotificationEnabled", value(scalar(false)));
  return i;
}

std::optional<std::string> vm_id_of(const object_path& p) {
  if (!our_namespace(p) || !(name_equal(p.class_name(), "CIM_ComputerSystem") ||
                             name_equal(p.class_name(), names::computer_system))) {
    return std::nullopt;
  }
  if (const value* ccn = p.key("CreationClassName"); ccn != nullptr) {
    const auto* s = ccn->get_if<std::string>();
    if (s == nullptr || !name_equal(*s, names::computer_system)) {
      return std::nullopt;
    }
  }
  const std::string* name = string_key(p, "Name");
  if (name == nullptr || name->empty()) {
    return std::nullopt;
  }
  return *name;
}

std::optional<std::string> vssd_id_of(const object_path& p) {
  if (!our_namespace(p) || !(name_equal(p.class_name(), "CIM_VirtualSystemSettingData") ||
                             name_equal(p.class_name(), names::vssd))) {
    return std::nullopt;
  }
  const std::string* id = string_key(p, "InstanceID");
  if (id == nullptr || id->size() <= names::instance_id_prefix.size() ||
      !name_equal(std::string_view(*id).substr(0, names::instance_id_prefix.size()),
                  names::instance_id_prefix)) {
    return std::nullopt;
  }
  return id->substr(names::instance_id_prefix.size());
}

settings_or_error parse_snapshot_settings(const value& v) {
  snapshot_settings out;
  if (v.is_null()) {
    return {out, {}};
  }
  if (const auto* s = v.get_if<std::string>(); s != nullptr && s->empty()) {
    return {out, {}};  // the MS C# sample's "" when a codec hands it through as a string
  }
  const auto* emb = v.get_if<embedded_instance>();
  if (emb == nullptr || *emb == nullptr) {
    return {std::nullopt, "SnapshotSettings must be an embedded " +
                              std::string(names::snapshot_settings) + " instance or empty"};
  }
  const instance& inst = **emb;
  const bool snapshot_class = name_equal(inst.class_name(), names::snapshot_settings) ||
                              name_equal(inst.class_name(), "CIM_SettingData");
  const bool vssd_class = name_equal(inst.class_name(), names::vssd) ||
                          name_equal(inst.class_name(), "CIM_VirtualSystemSettingData");
  if (!snapshot_class && !vssd_class) {
    return {std::nullopt, "SnapshotSettings is an instance of " + inst.class_name() +
                              "; expected " + std::string(names::snapshot_settings)};
  }
  if (const value* level = inst.get("ConsistencyLevel"); level != nullptr && !level->is_null()) {
    auto n = convert(*level, cim_type::uint8, false);
    if (!n || *n->get_if<std::uint8_t>() > 2) {
      return {std::nullopt, "SnapshotSettings.ConsistencyLevel must be 0, 1 or 2"};
    }
    out.level = static_cast<hv::consistency>(*n->get_if<std::uint8_t>());
  }
  if (const value* ign = inst.get("IgnoreNonSnapshottableDisks");
      ign != nullptr && !ign->is_null()) {
    auto b = convert(*ign, cim_type::boolean, false);
    if (!b) {
      return {std::nullopt, "SnapshotSettings.IgnoreNonSnapshottableDisks must be a boolean"};
    }
    out.ignore_non_snapshottable_disks = *b->get_if<bool>();
  }
  if (vssd_class) {
    if (const value* n = inst.get("ElementName"); n != nullptr && n->get_if<std::string>()) {
      out.name = *n->get_if<std::string>();
    }
  }
  return {out, {}};
}

std::optional<state_request> map_requested_state(std::uint16_t requested, hv::vm_state current) {
  using hv::state_change;
  using hv::vm_state;
  switch (requested) {
    case 2:  // Enabled: start a stopped or saved VM, resume a paused one
      if (current == vm_state::running || current == vm_state::starting) {
        return state_request{};
      }
      if (current == vm_state::paused) {
        return state_request{state_change::resume, false};
      }
      return state_request{state_change::start, true};
    case 3:  // Disabled: Hyper-V's "Turn Off", the guest loses its memory state
      if (current == vm_state::stopped) {
        return state_request{};
      }
      return state_request{state_change::power_off, false};
    case 4:  // Shut Down: graceful, waits for the guest
      if (current == vm_state::stopped) {
        return state_request{};
      }
      return state_request{state_change::shutdown, true};
    case 6:      // Offline: save
    case 32773:  // Saving
      if (current == vm_state::saved) {
        return state_request{};
      }
      return state_request{state_change::save, true};
    case 9:      // Quiesce
    case 32776:  // Pausing
      if (current == vm_state::paused) {
        return state_request{};
      }
      return state_request{state_change::pause, false};
    case 32777:  // Resuming
      return state_request{state_change::resume, false};
    case 10:  // Reboot: vsnapd has no guest-cooperative reboot, a hard reset is what it can do
    case 11:  // Reset
      return state_request{state_change::reset, false};
    default:
      return std::nullopt;
  }
}

}  // namespace vsnapd::cim::providers::virtualization
