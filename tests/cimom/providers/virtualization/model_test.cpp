#include "cimom/providers/virtualization/model.hpp"

#include <catch2/catch.hpp>

using namespace vsnapd;
using namespace vsnapd::cim;
using namespace vsnapd::cim::providers::virtualization;

namespace {

value embed(const instance& i) { return value(scalar(std::make_shared<const instance>(i))); }

}  // namespace

TEST_CASE("model: every VM state has an EnabledState", "[cimom][providers][model]") {
  CHECK(enabled_state(hv::vm_state::running) == 2);
  CHECK(enabled_state(hv::vm_state::stopped) == 3);
  CHECK(enabled_state(hv::vm_state::saved) == 6);
  CHECK(enabled_state(hv::vm_state::paused) == 9);
  CHECK(enabled_state(hv::vm_state::starting) == 10);
  for (auto s : hv::all_vm_states) {
    CHECK(enabled_state(s) != 0);
  }
}

TEST_CASE("model: requested states map onto hypervisor state changes", "[cimom][providers][model]") {
  using hv::state_change;
  using hv::vm_state;
  struct row {
    std::uint16_t requested;
    vm_state from;
    std::optional<state_change> change;
    bool long_running;
  };
  const row rows[] = {
      {2, vm_state::stopped, state_change::start, true},
      {2, vm_state::saved, state_change::start, true},
      {2, vm_state::paused, state_change::resume, false},
      {2, vm_state::running, std::nullopt, false},
      {3, vm_state::running, state_change::power_off, false},
      {3, vm_state::stopped, std::nullopt, false},
      {4, vm_state::running, state_change::shutdown, true},
      {6, vm_state::running, state_change::save, true},
      {32773, vm_state::paused, state_change::save, true},
      {9, vm_state::running, state_change::pause, false},
      {32776, vm_state::running, state_change::pause, false},
      {32777, vm_state::paused, state_change::resume, false},
      {11, vm_state::running, state_change::reset, false},
  };
  for (const auto& r : rows) {
    INFO("RequestedState " << r.requested);
    const auto m = map_requested_state(r.requested, r.from);
    REQUIRE(m);
    CHECK(m->change == r.change);
    CHECK(m->long_running == r.long_running);
  }
  for (std::uint16_t unsupported : {0, 1, 5, 7, 8, 12, 99, 32779}) {
    INFO("RequestedState " << unsupported);
    CHECK_FALSE(map_requested_state(unsupported, vm_state::running));
  }
}

TEST_CASE("model: snapshot settings are read from every form clients send",
          "[cimom][providers][model]") {
  SECTION("NULL and an empty string give the defaults") {
    for (const value& v : {value(), value("")}) {
      const auto s = parse_snapshot_settings(v);
      REQUIRE(s.settings);
      CHECK(s.settings->level == hv::consistency::unknown);
      CHECK_FALSE(s.settings->ignore_non_snapshottable_disks);
    }
  }
  SECTION("Msvm_VirtualSystemSnapshotSettingData, typed or as text") {
    instance typed("Msvm_VirtualSystemSnapshotSettingData");
    typed.set("ConsistencyLevel", value(scalar(std::uint8_t{2})))
        .set("IgnoreNonSnapshottableDisks", value(scalar(true)));
    instance text("Msvm_VirtualSystemSnapshotSettingData");
    text.set("ConsistencyLevel", value("2")).set("IgnoreNonSnapshottableDisks", value("true"));
    for (const auto& i : {typed, text}) {
      const auto s = parse_snapshot_settings(embed(i));
      REQUIRE(s.settings);
      CHECK(s.settings->level == hv::consistency::crash);
      CHECK(s.settings->ignore_non_snapshottable_disks);
    }
  }
  SECTION("a VSSD names the snapshot (XenServer style)") {
    instance vssd("CIM_VirtualSystemSettingData");
    vssd.set("ElementName", value("before upgrade"));
    const auto s = parse_snapshot_settings(embed(vssd));
    REQUIRE(s.settings);
    CHECK(s.settings->name == "before upgrade");
  }
  SECTION("refusals say why") {
    struct row {
      value v;
      const char* says;
    };
    instance other("CIM_ResourceAllocationSettingData");
    instance bad_level("Msvm_VirtualSystemSnapshotSettingData");
    bad_level.set("ConsistencyLevel", value(scalar(std::uint8_t{7})));
    instance bad_bool("Msvm_VirtualSystemSnapshotSettingData");
    bad_bool.set("IgnoreNonSnapshottableDisks", value("perhaps"));
    const row rows[] = {
        {embed(other), "CIM_ResourceAllocationSettingData"},
        {embed(bad_level), "ConsistencyLevel"},
        {embed(bad_bool), "IgnoreNonSnapshottableDisks"},
        {value("<INSTANCE/>"), "embedded"},
        {value(scalar(std::uint16_t{3})), "embedded"},
    };
    for (const auto& r : rows) {
      INFO(r.says);
      const auto s = parse_snapshot_settings(r.v);
      CHECK_FALSE(s.settings);
      CHECK_THAT(s.error, Catch::Contains(r.says));
    }
  }
}

