#include "cimom/providers/virtualization/virtualization_provider.hpp"

#include "cimom/jobs/job_manager.hpp"
#include "cimom/name.hpp"
#include "cimom/providers/virtualization/model.hpp"
#include "cimom/providers/virtualization/register.hpp"
#include "cimom/runtime.hpp"
#include "common/log.hpp"
#include "tests/cimom/catch_result.hpp"
#include "tests/fakes/hypervisor/fake_hypervisor.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

using namespace vsnapd;
using namespace vsnapd::cim;
using namespace vsnapd::cim::providers::virtualization;
using fake = hv::testing::fake_hypervisor;
using jobs::job_state;

namespace {

constexpr const char* host = "hvhost";

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("vsnapd-providers-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

template <class T>
std::vector<T> drain(cursor<T>& c) {
  std::vector<T> out;
  for (;;) {
    auto more = c.next(out, 16);
    REQUIRE(more);
    if (!*more) {
      return out;
    }
  }
}

value u16(std::uint16_t v) { return value(scalar(v)); }
value str(std::string s) { return value(scalar(std::move(s))); }
value embed(const instance& i) { return value(scalar(std::make_shared<const instance>(i))); }
std::uint32_t rc(const method_result& r) { return *r.return_value.get_if<std::uint32_t>(); }

const value* out_param(const method_result& r, std::string_view name) {
  for (const auto& p : r.out) {
    if (name_equal(p.name, name)) {
      return &p.v;
    }
  }
  return nullptr;
}

// One runtime with the virtualization providers over a fake hypervisor; restart() keeps the
// state directory and the hypervisor, as a daemon restart does.
struct fixture {
  temp_dir dir;
  fake hv;
  std::unique_ptr<runtime> rt;
  std::unique_ptr<virtualization_registration> reg;
  operation_context ctx{"root/virtualization/v2", ""};

  fixture() {
    log::set_threshold(log::level::warning);  // refusals are logged at info; tests check them
    start();
  }
  void start() {
    runtime_options o;
    o.state_dir = dir.path.string();
    o.host_name = host;
    auto started = runtime::start(o);
    REQUIRE(started);
    rt = std::move(*started);
    auto r = register_virtualization(*rt, hv, {host, dir.path.string()});
    REQUIRE(r);
    reg = std::move(*r);
  }
  void restart() {
    reg.reset();
    rt.reset();
    start();
  }
  object_manager& om() { return rt->om(); }

  method_result invoke(const object_path& target, std::string_view method,
                       std::vector<param_value> in) {
    auto r = om().invoke_method(ctx, target, method, std::move(in));
    REQUIRE(r);
    return *r;
  }
  method_result create(const std::string& vm, std::uint16_t type = snapshot_type_full,
                       value settings = value()) {
    return invoke(snapshot_service_path(host), "CreateSnapshot",
                  {{"AffectedSystem", ref(vm_path(vm))},
                   {"SnapshotSettings", std::move(settings)},
                   {"SnapshotType", u16(type)}});
  }
  object_path job_of(const method_result& r) {
    const value* j = out_param(r, "Job");
    REQUIRE(j != nullptr);
    REQUIRE(j->get_if<reference>() != nullptr);
    return **j->get_if<reference>();
  }
  job_state finish(const method_result& r) {
    REQUIRE(rc(r) == 4096);
    const auto st = rt->jobs().wait_until_final(job_of(r), std::chrono::seconds(10));
    REQUIRE(st);
    return *st;
  }
  instance get(const object_path& p) {
    auto i = om().get_instance(ctx, p, {});
    REQUIRE(i);
    return *i;
  }
  std::vector<object_path> associated(const object_path& source, const std::string& assoc,
                                      const std::string& result_class = "") {
    associators_options o;
    o.assoc_class = assoc;
    o.result_class = result_class;
    auto c = om().associator_names(ctx, source, o);
    REQUIRE(c);
    auto out = drain(**c);
    for (auto& p : out) {
      p.set_host("");
    }
    return out;
  }
  std::vector<named_instance> all(const std::string& cls) {
    auto c = om().enumerate_instances(ctx, cls, {});
    REQUIRE(c);
    return drain(**c);
  }
  // Takes a snapshot and returns its id (through the job's AffectedJobElement).
  std::string snapshot(const std::string& vm, std::uint16_t type = snapshot_type_full) {
    const auto r = create(vm, type);
    REQUIRE(finish(r) == job_state::completed);
    const auto found = associated(job_of(r), "Msvm_AffectedJobElement",
                                  "Msvm_VirtualSystemSettingData");
    REQUIRE(found.size() == 1);
    return *vssd_id_of(found.front());
  }
};

bool contains(const std::vector<object_path>& paths, const object_path& p) {
  return std::any_of(paths.begin(), paths.end(), [&](const object_path& q) {
    return name_equal(q.class_name(), p.class_name()) && q.keys().size() == p.keys().size() &&
           std::all_of(p.keys().begin(), p.keys().end(),
                       [&](const key_binding& k) { return q.key(k.name) && *q.key(k.name) == k.v; });
  });
}

std::uint16_t u16_prop(const instance& i, const char* name) {
  const value* v = i.get(name);
  REQUIRE(v != nullptr);
  REQUIRE(v->get_if<std::uint16_t>() != nullptr);
  return *v->get_if<std::uint16_t>();
}

}  // namespace

TEST_CASE("virtualization_provider: the host and each VM are computer systems in both views",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  const auto msvm = f.all("Msvm_ComputerSystem");
  const auto cim = f.all("CIM_ComputerSystem");
  CHECK(msvm.size() == 2);
  CHECK(cim.size() == 2);
  const instance v = f.get(vm_path(vm));
  CHECK(u16_prop(v, "EnabledState") == 2);
  CHECK(*v.get("ElementName") == value("web"));
  // A CIM_ path with the Msvm_ keys reaches the same instance.
  object_path as_cim("root/virtualization/v2", "CIM_ComputerSystem");
  as_cim.set_key("CreationClassName", value("Msvm_ComputerSystem"));
  as_cim.set_key("Name", value(std::string_view(vm)));
  CHECK(f.get(as_cim).class_name() == "Msvm_ComputerSystem");
  CHECK(*f.get(host_path(host)).get("Caption") == value("Hosting Computer System"));
  object_path missing = vm_path("no-such-vm");
  CHECK(f.om().get_instance(f.ctx, missing, {}).error().code == errc::not_found);
}

TEST_CASE("virtualization_provider: CreateSnapshot returns a job whose affected element is the "
          "new snapshot",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running, 2);
  instance settings("Msvm_VirtualSystemSnapshotSettingData");
  settings.set("ConsistencyLevel", value(scalar(std::uint8_t{1})));
  const auto r = f.create(vm, snapshot_type_full, embed(settings));
  REQUIRE(rc(r) == 4096);
  const value* resulting = out_param(r, "ResultingSnapshot");
  REQUIRE(resulting != nullptr);
  CHECK(resulting->is_null());
  const object_path job = f.job_of(r);
  CHECK(name_equal(job.class_name(), "Msvm_ConcreteJob"));
  REQUIRE(f.finish(r) == job_state::completed);
  const instance j = f.get(job);
  CHECK(u16_prop(j, "PercentComplete") == 100);

