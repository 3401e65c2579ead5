// The providers over the real QEMU backend, on stopped VMs only (no QEMU process: disks and
// snapshots are made by the storage module), so it stays a quick unit test. Running guests,
// full snapshots and the clients' wire traffic are the integration tier's.

#include "cimom/jobs/job_manager.hpp"
#include "cimom/providers/virtualization/model.hpp"
#include "cimom/providers/virtualization/register.hpp"
#include "cimom/runtime.hpp"
#include "common/log.hpp"
#include "hypervisor/qemu/qemu_hypervisor.hpp"
#include "tests/cimom/catch_result.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

using namespace vsnapd;
using namespace vsnapd::cim;
using namespace vsnapd::cim::providers::virtualization;

TEST_CASE("virtualization_provider over qemu: define, snapshot and destroy a stopped VM",
          "[cimom][providers][qemu]") {
  log::set_threshold(log::level::warning);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("vsnapd-providers-qemu-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  {
    hv::qemu::qemu_options options;
    options.state_dir = dir.string();
    options.auto_accel = hv::accel::tcg;  // no probe: nothing is launched here
    auto backend = hv::qemu::qemu_hypervisor::open(options);
    REQUIRE(backend.has_value());
    runtime_options ro;
    ro.state_dir = dir.string();
    ro.host_name = "hvhost";
    auto rt = runtime::start(ro);
    REQUIRE(rt);
    auto reg = register_virtualization(**rt, **backend, {"hvhost", dir.string()});
    REQUIRE(reg);
    object_manager& om = (*rt)->om();
    const operation_context ctx{"root/virtualization/v2", ""};

    instance vssd("Msvm_VirtualSystemSettingData");
    vssd.set("ElementName", value("demo"));
    instance disk("Msvm_StorageAllocationSettingData");
    disk.set("ResourceType", value(scalar(std::uint16_t{31})))
        .set("HostResource",
             value::array(cim_type::string, {scalar((dir / "demo.qcow2").string())}))
        .set("VirtualQuantity", value(scalar(std::uint64_t{64} << 20)));
    auto defined = om.invoke_method(
        ctx, management_service_path("hvhost"), "DefineSystem",
        {{"SystemSettings", value(scalar(std::make_shared<const instance>(vssd)))},
         {"ResourceSettings",
          value::array(cim_type::object, {scalar(std::make_shared<const instance>(disk))})}});
    REQUIRE(defined);
    REQUIRE(*defined->return_value.get_if<std::uint32_t>() == 0);
    const object_path vm = **defined->out.front().v.get_if<reference>();
    CHECK(*om.get_instance(ctx, vm, {})->get("EnabledState") == value(scalar(std::uint16_t{3})));

    auto created = om.invoke_method(ctx, snapshot_service_path("hvhost"), "CreateSnapshot",
                                    {{"AffectedSystem", ref(vm)},
                                     {"SnapshotType", value(scalar(std::uint16_t{3}))}});
    REQUIRE(created);
    REQUIRE(*created->return_value.get_if<std::uint32_t>() == 4096);
    object_path job;
    for (const auto& p : created->out) {
      if (p.name == "Job") {
        job = **p.v.get_if<reference>();
      }
    }
    const auto st = (*rt)->jobs().wait_until_final(job, std::chrono::seconds(30));
    REQUIRE(st);
    const auto job_inst = om.get_instance(ctx, job, {});
    REQUIRE(job_inst);
    const value* why = job_inst->get("ErrorDescription");
    INFO((why != nullptr && why->get_if<std::string>() ? *why->get_if<std::string>() : "no error"));
    REQUIRE(*st == jobs::job_state::completed);
    associators_options o;
    o.assoc_class = "CIM_SnapshotOfVirtualSystem";
    auto snaps = om.associator_names(ctx, vm, o);
    REQUIRE(snaps);
    std::vector<object_path> found;
    while (*(*snaps)->next(found, 8)) {
    }
    REQUIRE(found.size() == 1);
    o.assoc_class = "CIM_VirtualSystemSettingDataComponent";
    auto disks = om.associator_names(ctx, found.front(), o);
    REQUIRE(disks);
    std::vector<object_path> images;
    while (*(*disks)->next(images, 8)) {
    }
    CHECK(images.size() == 1);

    auto destroyed = om.invoke_method(ctx, snapshot_service_path("hvhost"), "DestroySnapshot",
                                      {{"AffectedSnapshot", ref(found.front())}});
    REQUIRE(destroyed);
    REQUIRE(*destroyed->return_value.get_if<std::uint32_t>() == 4096);
    for (const auto& p : destroyed->out) {
      if (p.name == "Job") {
        CHECK((*rt)->jobs().wait_until_final(**p.v.get_if<reference>(), std::chrono::seconds(30)) ==
              jobs::job_state::completed);
      }
    }
    CHECK(om.get_instance(ctx, found.front(), {}).error().code == errc::not_found);
    reg->reset();
  }
  std::filesystem::remove_all(dir);
}