TEST_CASE("model: references from clients are ours only in our namespace and classes",
          "[cimom][providers][model]") {
  const object_path vm = vm_path("abc");
  REQUIRE(vm_id_of(vm) == std::optional<std::string>("abc"));
  object_path as_cim("root/virtualization/v2", "CIM_ComputerSystem");
  as_cim.set_key("Name", value("abc"));
  CHECK(vm_id_of(as_cim) == std::optional<std::string>("abc"));
  object_path no_ns("", "Msvm_ComputerSystem");
  no_ns.set_key("Name", value("abc"));
  CHECK(vm_id_of(no_ns) == std::optional<std::string>("abc"));

  object_path foreign_ns = vm;
  foreign_ns.set_ns("root/cimv2");
  object_path foreign_class("root/virtualization/v2", "Win32_ComputerSystem");
  foreign_class.set_key("Name", value("abc"));
  object_path foreign_ccn = vm;
  foreign_ccn.set_key("CreationClassName", value("Xen_ComputerSystem"));
  object_path no_name("root/virtualization/v2", "Msvm_ComputerSystem");
  no_name.set_key("CreationClassName", value("Msvm_ComputerSystem"));
  for (const auto& p : {foreign_ns, foreign_class, foreign_ccn, no_name}) {
    INFO(p.to_string());
    CHECK_FALSE(vm_id_of(p));
  }

  CHECK(vssd_id_of(vssd_path("s1")) == std::optional<std::string>("s1"));
  object_path unprefixed("root/virtualization/v2", "Msvm_VirtualSystemSettingData");
  unprefixed.set_key("InstanceID", value("s1"));
  object_path other_class("root/virtualization/v2", "CIM_ResourceAllocationSettingData");
  other_class.set_key("InstanceID", value("Microsoft:s1"));
  object_path only_prefix("root/virtualization/v2", "Msvm_VirtualSystemSettingData");
  only_prefix.set_key("InstanceID", value("Microsoft:"));
  for (const auto& p : {unprefixed, other_class, only_prefix}) {
    INFO(p.to_string());
    CHECK_FALSE(vssd_id_of(p));
  }
}

TEST_CASE("model: unnamed snapshots get Hyper-V's checkpoint name", "[cimom][providers][model]") {
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1764028800));  // 2025-11-25
  CHECK(default_snapshot_name("web", t) == "web - (2025/11/25 - 00:00:00)");
}

TEST_CASE("model: a snapshot VSSD carries its tree link, type and time", "[cimom][providers][model]") {
  hv::vm_config cfg;
  cfg.uuid = "vm1";
  cfg.name = "web";
  hv::snapshot_info s;
  s.id = "s2";
  s.parent = "s1";
  s.name = "two";
  s.memory_file = "/x.vmstate";
  const instance i = snapshot_vssd("hvhost", cfg, s, false);
  CHECK(*i.get("InstanceID") == value("Microsoft:s2"));
  CHECK(*i.get("VirtualSystemIdentifier") == value("vm1"));
  CHECK(*i.get("VirtualSystemType") == value("Microsoft:Hyper-V:Snapshot:Realized"));
  CHECK(*i.get("Parent") ==
        value("\\\\hvhost\\root\\virtualization\\v2:Msvm_VirtualSystemSettingData."
              "InstanceID=\"Microsoft:s1\""));
  CHECK(*i.get("IsSaved") == value(scalar(true)));
  CHECK(i.get("CreationTime") != nullptr);
  CHECK(*snapshot_vssd("hvhost", cfg, s, true).get("VirtualSystemType") ==
        value("Microsoft:Hyper-V:Snapshot:Recovery"));
}