  // AffectedJobElement: job -> new VSSD, ElementEffects 5 (Create).
  references_options ro;
  ro.result_class = "CIM_AffectedJobElement";
  auto refs = f.om().references(f.ctx, job, ro);
  REQUIRE(refs);
  const auto links = drain(**refs);
  REQUIRE(links.size() == 1);
  CHECK(links[0].inst.class_name() == "Msvm_AffectedJobElement");
  const value* effects = links[0].inst.get("ElementEffects");
  REQUIRE(effects != nullptr);
  REQUIRE(effects->is_array());
  CHECK(effects->as_array() == std::vector<scalar>{scalar(std::uint16_t{5})});
  const auto snap_path = **links[0].inst.get("AffectedElement")->get_if<reference>();
  const instance snap = f.get(snap_path);
  CHECK(*snap.get("VirtualSystemType") == value("Microsoft:Hyper-V:Snapshot:Realized"));
  CHECK(*snap.get("VirtualSystemIdentifier") == value(std::string_view(vm)));
  CHECK(*snap.get("IsSaved") == value(scalar(true)));
  CHECK(snap.get("ElementName")->get_if<std::string>()->rfind("web - (", 0) == 0);
  // And the way back: the snapshot's job, and the job's owner, the service.
  CHECK(contains(f.associated(snap_path, "CIM_AffectedJobElement"), job));
  CHECK(contains(f.associated(job, "CIM_OwningJobElement"), snapshot_service_path(host)));
  // The hypervisor was asked for an application-consistent full snapshot.
  auto snaps = f.hv.list_snapshots(vm);
  REQUIRE(snaps.has_value());
  REQUIRE(snaps->size() == 1);
  CHECK(snaps->front().type == hv::snapshot_type::full);
  CHECK(snaps->front().level == hv::consistency::application);
  CHECK(snaps->front().disk_images.size() == 2);
}

TEST_CASE("virtualization_provider: snapshot types map onto the hypervisor's kinds",
          "[cimom][providers]") {
  fixture f;
  const auto running = f.hv.add_system("web", hv::vm_state::running);
  const auto stopped = f.hv.add_system("db", hv::vm_state::stopped);
  instance crash("Msvm_VirtualSystemSnapshotSettingData");
  crash.set("ConsistencyLevel", value(scalar(std::uint8_t{2})));
  REQUIRE(f.finish(f.create(running, snapshot_type_disk, embed(crash))) == job_state::completed);
  // Full of a stopped VM: its disks are its whole state.
  REQUIRE(f.finish(f.create(stopped, snapshot_type_full)) == job_state::completed);
  const std::string recovery = f.snapshot(running, snapshot_type_recovery);
  const auto a = f.hv.list_snapshots(running);
  const auto b = f.hv.list_snapshots(stopped);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  REQUIRE(a->size() == 2);
  CHECK((*a)[0].type == hv::snapshot_type::disk);
  CHECK((*a)[0].level == hv::consistency::crash);
  CHECK((*a)[1].type == hv::snapshot_type::disk);
  CHECK((*a)[1].level == hv::consistency::application);
  REQUIRE(b->size() == 1);
  CHECK((*b)[0].type == hv::snapshot_type::disk);
  CHECK(*f.get(vssd_path(recovery)).get("VirtualSystemType") ==
        value("Microsoft:Hyper-V:Snapshot:Recovery"));
}

