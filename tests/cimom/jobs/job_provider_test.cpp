#include "cimom/jobs/job_provider.hpp"

#include "cimom/jobs/job_manager.hpp"
#include "tests/cimom/jobs/test_support.hpp"

#include "tests/cimom/catch_result.hpp"

#include <catch2/catch.hpp>

using namespace vsnapd::cim;
using namespace vsnapd::cim::jobs;
using vsnapd::test::gate;

namespace {

constexpr const char* v2 = "root/virtualization/v2";
constexpr auto generous = std::chrono::milliseconds(30000);

// The parts of Msvm_ConcreteJob the provider reads: name, methods (the object manager has
// already checked parameters against these).
class_decl job_class() {
  class_decl c;
  c.name = "Msvm_ConcreteJob";
  c.superclass = "CIM_ConcreteJob";
  for (const char* m : {"RequestStateChange", "GetError", "GetErrors", "KillJob", "Frobnicate"}) {
    method_decl d;
    d.name = m;
    c.methods.push_back(d);
  }
  return c;
}

class_decl assoc_class(const char* name) {
  class_decl c;
  c.name = name;
  return c;
}

struct fixture {
  fixture() {
    auto m = job_manager::open({1, 16, nullptr, nullptr, &clock});
    REQUIRE(m);
    manager = std::move(*m);
  }
  ~fixture() {
    release.open();
    manager.reset();
  }
  object_path submit(bool block, std::string_view failure = {}) {
    job_spec s;
    s.ns = v2;
    s.class_name = "Msvm_ConcreteJob";
    s.name = "Apply Snapshot";
    object_path svc(v2, "Msvm_VirtualSystemSnapshotService");
    svc.set_key("Name", value("svc"));
    s.owning_element = svc;
    object_path vm(v2, "Msvm_ComputerSystem");
    vm.set_key("Name", value("VM-1"));
    s.affected.push_back({vm, {5}});
    const std::string why(failure);
    auto p = manager->submit(s, [this, block, why](job_context&) -> result<void> {
      if (block) {
        started.open();
        (void)release.wait(generous);
      }
      if (!why.empty()) {
        return fail(errc::failed, why);
      }
      return {};
    });
    REQUIRE(p);
    if (block) {
      REQUIRE(started.wait());
    } else {
      REQUIRE(manager->wait_until_final(*p, generous));
    }
    return *p;
  }

  vsnapd::test::manual_clock clock;
  gate started;
  gate release;
  std::unique_ptr<job_manager> manager;
  operation_context ctx{v2, "alice"};
};

std::uint32_t return_code(const method_result& r) {
  REQUIRE(r.return_value.get_if<std::uint32_t>() != nullptr);
  return *r.return_value.get_if<std::uint32_t>();
}

}  // namespace

TEST_CASE("job_provider: Get, Enumerate and Delete serve the manager's jobs",
          "[cimom][jobs][job_provider]") {
  fixture f;
  job_provider provider(*f.manager);
  const auto cls = job_class();
  const auto done = f.submit(false);
  const auto busy = f.submit(true);

  auto got = provider.get_instance(f.ctx, cls, done);
  REQUIRE(got);
  CHECK(*got->get("InstanceID") == *done.key("InstanceID"));
  // A path without a namespace is taken to be in the operation's namespace.
  object_path bare = done;
  bare.set_ns("");
  CHECK(provider.get_instance(f.ctx, cls, bare));
  object_path other_ns = done;
  other_ns.set_ns("root/cimv2");
  auto elsewhere = provider.get_instance(operation_context{"root/cimv2", ""}, cls, other_ns);
  REQUIRE_FALSE(elsewhere);
  CHECK(elsewhere.error().code == errc::not_found);

  auto cur = provider.enumerate_instances(f.ctx, cls);
  REQUIRE(cur);
  std::vector<instance> all;
  CHECK_FALSE(*(*cur)->next(all, 10));
  CHECK(all.size() == 2);

  auto refused = provider.delete_instance(f.ctx, cls, busy);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::failed);
  REQUIRE(provider.delete_instance(f.ctx, cls, done));
  CHECK(provider.get_instance(f.ctx, cls, done).error().code == errc::not_found);
}

