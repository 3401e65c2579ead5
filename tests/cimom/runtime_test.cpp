#include "cimom/runtime.hpp"

#include "cimom/jobs/job_manager.hpp"
#include "tests/cimom/catch_result.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <random>

using namespace vsnapd::cim;

namespace {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("vsnapd-runtime-" + std::to_string(std::random_device{}()));
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

std::vector<std::string> values_of(const std::vector<named_instance>& items, const char* prop) {
  std::vector<std::string> out;
  for (const auto& i : items) {
    const value* v = i.inst.get(prop);
    out.push_back(v != nullptr && !v->is_null() ? to_text(v->as_scalar()) : "NULL");
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("runtime: the embedded schema loads into three namespaces", "[cimom][runtime]") {
  auto rt = runtime::start({});
  REQUIRE(rt);
  const auto& repo = (*rt)->repository();
  CHECK((*rt)->stats().namespaces == 3);
  for (const char* cls :
       {"Msvm_VirtualSystemSnapshotService", "Msvm_VirtualSystemSnapshotSettingData",
        "Msvm_ConcreteJob", "CIM_VirtualSystemSnapshotServiceCapabilities", "CIM_Error",
        "Msvm_SnapshotOfVirtualSystem", "Msvm_MostCurrentSnapshotInBranch"}) {
    INFO(cls);
    CHECK(repo.find_class("root\\virtualization\\v2", cls) != nullptr);
  }
  const class_decl* svc = repo.find_class("root/virtualization/v2", "Msvm_VirtualSystemSnapshotService");
  REQUIRE(svc != nullptr);
  for (const char* m : {"CreateSnapshot", "DestroySnapshot", "ApplySnapshot", "DestroySnapshotTree",
                        "ClearSnapshotState"}) {
    INFO(m);
    CHECK(svc->method(m) != nullptr);
  }
  const class_decl* caps =
      repo.find_class("root/virtualization/v2", "CIM_VirtualSystemSnapshotServiceCapabilities");
  CHECK(caps->property("AynchronousMethodsSupported") != nullptr);
  CHECK(caps->property("AsynchronousMethodsSupported") != nullptr);
}

TEST_CASE("runtime: interop serves the profile registrations and the object manager", "[cimom][runtime]") {
  auto rt = runtime::start({"", "host.example"});
  REQUIRE(rt);
  object_manager& om = (*rt)->om();
  const operation_context ctx{"root/interop", "tester"};

  auto profiles = om.enumerate_instances(ctx, "CIM_RegisteredProfile", {});
  REQUIRE(profiles);
  const auto names = values_of(drain(**profiles), "RegisteredName");
  CHECK(names.size() == 4);
  CHECK(std::count_if(names.begin(), names.end(),
                      [](const std::string& n) { return n.find("Snapshot") != std::string::npos; }) == 1);

  auto namespaces = om.enumerate_instances(ctx, "CIM_Namespace", {});
  REQUIRE(namespaces);
  CHECK(values_of(drain(**namespaces), "Name") ==
        std::vector<std::string>{"root/cimv2", "root/interop", "root/virtualization/v2"});

  // DSP1044 is reached from DSP1057 through CIM_ReferencedProfile, declared with MOF aliases.
  auto dsp1044 = object_path::parse("root/interop:CIM_RegisteredProfile.InstanceID=\"vsnapd:DSP1044-1.0.0\"");
  REQUIRE(dsp1044);
  REQUIRE(om.get_instance(ctx, *dsp1044, {}));
  associators_options by_reference;
  by_reference.assoc_class = "CIM_ReferencedProfile";
  auto linked = om.associators(ctx, *dsp1044, by_reference);
  REQUIRE(linked);
  CHECK(values_of(drain(**linked), "InstanceID") == std::vector<std::string>{"vsnapd:DSP1057-1.0.0"});

  // The object manager conforms to Profile Registration (DSP1033).
  auto oms = om.enumerate_instances(ctx, "CIM_ObjectManager", {});
  REQUIRE(oms);
  const auto managers = drain(**oms);
  REQUIRE(managers.size() == 1);
  CHECK(*managers[0].inst.get("SystemName")->get_if<std::string>() == "host.example");
  associators_options conforms;
  conforms.assoc_class = "CIM_ElementConformsToProfile";
  auto standards = om.associators(ctx, managers[0].path, conforms);
  REQUIRE(standards);
  CHECK(values_of(drain(**standards), "InstanceID") == std::vector<std::string>{"vsnapd:DSP1033-1.0.0"});
}

TEST_CASE("runtime: jobs are served through the object manager and survive a restart", "[cimom][runtime]") {
  temp_dir dir;
  const runtime_options options{dir.path.string(), "host", 1};
  object_path job_path;
  {
    auto rt = runtime::start(options);
    REQUIRE(rt);
    jobs::job_spec spec;
    spec.ns = "root/virtualization/v2";
    spec.class_name = "Msvm_ConcreteJob";
    spec.name = "snapshot";
    auto submitted = (*rt)->jobs().submit(spec, [](jobs::job_context& job) -> result<void> {
      job.report_progress(10);
      job.wait_for_stop(std::chrono::minutes(5));  // until the runtime stops
      return fail(errc::failed, "stopped");
    });
    REQUIRE(submitted);
    job_path = *submitted;
    const operation_context ctx{"root/virtualization/v2", "tester"};
    auto listed = (*rt)->om().enumerate_instances(ctx, "CIM_ConcreteJob", {});
    REQUIRE(listed);
    const auto items = drain(**listed);
    REQUIRE(items.size() == 1);
    CHECK(items[0].inst.class_name() == "Msvm_ConcreteJob");
  }
  auto rt = runtime::start(options);
  REQUIRE(rt);
  CHECK((*rt)->stats().recovered_jobs == 1);
  const operation_context ctx{"root/virtualization/v2", "tester"};
  auto job = (*rt)->om().get_instance(ctx, job_path, {});
  REQUIRE(job);
  CHECK(*job->get("JobState")->get_if<std::uint16_t>() == 10);  // Exception
  CHECK_THAT(*job->get("ErrorDescription")->get_if<std::string>(),
             Catch::Contains("daemon stopped"));
  auto error = (*rt)->om().invoke_method(ctx, job_path, "GetError", {});
  REQUIRE(error);
  CHECK(error->return_value == value(scalar(std::uint32_t{0})));
}