TEST_CASE("virtualization_provider: bad parameters return their documented codes",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  const auto saved = f.hv.add_system("saved", hv::vm_state::saved);
  const std::string snap = f.snapshot(vm);
  object_path foreign_ns = vm_path(vm);
  foreign_ns.set_ns("root/cimv2");
  object_path foreign_class("root/virtualization/v2", "CIM_ResourceAllocationSettingData");
  foreign_class.set_key("InstanceID", str("Microsoft:" + snap));
  instance wrong_settings("CIM_ResourceAllocationSettingData");
  instance bad_level("Msvm_VirtualSystemSnapshotSettingData");
  bad_level.set("ConsistencyLevel", value(scalar(std::uint8_t{9})));
  const object_path svc = snapshot_service_path(host);
  struct row {
    const char* what;
    const char* method;
    std::vector<param_value> in;
    std::uint32_t expected;
    const char* says;
  };
  const std::vector<row> rows = {
      {"no AffectedSystem", "CreateSnapshot", {{"SnapshotType", u16(2)}}, 4, "AffectedSystem"},
      {"foreign namespace", "CreateSnapshot",
       {{"AffectedSystem", ref(foreign_ns)}, {"SnapshotType", u16(2)}}, 4, "root/cimv2"},
      {"unknown VM", "CreateSnapshot",
       {{"AffectedSystem", ref(vm_path("nope"))}, {"SnapshotType", u16(2)}}, 4, "nope"},
      {"the host", "CreateSnapshot",
       {{"AffectedSystem", ref(host_path(host))}, {"SnapshotType", u16(2)}}, 4, host},
      {"unsupported type", "CreateSnapshot",
       {{"AffectedSystem", ref(vm_path(vm))}, {"SnapshotType", u16(5)}}, 6,
       "SnapshotType 5 is not supported"},
      {"vendor type not ours", "CreateSnapshot",
       {{"AffectedSystem", ref(vm_path(vm))}, {"SnapshotType", u16(32769)}}, 6, "32769"},
      {"settings of another class", "CreateSnapshot",
       {{"AffectedSystem", ref(vm_path(vm))},
        {"SnapshotSettings", embed(wrong_settings)},
        {"SnapshotType", u16(2)}},
       4, "CIM_ResourceAllocationSettingData"},
      {"ConsistencyLevel out of range", "CreateSnapshot",
       {{"AffectedSystem", ref(vm_path(vm))},
        {"SnapshotSettings", embed(bad_level)},
        {"SnapshotType", u16(2)}},
       4, "ConsistencyLevel"},
      {"full snapshot of a saved VM", "CreateSnapshot",
       {{"AffectedSystem", ref(vm_path(saved))}, {"SnapshotType", u16(2)}}, 5, "saved"},
      {"destroy an unknown snapshot", "DestroySnapshot",
       {{"AffectedSnapshot", ref(vssd_path("nope"))}}, 4, "nope"},
      {"destroy a VM's current settings", "DestroySnapshot",
       {{"AffectedSnapshot", ref(vssd_path(vm))}}, 4, vm.c_str()},
      {"destroy through a RASD reference", "DestroySnapshot",
       {{"AffectedSnapshot", ref(foreign_class)}}, 4, "not a snapshot"},
      {"apply with no snapshot", "ApplySnapshot", {}, 4, "Snapshot"},
      {"apply to a running VM", "ApplySnapshot", {{"Snapshot", ref(vssd_path(snap))}}, 5,
       "turn it off"},
      {"destroy tree of an unknown snapshot", "DestroySnapshotTree",
       {{"SnapshotSettingData", ref(vssd_path("nope"))}}, 32773, "nope"},
      {"clear state of an unknown snapshot", "ClearSnapshotState",
       {{"SnapshotSettingData", ref(vssd_path("nope"))}}, 32773, "nope"},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    const auto res = f.invoke(svc, r.method, r.in);
    CHECK(rc(res) == r.expected);
    CHECK_THAT(f.reg->provider().last_refusal_for_test(), Catch::Contains(r.says));
  }
  // Nothing was started by any refused call.
  const auto snaps = f.hv.list_snapshots(vm);
  REQUIRE(snaps.has_value());
  CHECK(snaps->size() == 1);
}

TEST_CASE("virtualization_provider: declared methods vsnapd lacks are not available",
          "[cimom][providers]") {
  fixture f;
  auto r = f.om().invoke_method(f.ctx, management_service_path(host), "AddResourceSettings", {});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::method_not_available);
  // The services' own state follows the daemon.
  CHECK(rc(f.invoke(snapshot_service_path(host), "RequestStateChange",
                    {{"RequestedState", u16(3)}})) == 1);
}

TEST_CASE("virtualization_provider: a service path that is not ours is not found",
          "[cimom][providers]") {
  fixture f;
  object_path other = snapshot_service_path("otherhost");
  auto r = f.om().invoke_method(f.ctx, other, "CreateSnapshot", {});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::not_found);
}

TEST_CASE("virtualization_provider: job progress follows the hypervisor and Terminate cancels",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  f.hv.hold_next(fake::op::create, 40);
  const auto r = f.create(vm);
  REQUIRE(rc(r) == 4096);
  REQUIRE(f.hv.wait_until_held());
  const object_path job = f.job_of(r);
  const instance running = f.get(job);
  CHECK(u16_prop(running, "JobState") == 4);
  CHECK(u16_prop(running, "PercentComplete") == 40);
  CHECK(*running.get("Cancellable") == value(scalar(true)));
  const auto t = f.invoke(job, "RequestStateChange", {{"RequestedState", u16(4)}});
  CHECK((rc(t) == 0 || rc(t) == 4096));
  const auto st = f.rt->jobs().wait_until_final(job, std::chrono::seconds(10));
  REQUIRE(st);
  CHECK(*st == job_state::terminated);
  CHECK(f.hv.completed(fake::op::create) == 0);
  auto snaps = f.hv.list_snapshots(vm);
  REQUIRE(snaps.has_value());
  CHECK(snaps->empty());
  // The VM is free again.
  CHECK(f.finish(f.create(vm)) == job_state::completed);
}