TEST_CASE("job_provider: RequestStateChange returns the method's codes",
          "[cimom][jobs][job_provider]") {
  fixture f;
  job_provider provider(*f.manager);
  const auto cls = job_class();
  const auto& rsc = *cls.method("RequestStateChange");
  const auto busy = f.submit(true);
  const struct {
    const char* what;
    std::vector<param_value> in;
    std::uint32_t expected;
  } rows[] = {
      {"missing RequestedState", {}, 5},
      {"NULL RequestedState", {{"RequestedState", value::null(cim_type::uint16)}}, 5},
      {"suspend", {{"RequestedState", value(scalar(std::uint16_t{3}))}}, 1},
      {"with a timeout",
       {{"RequestedState", value(scalar(std::uint16_t{4}))},
        {"TimeoutPeriod", value(scalar(datetime::parse("00000000000001.000000:000").value()))}},
       4098},
      {"terminate", {{"requestedstate", value(scalar(std::uint16_t{4}))}}, 4096},
      {"kill", {{"RequestedState", value(scalar(std::uint16_t{5}))}}, 0},
      {"kill again", {{"RequestedState", value(scalar(std::uint16_t{5}))}}, 4097},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    auto r = provider.invoke(f.ctx, cls, busy, rsc, row.in);
    REQUIRE(r);
    CHECK(return_code(*r) == row.expected);
    CHECK(r->out.empty());
  }
  object_path unknown(v2, "Msvm_ConcreteJob");
  unknown.set_key("InstanceID", value("nope"));
  auto r = provider.invoke(f.ctx, cls, unknown, rsc,
                           {{"RequestedState", value(scalar(std::uint16_t{4}))}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::not_found);
}

TEST_CASE("job_provider: GetError and GetErrors return embedded CIM_Error instances",
          "[cimom][jobs][job_provider]") {
  fixture f;
  job_provider provider(*f.manager);
  const auto cls = job_class();
  const auto ok_job = f.submit(false);
  const auto bad_job = f.submit(false, "snapshot file is corrupt");

  auto r = provider.invoke(f.ctx, cls, ok_job, *cls.method("GetError"), {});
  REQUIRE(r);
  CHECK(return_code(*r) == 0);
  REQUIRE(r->out.size() == 1);
  CHECK(r->out[0].name == "Error");
  CHECK(r->out[0].v.is_null());
  CHECK(r->out[0].v.type() == cim_type::object);

  r = provider.invoke(f.ctx, cls, bad_job, *cls.method("GetError"), {});
  REQUIRE(r);
  REQUIRE(r->out.size() == 1);
  const auto* err = r->out[0].v.get_if<embedded_instance>();
  REQUIRE(err != nullptr);
  CHECK((*err)->class_name() == "CIM_Error");
  CHECK(*(*err)->get("Message")->get_if<std::string>() == "snapshot file is corrupt");

  r = provider.invoke(f.ctx, cls, bad_job, *cls.method("GetErrors"), {});
  REQUIRE(r);
  REQUIRE(r->out.size() == 1);
  CHECK(r->out[0].name == "Errors");
  REQUIRE(r->out[0].v.is_array());
  CHECK(r->out[0].v.as_array().size() == 1);
  r = provider.invoke(f.ctx, cls, ok_job, *cls.method("GetErrors"), {});
  CHECK(r->out[0].v.as_array().empty());
}

TEST_CASE("job_provider: KillJob and unknown methods", "[cimom][jobs][job_provider]") {
  fixture f;
  job_provider provider(*f.manager);
  const auto cls = job_class();
  const auto busy = f.submit(true);
  auto r = provider.invoke(f.ctx, cls, busy, *cls.method("KillJob"),
                           {{"DeleteOnKill", value(scalar(true))}});
  REQUIRE(r);
  CHECK(return_code(*r) == 0);
  CHECK(f.manager->size() == 0);
  r = provider.invoke(f.ctx, cls, busy, *cls.method("KillJob"), {});
  CHECK(return_code(*r) == 7);  // Not Found

  auto unknown = provider.invoke(f.ctx, cls, busy, *cls.method("Frobnicate"), {});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == errc::method_not_found);
}

TEST_CASE("job_association_provider: references from either end", "[cimom][jobs][job_provider]") {
  fixture f;
  job_association_provider provider(*f.manager);
  const auto job = f.submit(false);
  object_path vm(v2, "Msvm_ComputerSystem");
  vm.set_key("Name", value("VM-1"));
  const auto affected = assoc_class("CIM_AffectedJobElement");
  const auto owning = assoc_class("CIM_OwningJobElement");

  const auto count = [&](const class_decl& assoc, const object_path& source,
                         std::string_view role) {
    auto cur = provider.references(f.ctx, assoc, source, role);
    REQUIRE(cur);
    std::vector<instance> out;
    CHECK_FALSE(*(*cur)->next(out, 100));
    return out.size();
  };
  CHECK(count(affected, vm, "") == 1);
  CHECK(count(affected, vm, "AffectedElement") == 1);
  CHECK(count(affected, vm, "AffectingElement") == 0);
  CHECK(count(affected, job, "AffectingElement") == 1);
  CHECK(count(owning, job, "") == 1);
  CHECK(count(owning, vm, "") == 0);
  object_path bare_vm = vm;
  bare_vm.set_ns("");
  CHECK(count(affected, bare_vm, "") == 1);
}