TEST_CASE("virtualization_provider: a hypervisor failure ends the job in Exception with the "
          "reason",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  f.hv.fail_next(fake::op::create, hv::errc::backend_failed);
  const auto r = f.create(vm);
  REQUIRE(f.finish(r) == job_state::exception);
  const instance j = f.get(f.job_of(r));
  const auto* why = j.get("ErrorDescription")->get_if<std::string>();
  REQUIRE(why != nullptr);
  CHECK_THAT(*why, Catch::Contains(vm));
  CHECK(f.associated(f.job_of(r), "Msvm_AffectedJobElement").empty());
}

TEST_CASE("virtualization_provider: one mutating operation per VM at a time",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  const auto other = f.hv.add_system("db", hv::vm_state::running);
  const std::string snap = f.snapshot(vm);
  // As with QEMU: a status query waits for the running operation, so a refusal that asked for
  // the status first would not come until the snapshot ended (the test would hang).
  f.hv.status_waits_for_operations(true);
  f.hv.hold_next(fake::op::create);
  const auto first = f.create(vm);
  REQUIRE(rc(first) == 4096);
  REQUIRE(f.hv.wait_until_held());

  const object_path svc = snapshot_service_path(host);
  CHECK(rc(f.create(vm)) == 5);
  CHECK_THAT(f.reg->provider().last_refusal_for_test(), Catch::Contains("busy with CreateSnapshot"));
  CHECK(rc(f.invoke(svc, "DestroySnapshot", {{"AffectedSnapshot", ref(vssd_path(snap))}})) == 5);
  CHECK(rc(f.invoke(svc, "DestroySnapshotTree", {{"SnapshotSettingData", ref(vssd_path(snap))}})) ==
        32775);
  CHECK(rc(f.invoke(vm_path(vm), "RequestStateChange", {{"RequestedState", u16(9)}})) == 32775);
  CHECK(rc(f.invoke(svc, "ApplySnapshot", {{"Snapshot", ref(vssd_path(snap))}})) == 5);
  CHECK_THAT(f.reg->provider().last_refusal_for_test(), Catch::Contains("busy with CreateSnapshot"));
  object_path as_cim("root/virtualization/v2", "CIM_ComputerSystem");
  as_cim.set_key("CreationClassName", value("Msvm_ComputerSystem"));
  as_cim.set_key("Name", value(std::string_view(vm)));
  CHECK(rc(f.invoke(as_cim, "RequestStateChange", {{"RequestedState", u16(9)}})) == 4099);
  instance rename("Msvm_VirtualSystemSettingData");
  rename.set("InstanceID", str("Microsoft:" + snap)).set("ElementName", value("x"));
  CHECK(rc(f.invoke(management_service_path(host), "ModifySystemSettings",
                    {{"SystemSettings", embed(rename)}})) == 5);
  // Another VM is not affected.
  CHECK(f.finish(f.create(other)) == job_state::completed);

  f.hv.release();
  REQUIRE(f.finish(first) == job_state::completed);
  CHECK(f.hv.max_concurrent_per_system() == 1);
  CHECK(f.finish(f.create(vm)) == job_state::completed);
}

TEST_CASE("virtualization_provider: concurrent CreateSnapshot calls on one VM start one job",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  f.hv.hold_next(fake::op::create);
  constexpr int callers = 8;
  std::vector<std::uint32_t> codes(callers);
  std::vector<std::optional<object_path>> jobs_started(callers);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < callers; ++i) {
      threads.emplace_back([&, i] {
        // No Catch assertions on these threads (Catch2 v2 is not thread-safe).
        std::vector<param_value> in{{"AffectedSystem", ref(vm_path(vm))},
                                    {"SnapshotType", u16(3)}};
        auto r = f.om().invoke_method(f.ctx, snapshot_service_path(host), "CreateSnapshot", in);
        if (r) {
          codes[i] = *r->return_value.get_if<std::uint32_t>();
          if (codes[i] == 4096) {
            jobs_started[i] = **r->out.front().v.get_if<reference>();
          }
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
  }
  CHECK(std::count(codes.begin(), codes.end(), 4096u) == 1);
  CHECK(std::count(codes.begin(), codes.end(), 5u) == callers - 1);
  REQUIRE(f.hv.wait_until_held());
  f.hv.release();
  for (const auto& j : jobs_started) {
    if (j) {
      CHECK(f.rt->jobs().wait_until_final(*j, std::chrono::seconds(10)) == job_state::completed);
    }
  }
  CHECK(f.hv.max_concurrent_per_system() == 1);
}

TEST_CASE("virtualization_provider: apply needs a stopped or saved VM and records the last "
          "applied snapshot",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  const std::string full = f.snapshot(vm, snapshot_type_full);
  const std::string disk = f.snapshot(vm, snapshot_type_disk);
  const object_path svc = snapshot_service_path(host);
  CHECK(rc(f.invoke(svc, "ApplySnapshot", {{"Snapshot", ref(vssd_path(full))}})) == 5);
  // Turn it off (synchronous), then apply the full snapshot: the VM runs again as it was taken.
  REQUIRE(rc(f.invoke(vm_path(vm), "RequestStateChange", {{"RequestedState", u16(3)}})) == 0);
  CHECK(u16_prop(f.get(vm_path(vm)), "EnabledState") == 3);
  const auto applied = f.invoke(svc, "ApplySnapshot", {{"Snapshot", ref(vssd_path(full))}});
  REQUIRE(f.finish(applied) == job_state::completed);
  CHECK(f.get(f.job_of(applied)).get("Cancellable")->get_if<bool>() != nullptr);
  CHECK(*f.get(f.job_of(applied)).get("Cancellable") == value(scalar(false)));
  CHECK(u16_prop(f.get(vm_path(vm)), "EnabledState") == 2);
  CHECK(f.associated(vm_path(vm), "CIM_LastAppliedSnapshot") ==
        std::vector<object_path>{vssd_path(full)});
  CHECK(f.associated(vssd_path(full), "Msvm_LastAppliedSnapshot") ==
        std::vector<object_path>{vm_path(vm)});
  CHECK(f.associated(vm_path(vm), "Msvm_MostCurrentSnapshotInBranch") ==
        std::vector<object_path>{vssd_path(full)});
  // Save, then apply the disk snapshot: allowed from saved, leaves the VM off.
  REQUIRE(f.finish(f.invoke(vm_path(vm), "RequestStateChange", {{"RequestedState", u16(6)}})) ==
          job_state::completed);
  CHECK(u16_prop(f.get(vm_path(vm)), "EnabledState") == 6);
  REQUIRE(f.finish(f.invoke(svc, "ApplySnapshot", {{"Snapshot", ref(vssd_path(disk))}})) ==
          job_state::completed);
  CHECK(u16_prop(f.get(vm_path(vm)), "EnabledState") == 3);
  CHECK(f.associated(vm_path(vm), "CIM_LastAppliedSnapshot") ==
        std::vector<object_path>{vssd_path(disk)});
}

TEST_CASE("virtualization_provider: the snapshot tree through associations in both directions",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running, 2);
  const std::string s1 = f.snapshot(vm);
  const std::string s2 = f.snapshot(vm);
  const std::string s3 = f.snapshot(vm);
  const object_path v = vm_path(vm);

  SECTION("SnapshotOfVirtualSystem, in both views") {
    const auto from_vm = f.associated(v, "Msvm_SnapshotOfVirtualSystem");
    CHECK(from_vm.size() == 3);
    for (const auto& s : {s1, s2, s3}) {
      CHECK(contains(from_vm, vssd_path(s)));
    }
    CHECK(f.associated(v, "CIM_SnapshotOfVirtualSystem").size() == 3);
    CHECK(f.associated(vssd_path(s2), "CIM_SnapshotOfVirtualSystem") ==
          std::vector<object_path>{v});
  }
  SECTION("ParentChildSettingData and Parent") {
    associators_options down;
    down.assoc_class = "Msvm_ParentChildSettingData";
    down.role = "Antecedent";
    auto c = f.om().associator_names(f.ctx, vssd_path(s1), down);
    REQUIRE(c);
    auto children = drain(**c);
    REQUIRE(children.size() == 1);
    CHECK(*vssd_id_of(children.front()) == s2);
    down.role = "Dependent";
    c = f.om().associator_names(f.ctx, vssd_path(s2), down);
    REQUIRE(c);
    auto parents = drain(**c);
    REQUIRE(parents.size() == 1);
    CHECK(*vssd_id_of(parents.front()) == s1);
    // The VM's current settings hang below the current snapshot.
    CHECK(contains(f.associated(vssd_path(s3), "Msvm_ParentChildSettingData"), vssd_path(vm)));
    const instance current = f.get(vssd_path(vm));
    const auto* parent = current.get("Parent")->get_if<std::string>();
    REQUIRE(parent != nullptr);
    CHECK_THAT(*parent, Catch::Contains("Microsoft:" + s3));
    CHECK(f.get(vssd_path(s1)).get("Parent")->is_null());
  }
  SECTION("SettingsDefineState and the current settings") {
    CHECK(f.associated(v, "CIM_SettingsDefineState") == std::vector<object_path>{vssd_path(vm)});
    CHECK(f.associated(vssd_path(vm), "Msvm_SettingsDefineState") == std::vector<object_path>{v});
    const instance cur = f.get(vssd_path(vm));
    CHECK(*cur.get("VirtualSystemType") == value("Microsoft:Hyper-V:System:Realized"));
  }
  SECTION("VirtualSystemSettingDataComponent with the disks") {
    const auto disks = f.associated(vssd_path(s2), "CIM_VirtualSystemSettingDataComponent");
    REQUIRE(disks.size() == 2);
    const instance d = f.get(disks.front());
    CHECK(d.class_name() == "Msvm_StorageAllocationSettingData");
    CHECK_THAT(to_text(d.get("HostResource")->as_array().front()), Catch::Contains(s2));
    CHECK(f.associated(disks.front(), "Msvm_VirtualSystemSettingDataComponent") ==
          std::vector<object_path>{vssd_path(s2)});
    CHECK(f.associated(vssd_path(vm), "Msvm_VirtualSystemSettingDataComponent").size() == 2);
    // The disk through its DMTF classes.
    object_path as_cim = disks.front();
    as_cim.set_class_name("CIM_StorageAllocationSettingData");
    CHECK(f.get(as_cim).class_name() == "Msvm_StorageAllocationSettingData");
    CHECK(f.all("CIM_ResourceAllocationSettingData").size() == 2 + 3 * 2);
  }
  SECTION("HostedService and ElementCapabilities") {
    const auto services = f.associated(host_path(host), "CIM_HostedService");
    CHECK(contains(services, snapshot_service_path(host)));
    CHECK(contains(services, management_service_path(host)));
    CHECK(f.associated(snapshot_service_path(host), "Msvm_HostedService") ==
          std::vector<object_path>{host_path(host)});
    const auto caps = f.associated(snapshot_service_path(host), "CIM_ElementCapabilities");
    REQUIRE(caps.size() == 1);
    const instance sc = f.get(caps.front());
    CHECK(sc.get("SnapshotTypesSupported")->as_array().size() == 3);
    CHECK(sc.get("SynchronousMethodsSupported")->as_array().empty());
    CHECK(sc.get("AsynchronousMethodsSupported")->as_array().size() == 3);
    const auto vm_caps = f.associated(v, "Msvm_ElementCapabilities");
    REQUIRE(vm_caps.size() == 1);
    CHECK(f.get(vm_caps.front()).get("SnapshotTypesEnabled")->as_array().size() == 3);
    CHECK(f.associated(vm_caps.front(), "CIM_ElementCapabilities") == std::vector<object_path>{v});
  }
  SECTION("the CIM_ view enumerates the same settings") {
    CHECK(f.all("CIM_VirtualSystemSettingData").size() == 4);
    CHECK(f.all("Msvm_VirtualSystemSettingData").size() == 4);
    CHECK(f.all("CIM_VirtualSystemSnapshotService").size() == 1);
    CHECK(f.all("CIM_VirtualSystemSnapshotCapabilities").size() == 1);
    CHECK(f.all("CIM_VirtualSystemManagementCapabilities").size() == 1);
  }
}

TEST_CASE("virtualization_provider: DestroySnapshot merges one node, DestroySnapshotTree takes "
          "the subtree",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  const std::string s1 = f.snapshot(vm);
  const std::string s2 = f.snapshot(vm);
  const std::string s3 = f.snapshot(vm);
  const object_path svc = snapshot_service_path(host);
  // Destroy the middle one: s3's parent becomes s1.
  const auto d = f.invoke(svc, "DestroySnapshot", {{"AffectedSnapshot", ref(vssd_path(s2))}});
  REQUIRE(f.finish(d) == job_state::completed);
  CHECK(u16_prop(f.get(f.job_of(d)), "PercentComplete") == 100);
  CHECK_THAT(*f.get(vssd_path(s3)).get("Parent")->get_if<std::string>(),
             Catch::Contains("Microsoft:" + s1));
  CHECK(f.om().get_instance(f.ctx, vssd_path(s2), {}).error().code == errc::not_found);
  // A sibling branch from s1, then the tree from s1 goes entirely; a second VM's tree stays.
  const auto other = f.hv.add_system("db", hv::vm_state::running);
  const std::string o1 = f.snapshot(other);
  const auto t = f.invoke(svc, "DestroySnapshotTree", {{"SnapshotSettingData", ref(vssd_path(s1))}});
  REQUIRE(f.finish(t) == job_state::completed);
  auto left = f.hv.list_snapshots(vm);
  REQUIRE(left.has_value());
  CHECK(left->empty());
  CHECK(f.hv.completed(fake::op::destroy) == 3);
  CHECK(f.associated(vm_path(other), "Msvm_SnapshotOfVirtualSystem") ==
        std::vector<object_path>{vssd_path(o1)});
  CHECK(f.associated(vm_path(vm), "Msvm_MostCurrentSnapshotInBranch").empty());
}

TEST_CASE("virtualization_provider: ClearSnapshotState of a disk snapshot has nothing to clear",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  const std::string disk = f.snapshot(vm, snapshot_type_disk);
  CHECK(rc(f.invoke(snapshot_service_path(host), "ClearSnapshotState",
                    {{"SnapshotSettingData", ref(vssd_path(disk))}})) == 0);
}

TEST_CASE("virtualization_provider: ClearSnapshotState turns a full snapshot into a disk snapshot",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  const std::string full = f.snapshot(vm, snapshot_type_full);
  REQUIRE(*f.get(vssd_path(full)).get("IsSaved") == value(scalar(true)));
  CHECK(rc(f.invoke(snapshot_service_path(host), "ClearSnapshotState",
                    {{"SnapshotSettingData", ref(vssd_path(full))}})) == 0);
  CHECK(*f.get(vssd_path(full)).get("IsSaved") == value(scalar(false)));
  auto snaps = f.hv.list_snapshots(vm);
  REQUIRE(snaps.has_value());
  REQUIRE(snaps->size() == 1);
  CHECK_FALSE(snaps->front().memory_file.has_value());
  CHECK(snaps->front().type == hv::snapshot_type::disk);
  // Clearing again finds nothing to clear.
  CHECK(rc(f.invoke(snapshot_service_path(host), "ClearSnapshotState",
                    {{"SnapshotSettingData", ref(vssd_path(full))}})) == 0);
}

TEST_CASE("virtualization_provider: RequestStateChange with Hyper-V's values", "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::stopped);
  const object_path v = vm_path(vm);
  object_path as_cim("root/virtualization/v2", "CIM_ComputerSystem");
  as_cim.set_key("CreationClassName", value("Msvm_ComputerSystem"));
  as_cim.set_key("Name", value(std::string_view(vm)));
  // Start is long: a job.
  const auto start = f.invoke(v, "RequestStateChange", {{"RequestedState", u16(2)}});
  REQUIRE(f.finish(start) == job_state::completed);
  CHECK(u16_prop(f.get(v), "EnabledState") == 2);
  CHECK(rc(f.invoke(v, "RequestStateChange", {{"RequestedState", u16(2)}})) == 0);  // already on
  CHECK(rc(f.invoke(v, "RequestStateChange", {{"RequestedState", u16(9)}})) == 0);
  CHECK(u16_prop(f.get(v), "EnabledState") == 9);
  CHECK(rc(f.invoke(v, "RequestStateChange", {{"RequestedState", u16(32777)}})) == 0);
  CHECK(u16_prop(f.get(v), "EnabledState") == 2);
  struct row {
    object_path target;
    std::uint16_t requested;
    std::uint32_t expected;
  };
  const row rows[] = {
      {v, 7, 32770},        // Test: declared, not implemented
      {as_cim, 7, 1},       // the same through the DMTF declaration
      {v, 99, 32773},       // not declared at all
      {as_cim, 99, 5},
      {v, 32777, 32775},    // resume a running VM: the hypervisor says invalid state
      {as_cim, 32777, 4097},
  };
  for (const auto& r : rows) {
    INFO(r.target.class_name() << " " << r.requested);
    CHECK(rc(f.invoke(r.target, "RequestStateChange", {{"RequestedState", u16(r.requested)}})) ==
          r.expected);
  }
  CHECK(rc(f.invoke(host_path(host), "RequestStateChange", {{"RequestedState", u16(3)}})) == 32770);
  // Hypervisor errors of the synchronous changes, in both code sets.
  f.hv.fail_next(fake::op::change_state, hv::errc::timed_out);
  CHECK(rc(f.invoke(v, "RequestStateChange", {{"RequestedState", u16(9)}})) == 32772);
  f.hv.fail_next(fake::op::change_state, hv::errc::timed_out);
  CHECK(rc(f.invoke(as_cim, "RequestStateChange", {{"RequestedState", u16(9)}})) == 3);
  f.hv.fail_next(fake::op::change_state, hv::errc::backend_failed);
  CHECK(rc(f.invoke(v, "RequestStateChange", {{"RequestedState", u16(9)}})) == 32768);
  f.hv.fail_next(fake::op::change_state, hv::errc::backend_failed);
  CHECK(rc(f.invoke(as_cim, "RequestStateChange", {{"RequestedState", u16(9)}})) == 4);
  CHECK(u16_prop(f.get(v), "EnabledState") == 2);
}

TEST_CASE("virtualization_provider: an apply job cannot be terminated", "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  const std::string snap = f.snapshot(vm, snapshot_type_disk);
  REQUIRE(rc(f.invoke(vm_path(vm), "RequestStateChange", {{"RequestedState", u16(3)}})) == 0);
  f.hv.hold_next(fake::op::apply, 10);
  const auto r = f.invoke(snapshot_service_path(host), "ApplySnapshot",
                          {{"Snapshot", ref(vssd_path(snap))}});
  REQUIRE(f.hv.wait_until_held());
  CHECK(rc(f.invoke(f.job_of(r), "RequestStateChange", {{"RequestedState", u16(4)}})) == 1);
  f.hv.release();
  CHECK(f.finish(r) == job_state::completed);
  CHECK(f.hv.completed(fake::op::apply) == 1);
}

TEST_CASE("virtualization_provider: the management service defines, renames and destroys",
          "[cimom][providers]") {
  fixture f;
  const object_path vsms = management_service_path(host);
  instance vssd("Msvm_VirtualSystemSettingData");
  vssd.set("ElementName", value("new-vm"));
  instance mem("CIM_ResourceAllocationSettingData");
  mem.set("ResourceType", value("4")).set("VirtualQuantity", value("512"));
  instance cpu("CIM_ResourceAllocationSettingData");
  cpu.set("ResourceType", value(scalar(std::uint16_t{3}))).set("VirtualQuantity", value("2"));
  instance disk("Msvm_StorageAllocationSettingData");
  disk.set("ResourceType", value(scalar(std::uint16_t{31})))
      .set("HostResource", value::array(cim_type::string, {scalar(std::string("/img/a.qcow2"))}));
  instance drive("CIM_ResourceAllocationSettingData");  // a synthetic drive: ignored
  drive.set("ResourceType", value(scalar(std::uint16_t{17})));
  std::vector<scalar> rasds;
  for (const auto& i : {mem, cpu, disk, drive}) {
    rasds.emplace_back(std::make_shared<const instance>(i));
  }
  const auto defined =
      f.invoke(vsms, "DefineSystem",
               {{"SystemSettings", embed(vssd)},
                {"ResourceSettings", value::array(cim_type::object, std::move(rasds))}});
  REQUIRE(rc(defined) == 0);
  const object_path vm = **out_param(defined, "ResultingSystem")->get_if<reference>();
  const std::string id = *vm_id_of(vm);
  auto cfg = f.hv.get_config(id);
  REQUIRE(cfg.has_value());
  CHECK(cfg->name == "new-vm");
  CHECK(cfg->memory_mib == 512);
  CHECK(cfg->vcpus == 2);
  REQUIRE(cfg->disks.size() == 1);
  CHECK(cfg->disks[0].path == "/img/a.qcow2");
  CHECK(u16_prop(f.get(vm), "EnabledState") == 3);

  // Rename the VM, then name a snapshot (how Hyper-V clients name checkpoints).
  instance rename_vm("Msvm_VirtualSystemSettingData");
  rename_vm.set("InstanceID", str("Microsoft:" + id)).set("ElementName", value("renamed"));
  REQUIRE(rc(f.invoke(vsms, "ModifySystemSettings", {{"SystemSettings", embed(rename_vm)}})) == 0);
  CHECK(*f.get(vm).get("ElementName") == value("renamed"));
  const std::string snap = f.snapshot(id, snapshot_type_disk);
  instance rename_snap("Msvm_VirtualSystemSettingData");
  rename_snap.set("InstanceID", str("Microsoft:" + snap)).set("ElementName", value("golden"));
  REQUIRE(rc(f.invoke(vsms, "ModifySystemSettings", {{"SystemSettings", embed(rename_snap)}})) ==
          0);
  CHECK(*f.get(vssd_path(snap)).get("ElementName") == value("golden"));

  struct row {
    const char* what;
    const char* method;
    std::vector<param_value> in;
    std::uint32_t expected;
  };
  instance nameless("Msvm_VirtualSystemSettingData");
  instance not_vssd("CIM_ResourceAllocationSettingData");
  instance unknown("Msvm_VirtualSystemSettingData");
  unknown.set("InstanceID", value("Microsoft:nope")).set("ElementName", value("x"));
  instance no_disk_path("Msvm_StorageAllocationSettingData");
  instance taken_uuid("Msvm_VirtualSystemSettingData");
  taken_uuid.set("ElementName", value("twin")).set("VirtualSystemIdentifier", str(id));
  const auto running = f.hv.add_system("busy", hv::vm_state::running);
  const std::vector<row> rows = {
      {"define without a name", "DefineSystem", {{"SystemSettings", embed(nameless)}}, 4},
      {"define from a RASD", "DefineSystem", {{"SystemSettings", embed(not_vssd)}}, 6},
      {"define with a disk without path", "DefineSystem",
       {{"SystemSettings", embed(vssd)},
        {"ResourceSettings",
         value::array(cim_type::object, {scalar(std::make_shared<const instance>(no_disk_path))})}},
       4},
      {"define from a reference configuration", "DefineSystem",
       {{"SystemSettings", embed(vssd)}, {"ReferenceConfiguration", ref(vssd_path(id))}}, 1},
      {"define with a uuid in use", "DefineSystem", {{"SystemSettings", embed(taken_uuid)}}, 4},
      {"modify an unknown VSSD", "ModifySystemSettings", {{"SystemSettings", embed(unknown)}}, 4},
      {"destroy a running VM", "DestroySystem", {{"AffectedSystem", ref(vm_path(running))}}, 5},
      {"destroy the host", "DestroySystem", {{"AffectedSystem", ref(host_path(host))}}, 4},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    CHECK(rc(f.invoke(vsms, r.method, r.in)) == r.expected);
  }

  const auto destroyed = f.invoke(vsms, "DestroySystem", {{"AffectedSystem", ref(vm)}});
  REQUIRE(f.finish(destroyed) == job_state::completed);
  CHECK(f.om().get_instance(f.ctx, vm, {}).error().code == errc::not_found);
  CHECK(f.om().get_instance(f.ctx, vssd_path(snap), {}).error().code == errc::not_found);
}

TEST_CASE("virtualization_provider: recovery marks, last applied snapshots and jobs survive a "
          "restart",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  const std::string recovery = f.snapshot(vm, snapshot_type_recovery);
  const std::string plain = f.snapshot(vm, snapshot_type_disk);
  REQUIRE(rc(f.invoke(vm_path(vm), "RequestStateChange", {{"RequestedState", u16(3)}})) == 0);
  const auto applied = f.invoke(snapshot_service_path(host), "ApplySnapshot",
                                {{"Snapshot", ref(vssd_path(recovery))}});
  REQUIRE(f.finish(applied) == job_state::completed);
  const object_path job = f.job_of(applied);

  f.restart();
  CHECK(*f.get(vssd_path(recovery)).get("VirtualSystemType") ==
        value("Microsoft:Hyper-V:Snapshot:Recovery"));
  CHECK(*f.get(vssd_path(plain)).get("VirtualSystemType") ==
        value("Microsoft:Hyper-V:Snapshot:Realized"));
  CHECK(f.associated(vm_path(vm), "Msvm_LastAppliedSnapshot") ==
        std::vector<object_path>{vssd_path(recovery)});
  CHECK(u16_prop(f.get(job), "JobState") == 7);

  // Destroying the snapshot forgets both facts, also across the next restart.
  REQUIRE(f.finish(f.invoke(snapshot_service_path(host), "DestroySnapshot",
                            {{"AffectedSnapshot", ref(vssd_path(recovery))}})) ==
          job_state::completed);
  f.restart();
  CHECK(f.associated(vm_path(vm), "Msvm_LastAppliedSnapshot").empty());
}

TEST_CASE("virtualization_provider: DSP1044 conformance points at the snapshot service",
          "[cimom][providers]") {
  fixture f;
  object_path profile("root/interop", "CIM_RegisteredProfile");
  profile.set_key("InstanceID", value("vsnapd:DSP1044-1.0.0"));
  operation_context interop{"root/interop", ""};
  associators_options o;
  o.assoc_class = "CIM_ElementConformsToProfile";
  auto c = f.om().associator_names(interop, profile, o);
  REQUIRE(c);
  const auto elements = drain(**c);
  REQUIRE(elements.size() == 1);
  CHECK(elements.front().ns() == "root/virtualization/v2");
  CHECK(name_equal(elements.front().class_name(), "Msvm_VirtualSystemSnapshotService"));
  CHECK(*elements.front().key("Name") == value("vssnapsvc"));
}

TEST_CASE("virtualization_provider: destroying the registration ends the jobs it started",
          "[cimom][providers]") {
  fixture f;
  const auto vm = f.hv.add_system("web", hv::vm_state::running);
  f.hv.hold_next(fake::op::create);
  const auto r = f.create(vm);
  REQUIRE(f.hv.wait_until_held());
  const object_path job = f.job_of(r);
  f.reg.reset();  // terminates and waits: the held create is cancelled through its stop token
  CHECK(f.rt->jobs().wait_until_final(job, std::chrono::seconds(0)) == job_state::terminated);
}
