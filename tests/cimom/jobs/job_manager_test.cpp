#include "cimom/jobs/job_manager.hpp"

#include "cimom/indications/indication_bus.hpp"
#include "cimom/persistence/instance_store.hpp"
#include "tests/cimom/jobs/test_support.hpp"
#include "tests/cimom/persistence/temp_dir.hpp"

#include "tests/cimom/catch_result.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace vsnapd::cim;
using namespace vsnapd::cim::jobs;
using vsnapd::test::gate;
using namespace std::chrono_literals;

namespace {

constexpr const char* v2 = "root/virtualization/v2";
constexpr auto generous = std::chrono::milliseconds(30000);

object_path service_path() {
  object_path p(v2, "Msvm_VirtualSystemSnapshotService");
  p.set_key("CreationClassName", value("Msvm_VirtualSystemSnapshotService"));
  p.set_key("Name", value("vssnapsvc"));
  p.set_key("SystemCreationClassName", value("Msvm_ComputerSystem"));
  p.set_key("SystemName", value("HOST"));
  return p;
}

object_path vm_path(const char* name = "VM-1") {
  object_path p(v2, "Msvm_ComputerSystem");
  p.set_key("CreationClassName", value("Msvm_ComputerSystem"));
  p.set_key("Name", value(name));
  return p;
}

// `p` with the same keys under another class name (how a client names it by a superclass).
object_path as_class(const object_path& p, const char* cls) {
  object_path out(p.ns(), cls);
  for (const auto& k : p.keys()) {
    out.set_key(k.name, k.v);
  }
  return out;
}

object_path job_named(const char* id) {
  object_path p(v2, "Msvm_ConcreteJob");
  p.set_key("InstanceID", value(id));
  return p;
}

job_spec snapshot_spec() {
  job_spec s;
  s.ns = v2;
  s.class_name = "Msvm_ConcreteJob";
  s.name = "Create Snapshot";
  s.owning_element = service_path();
  s.owning_association = "Msvm_OwningJobElement";
  s.affected.push_back({vm_path(), {3}});  // Performance Impact
  s.affected_association = "Msvm_AffectedJobElement";
  s.extra_properties.push_back({"Cancellable", value(scalar(true))});
  s.extra_properties.push_back({"JobType", value(scalar(std::uint16_t{70}))});
  return s;
}

result<void> ok() { return {}; }

std::uint16_t u16(const instance& i, std::string_view name) {
  const auto* v = i.get(name)->get_if<std::uint16_t>();
  REQUIRE(v != nullptr);
  return *v;
}
std::string text(const instance& i, std::string_view name) {
  const value* v = i.get(name);
  REQUIRE(v != nullptr);
  if (const auto* s = v->get_if<std::string>()) {
    return *s;
  }
  if (const auto* d = v->get_if<datetime>()) {
    return std::string(d->text());
  }
  FAIL("property " << name << " is neither a string nor a datetime");
  return {};
}
job_state state_of(job_manager& m, const object_path& p) {
  auto i = m.get(p);
  REQUIRE(i);
  return static_cast<job_state>(u16(*i, "JobState"));
}

// A manager on a manual clock with a bus, and gates that are opened before the manager stops,
// so a test that fails half-way never leaves a worker blocked.
struct fixture {
  explicit fixture(std::size_t workers = 2, persistence::instance_store* store = nullptr,
                   std::size_t max_queued = 1024) {
    auto m = job_manager::open({workers, max_queued, store, &bus, &clock});
    REQUIRE(m);
    manager = std::move(*m);
  }
  ~fixture() {
    release.open();
    manager.reset();
  }
  // A job whose work opens `started` and returns when `release` opens.
  object_path blocked(job_spec s = snapshot_spec()) {
    auto p = manager->submit(std::move(s), [this](job_context&) {
      started.open();
      (void)release.wait(generous);
      return ok();
    });
    REQUIRE(p);
    return *p;
  }

  vsnapd::test::manual_clock clock;
  indications::indication_bus bus{nullptr};
  gate started;
  gate release;
  std::unique_ptr<job_manager> manager;
};

}  // namespace

TEST_CASE("job_manager: a job goes New, Starting, Running, Completed with its times",
          "[cimom][jobs][job_manager]") {
  fixture f;
  auto sub = f.bus.subscribe({});
  gate proceed;
  auto p = f.manager->submit(snapshot_spec(), [&](job_context&) {
    f.started.open();
    (void)proceed.wait(generous);
    f.clock.advance(90s);
    return ok();
  });
  REQUIRE(p);
  CHECK(p->class_name() == "Msvm_ConcreteJob");
  CHECK(p->ns() == v2);
  const std::string id = *p->key("InstanceID")->get_if<std::string>();
  CHECK(id.size() == 36);
  CHECK(id[14] == '4');  // a version 4 GUID
  REQUIRE(f.started.wait());

  auto running = f.manager->get(*p);
  REQUIRE(running);
  CHECK(running->class_name() == "Msvm_ConcreteJob");
  CHECK(u16(*running, "JobState") == 4);
  CHECK(text(*running, "JobStatus") == "Running");
  CHECK(text(*running, "TimeSubmitted") == "20260102030405.000000+000");
  CHECK(text(*running, "StartTime") == "20260102030405.000000+000");
  CHECK(text(*running, "ElapsedTime") == "00000000000000.000000:000");
  CHECK(text(*running, "TimeBeforeRemoval") == "00000000000500.000000:000");
  CHECK(*running->get("DeleteOnCompletion")->get_if<bool>());
  CHECK(u16(*running, "JobType") == 70);  // caller's class-specific property
  CHECK(text(*running, "Name") == "Create Snapshot");

  proceed.open();
  REQUIRE(f.manager->wait_until_final(*p, generous) == job_state::completed);
  auto done = f.manager->get(*p);
  REQUIRE(done);
  CHECK(u16(*done, "JobState") == 7);
  CHECK(text(*done, "JobStatus") == "Completed");
  CHECK(u16(*done, "PercentComplete") == 100);
  CHECK(u16(*done, "ErrorCode") == 0);
  CHECK(done->get("ErrorDescription")->is_null());
  CHECK(text(*done, "ElapsedTime") == "00000000000130.000000:000");
  CHECK(text(*done, "TimeOfLastStateChange") == "20260102030535.000000+000");
  CHECK(*done->get("OperationalStatus") ==
        value::array(cim_type::uint16, {std::uint16_t{2}, std::uint16_t{17}}));
  auto err = f.manager->get_error(*p);
  REQUIRE(err);
  CHECK(*err == nullptr);

  // Creation, then one modification per transition with the previous state attached.
  auto created = sub->try_pop();
  REQUIRE(created);
  CHECK(created->event.class_name() == "CIM_InstCreation");
  CHECK(u16(**created->event.get("SourceInstance")->get_if<embedded_instance>(), "JobState") == 2);
  const std::pair<int, int> transitions[] = {{2, 3}, {3, 4}, {4, 7}};
  for (const auto& [from, to] : transitions) {
    auto m = sub->try_pop();
    REQUIRE(m);
    CHECK(m->event.class_name() == "CIM_InstModification");
    CHECK(u16(**m->event.get("PreviousInstance")->get_if<embedded_instance>(), "JobState") == from);
    CHECK(u16(**m->event.get("SourceInstance")->get_if<embedded_instance>(), "JobState") == to);
  }
  CHECK_FALSE(sub->try_pop());  // progress alone publishes nothing
}

TEST_CASE("job_manager: progress is reported, clamped and never goes back",
          "[cimom][jobs][job_manager]") {
  fixture f;
  gate reported;
  gate proceed;
  auto p = f.manager->submit(snapshot_spec(), [&](job_context& ctx) {
    ctx.report_progress(40);
    ctx.report_progress(30);
    reported.open();
    (void)proceed.wait(generous);
    ctx.report_progress(250);
    return fail(errc::failed, "disk full");
  });
  REQUIRE(p);
  REQUIRE(reported.wait());
  CHECK(u16(*f.manager->get(*p), "PercentComplete") == 40);
  proceed.open();
  REQUIRE(f.manager->wait_until_final(*p, generous) == job_state::exception);
  // A failed job keeps the progress it reached.
  CHECK(u16(*f.manager->get(*p), "PercentComplete") == 100);
}

TEST_CASE("job_manager: a failing job ends in Exception with its error and a CIM_Error",
          "[cimom][jobs][job_manager]") {
  fixture f;
  SECTION("error from the work") {
    auto p = f.manager->submit(snapshot_spec(), [](job_context&) {
      return fail(errc::not_found, "no disk image for VM-1");
    });
    REQUIRE(p);
    REQUIRE(f.manager->wait_until_final(*p, generous) == job_state::exception);
    const auto i = *f.manager->get(*p);
    CHECK(u16(i, "ErrorCode") == 6);
    CHECK(text(i, "ErrorDescription") == "no disk image for VM-1");
    CHECK(*i.get("OperationalStatus") ==
          value::array(cim_type::uint16, {std::uint16_t{6}, std::uint16_t{17}}));
    const auto e = *f.manager->get_error(*p);
    REQUIRE(e);
    CHECK(e->class_name() == "CIM_Error");
    CHECK(*e->get("CIMStatusCode")->get_if<std::uint32_t>() == 6);
    CHECK(text(*e, "CIMStatusCodeDescription") == "CIM_ERR_NOT_FOUND");
    CHECK(text(*e, "Message") == "no disk image for VM-1");
    CHECK(text(*e, "MessageID") == "VSNAPD_JOB0004");
    CHECK(text(*e, "OwningEntity") == "vsnapd");
    CHECK(u16(*e, "ErrorType") == 4);
    CHECK(text(*e, "ErrorSource") == p->to_string());
    CHECK(u16(*e, "ErrorSourceFormat") == 2);
    CHECK(u16(*e, "PerceivedSeverity") == 5);
  }
  SECTION("the work's own CIM_Error is kept") {
    auto mine = std::make_shared<const instance>(
        make_cim_error(errc::access_denied, "HV0042", "no rights on the VM", nullptr, 6));
    auto p = f.manager->submit(snapshot_spec(), [&](job_context&) -> result<void> {
      return error{errc::access_denied, "no rights", mine};
    });
    REQUIRE(p);
    REQUIRE(f.manager->wait_until_final(*p, generous) == job_state::exception);
    const auto e = *f.manager->get_error(*p);
    REQUIRE(e);
    CHECK(*e == *mine);
    CHECK(u16(*e, "ErrorType") == 7);  // Security Error
    CHECK(e->get("ErrorSource")->is_null());
  }
  SECTION("a throwing work function") {
    auto p = f.manager->submit(snapshot_spec(), [](job_context&) -> result<void> {
      throw std::runtime_error("qemu went away");
    });
    REQUIRE(p);
    REQUIRE(f.manager->wait_until_final(*p, generous) == job_state::exception);
    CHECK_THAT(text(*f.manager->get(*p), "ErrorDescription"), Catch::Contains("qemu went away"));
  }
}

TEST_CASE("job_manager: RequestStateChange follows the DMTF transition table",
          "[cimom][jobs][job_manager]") {
  enum class setup { queued, running, shutting_down, completed, failed, terminated, killed, fixed };
  const std::optional<datetime> none;
  const auto some = datetime::parse("00000000000010.000000:000").value();
  const auto zero = datetime::parse("00000000000000.000000:000").value();
  const struct {
    const char* what;
    setup from;
    std::uint16_t requested;
    std::optional<datetime> timeout;
    rsc_status expected;
    job_state after;
  } rows[] = {
      {"state 0 is not in the ValueMap", setup::running, 0, none, rsc_status::invalid_parameter,
       job_state::running},
      {"state 1 is not in the ValueMap", setup::running, 1, none, rsc_status::invalid_parameter,
       job_state::running},
      {"state 7 is reserved", setup::running, 7, none, rsc_status::invalid_parameter,
       job_state::running},
      {"vendor states are refused", setup::running, 32768, none, rsc_status::invalid_parameter,
       job_state::running},
      {"a timeout is not supported", setup::running, 4, some, rsc_status::timeout_not_supported,
       job_state::running},
      {"a zero timeout is no timeout", setup::running, 4, zero, rsc_status::transition_started,
       job_state::shutting_down},
      {"suspend is not supported", setup::running, 3, none, rsc_status::not_supported,
       job_state::running},
      {"service is not supported", setup::running, 6, none, rsc_status::not_supported,
       job_state::running},
      {"start a running job", setup::running, 2, none, rsc_status::invalid_state_transition,
       job_state::running},
      {"start a queued job", setup::queued, 2, none, rsc_status::invalid_state_transition,
       job_state::new_job},
      {"terminate a queued job", setup::queued, 4, none, rsc_status::completed,
       job_state::terminated},
      {"kill a queued job", setup::queued, 5, none, rsc_status::completed, job_state::killed},
      {"terminate a running job", setup::running, 4, none, rsc_status::transition_started,
       job_state::shutting_down},
      {"kill a running job", setup::running, 5, none, rsc_status::completed, job_state::killed},
      {"terminate twice", setup::shutting_down, 4, none, rsc_status::transition_started,
       job_state::shutting_down},
      {"kill a job shutting down", setup::shutting_down, 5, none, rsc_status::completed,
       job_state::killed},
      {"terminate a completed job", setup::completed, 4, none, rsc_status::invalid_state_transition,
       job_state::completed},
      {"kill a completed job", setup::completed, 5, none, rsc_status::invalid_state_transition,
       job_state::completed},
      {"kill a failed job", setup::failed, 5, none, rsc_status::invalid_state_transition,
       job_state::exception},
      {"terminate a terminated job", setup::terminated, 4, none,
       rsc_status::invalid_state_transition, job_state::terminated},
      {"kill a killed job", setup::killed, 5, none, rsc_status::invalid_state_transition,
       job_state::killed},
      {"terminate a job that is not cancellable", setup::fixed, 4, none, rsc_status::not_supported,
       job_state::running},
      {"kill a job that is not cancellable", setup::fixed, 5, none, rsc_status::not_supported,
       job_state::running},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    fixture f(1);
    object_path target;
    switch (row.from) {
      case setup::queued:
        f.blocked();  // occupies the only worker
        REQUIRE(f.started.wait());
        target = *f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); });
        break;
      case setup::running:
      case setup::shutting_down:
      case setup::killed:
      case setup::fixed: {
        auto s = snapshot_spec();
        s.cancellable = row.from != setup::fixed;
        target = f.blocked(std::move(s));
        REQUIRE(f.started.wait());
        if (row.from == setup::shutting_down) {
          REQUIRE(*f.manager->request_state_change(target, 4, none) ==
                  rsc_status::transition_started);
        }
        if (row.from == setup::killed) {
          REQUIRE(*f.manager->request_state_change(target, 5, none) == rsc_status::completed);
        }
        break;
      }
      case setup::completed:
      case setup::failed:
        target = *f.manager->submit(snapshot_spec(), [&](job_context&) {
          return row.from == setup::failed ? result<void>(fail(errc::failed, "x")) : ok();
        });
        REQUIRE(f.manager->wait_until_final(target, generous));
        break;
      case setup::terminated:
        f.blocked();
        REQUIRE(f.started.wait());
        target = *f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); });
        REQUIRE(*f.manager->request_state_change(target, 4, none) == rsc_status::completed);
        break;
    }
    const auto r = f.manager->request_state_change(target, row.requested, row.timeout);
    REQUIRE(r);
    CHECK(*r == row.expected);
    CHECK(state_of(*f.manager, target) == row.after);
  }

  fixture f;
  auto gone = f.manager->request_state_change(
      [] {
        object_path p(v2, "Msvm_ConcreteJob");
        p.set_key("InstanceID", value("nope"));
        return p;
      }(),
      4, none);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == errc::not_found);
}

TEST_CASE("job_manager: Terminate stops a running job cleanly once its work returns",
          "[cimom][jobs][job_manager]") {
  fixture f;
  std::atomic<bool> saw_stop{false};
  gate proceed;
  auto p = f.manager->submit(snapshot_spec(), [&](job_context& ctx) {
    f.started.open();
    (void)proceed.wait(generous);
    saw_stop = ctx.stop_requested();
    return ctx.stop_requested() ? result<void>(fail(errc::failed, "cancelled")) : ok();
  });
  REQUIRE(p);
  REQUIRE(f.started.wait());
  REQUIRE(*f.manager->request_state_change(*p, 4, std::nullopt) == rsc_status::transition_started);
  CHECK(text(*f.manager->get(*p), "JobStatus") == "Shutting Down");
  proceed.open();
  REQUIRE(f.manager->wait_until_final(*p, generous) == job_state::terminated);
  CHECK(saw_stop);
  const auto e = *f.manager->get_error(*p);
  REQUIRE(e);
  CHECK(text(*e, "MessageID") == "VSNAPD_JOB0002");
  CHECK(*f.manager->get(*p)->get("OperationalStatus") ==
        value::array(cim_type::uint16, {std::uint16_t{10}, std::uint16_t{17}}));
}

TEST_CASE("job_manager: Kill ends a job at once and discards what its work returns",
          "[cimom][jobs][job_manager]") {
  fixture f(1);
  std::atomic<bool> second_ran{false};
  gate proceed;
  gate returned;
  auto p = f.manager->submit(snapshot_spec(), [&](job_context& ctx) {
    f.started.open();
    (void)proceed.wait(generous);
    ctx.report_progress(60);
    returned.open();
    return ok();
  });
  REQUIRE(p);
  REQUIRE(f.started.wait());
  auto queued = f.manager->submit(snapshot_spec(), [&](job_context&) {
    second_ran = true;
    return ok();
  });
  REQUIRE(queued);
  REQUIRE(*f.manager->request_state_change(*p, 5, std::nullopt) == rsc_status::completed);
  CHECK(state_of(*f.manager, *p) == job_state::killed);
  REQUIRE(*f.manager->request_state_change(*queued, 5, std::nullopt) == rsc_status::completed);
  proceed.open();
  REQUIRE(returned.wait());
  // A third job on the single worker runs after the killed ones were dequeued.
  auto third = f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); });
  REQUIRE(f.manager->wait_until_final(*third, generous) == job_state::completed);
  CHECK(state_of(*f.manager, *p) == job_state::killed);
  CHECK(u16(*f.manager->get(*p), "PercentComplete") == 60);
  CHECK_FALSE(second_ran);
  CHECK(text(**f.manager->get_error(*p), "MessageID") == "VSNAPD_JOB0003");
}

TEST_CASE("job_manager: a work function can block until it is told to stop",
          "[cimom][jobs][job_manager]") {
  fixture f;
  std::atomic<bool> early{true};
  std::atomic<bool> stopped{false};
  auto p = f.manager->submit(snapshot_spec(), [&](job_context& ctx) {
    early = ctx.wait_for_stop(std::chrono::milliseconds(1));  // nothing requested yet
    f.started.open();
    stopped = ctx.wait_for_stop(generous);
    return ok();
  });
  REQUIRE(p);
  REQUIRE(f.started.wait());
  REQUIRE(*f.manager->request_state_change(*p, 4, std::nullopt) == rsc_status::transition_started);
  REQUIRE(f.manager->wait_until_final(*p, generous) == job_state::terminated);
  CHECK_FALSE(early);
  CHECK(stopped);
}

TEST_CASE("job_manager: KillJob kills, and deletes when asked", "[cimom][jobs][job_manager]") {
  fixture f(1);
  auto p = f.blocked();
  REQUIRE(f.started.wait());
  auto q = f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); });
  CHECK(*f.manager->kill_job(*q, true) == kill_status::success);
  CHECK(f.manager->get(*q).error().code == errc::not_found);
  CHECK(*f.manager->kill_job(p, false) == kill_status::success);
  CHECK(state_of(*f.manager, p) == job_state::killed);
  CHECK(*f.manager->kill_job(p, false) == kill_status::failed);
  CHECK(*f.manager->kill_job(*q, false) == kill_status::not_found);
}

TEST_CASE("job_manager: finished jobs expire TimeBeforeRemoval after completion",
          "[cimom][jobs][job_manager]") {
  vsnapd::test::temp_dir dir;
  auto store = std::move(*persistence::instance_store::open({dir.file("state.db")}));
  fixture f(2, store.get());
  auto sub = f.bus.subscribe({"", "CIM_InstDeletion", ""});
  auto p = f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); });
  REQUIRE(f.manager->wait_until_final(*p, generous) == job_state::completed);
  auto keep_spec = snapshot_spec();
  keep_spec.delete_on_completion = false;
  auto kept = f.manager->submit(keep_spec, [](job_context&) { return ok(); });
  REQUIRE(f.manager->wait_until_final(*kept, generous) == job_state::completed);
  auto short_spec = snapshot_spec();
  short_spec.time_before_removal = 10s;
  auto brief = f.manager->submit(short_spec, [](job_context&) { return ok(); });
  REQUIRE(f.manager->wait_until_final(*brief, generous) == job_state::completed);
  CHECK(text(*f.manager->get(*brief), "TimeBeforeRemoval") == "00000000000010.000000:000");
  CHECK(*store->count("vsnapd/jobs", job_record_class) == 3);

  f.clock.advance(10s);
  CHECK(f.manager->collect_expired() == 1);
  CHECK(f.manager->get(*brief).error().code == errc::not_found);
  f.clock.advance(289s);  // 299 s after completion
  CHECK(f.manager->get(*p));
  CHECK(f.manager->list(v2, "Msvm_ConcreteJob").size() == 2);
  f.clock.advance(1s);
  // Reads expire lazily: no timer is needed for a client never to see an expired job.
  CHECK(f.manager->get(*p).error().code == errc::not_found);
  CHECK(f.manager->list(v2, "Msvm_ConcreteJob").size() == 1);
  f.clock.advance(24h);
  CHECK(f.manager->get(*kept));  // DeleteOnCompletion=false: kept until deleted
  CHECK(*store->count("vsnapd/jobs", job_record_class) == 1);
  auto deleted = sub->try_pop();
  REQUIRE(deleted);
  CHECK(*(*deleted->event.get("SourceInstance")->get_if<embedded_instance>())->get("InstanceID") ==
        *brief->key("InstanceID"));
  REQUIRE(sub->try_pop());
  CHECK_FALSE(sub->try_pop());

  REQUIRE(f.manager->remove(*kept));
  CHECK(f.manager->size() == 0);
  CHECK(*store->count("vsnapd/jobs", job_record_class) == 0);
}

TEST_CASE("job_manager: an active job cannot be deleted", "[cimom][jobs][job_manager]") {
  fixture f;
  auto p = f.blocked();
  REQUIRE(f.started.wait());
  auto r = f.manager->remove(p);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::failed);
  CHECK_THAT(r.error().description, Catch::Contains("still Running"));
}

TEST_CASE("job_manager: jobs are seen only in their namespace and under their class",
          "[cimom][jobs][job_manager]") {
  fixture f;
  auto cim_spec = snapshot_spec();
  cim_spec.ns = "root\\cimv2";
  cim_spec.class_name = "CIM_ConcreteJob";
  auto a = f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); });
  auto b = f.manager->submit(cim_spec, [](job_context&) { return ok(); });
  REQUIRE(a);
  REQUIRE(b);
  CHECK(b->ns() == "root/cimv2");
  CHECK(f.manager->list(v2, "Msvm_ConcreteJob").size() == 1);
  CHECK(f.manager->list(v2, "CIM_ConcreteJob").empty());
  CHECK(f.manager->list("root/cimv2", "cim_concretejob").size() == 1);
  object_path wrong_ns = *a;
  wrong_ns.set_ns("root/cimv2");
  CHECK(f.manager->get(wrong_ns).error().code == errc::not_found);

  job_spec bad;
  auto r = f.manager->submit(bad, [](job_context&) { return ok(); });
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::invalid_parameter);
}

TEST_CASE("job_manager: OwningJobElement and AffectedJobElement link jobs and elements",
          "[cimom][jobs][job_manager]") {
  fixture f;
  gate added;
  gate proceed;
  object_path snapshot(v2, "Msvm_VirtualSystemSettingData");
  snapshot.set_key("InstanceID", value("Microsoft:SNAP-1"));
  auto p = f.manager->submit(snapshot_spec(), [&](job_context& ctx) {
    object_path created = snapshot;
    created.set_ns("");                        // the job's namespace is assumed
    ctx.add_affected_element({created, {5}});  // Create
    added.open();
    (void)proceed.wait(generous);
    return ok();
  });
  REQUIRE(p);
  REQUIRE(added.wait());

  const auto from_job_owning = f.manager->associations(v2, "Msvm_OwningJobElement", *p, "");
  REQUIRE(from_job_owning.size() == 1);
  CHECK(**from_job_owning[0].get("OwningElement")->get_if<reference>() == service_path());
  CHECK(**from_job_owning[0].get("OwnedElement")->get_if<reference>() == *p);
  CHECK(from_job_owning[0].class_name() == "Msvm_OwningJobElement");

  const auto from_job_affected = f.manager->associations(v2, "Msvm_AffectedJobElement", *p, "");
  REQUIRE(from_job_affected.size() == 2);
  CHECK(**from_job_affected[0].get("AffectedElement")->get_if<reference>() == vm_path());
  CHECK(*from_job_affected[0].get("ElementEffects") ==
        value::array(cim_type::uint16, {std::uint16_t{3}}));
  CHECK(**from_job_affected[1].get("AffectedElement")->get_if<reference>() == snapshot);
  CHECK(**from_job_affected[1].get("AffectingElement")->get_if<reference>() == *p);

  const struct {
    const char* what;
    const char* assoc;
    object_path source;
    const char* role;
    std::size_t count;
  } rows[] = {
      {"service as owner", "Msvm_OwningJobElement", service_path(), "OwningElement", 1},
      {"service in the wrong role", "Msvm_OwningJobElement", service_path(), "OwnedElement", 0},
      {"job in its role", "Msvm_OwningJobElement", *p, "ownedelement", 1},
      {"vm affected", "Msvm_AffectedJobElement", vm_path(), "", 1},
      {"vm in the job's role", "Msvm_AffectedJobElement", vm_path(), "AffectingElement", 0},
      {"new snapshot affected", "Msvm_AffectedJobElement", snapshot, "AffectedElement", 1},
      {"another vm", "Msvm_AffectedJobElement", vm_path("VM-2"), "", 0},
      {"the CIM_ class is another association", "CIM_AffectedJobElement", vm_path(), "", 0},
      {"the vm owns nothing", "Msvm_OwningJobElement", vm_path(), "", 0},
      // WS-Man clients name objects by a superclass (CIM_ URIs with __cimnamespace).
      {"job named CIM_ConcreteJob", "Msvm_AffectedJobElement", as_class(*p, "CIM_ConcreteJob"),
       "AffectingElement", 2},
      {"vm named CIM_ComputerSystem", "Msvm_AffectedJobElement",
       as_class(vm_path(), "CIM_ComputerSystem"), "", 1},
      {"another job's InstanceID", "Msvm_AffectedJobElement", job_named("NO-SUCH-JOB"), "", 0},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    CHECK(f.manager->associations(v2, row.assoc, row.source, row.role).size() == row.count);
  }
  CHECK(f.manager->associations("root/cimv2", "Msvm_AffectedJobElement", vm_path(), "").empty());
  proceed.open();
  // The work function uses this test's gates: it must be done before they go out of scope.
  REQUIRE(f.manager->wait_until_final(*p, generous) == job_state::completed);
}

TEST_CASE("job_manager: many jobs share a small pool", "[cimom][jobs][job_manager]") {
  fixture f(3);
  auto sub = f.bus.subscribe({"", "CIM_InstCreation", ""}, 1000);
  constexpr int count = 64;
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::vector<object_path> paths;
  std::vector<std::thread> submitters;
  std::mutex paths_mutex;
  std::atomic<int> submit_failures{0};
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&, t] {
      for (int n = 0; n < count / 4; ++n) {
        auto p = f.manager->submit(snapshot_spec(), [&, n](job_context& ctx) -> result<void> {
          const int now = ++running;
          int seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
          for (std::uint16_t pct = 0; pct <= 100; pct += 10) {
            ctx.report_progress(pct);
            std::this_thread::yield();
          }
          --running;
          return n % 5 == 0 ? result<void>(fail(errc::failed, "odd one out")) : ok();
        });
        if (!p) {
          ++submit_failures;  // Catch2 assertions are not thread-safe: count, check below
          continue;
        }
        std::lock_guard lock(paths_mutex);
        paths.push_back(*p);
        if (t == 0 && n % 3 == 0) {
          (void)f.manager->request_state_change(*p, 5, std::nullopt);
        }
      }
    });
  }
  for (auto& t : submitters) {
    t.join();
  }
  REQUIRE(submit_failures.load() == 0);
  int completed = 0;
  int failed = 0;
  int killed = 0;
  for (const auto& p : paths) {
    const auto s = f.manager->wait_until_final(p, generous);
    REQUIRE(s);
    REQUIRE(is_final(*s));
    completed += *s == job_state::completed ? 1 : 0;
    failed += *s == job_state::exception ? 1 : 0;
    killed += *s == job_state::killed ? 1 : 0;
  }
  CHECK(completed + failed + killed == count);
  CHECK(killed > 0);
  CHECK(failed > 0);
  CHECK(peak.load() <= 3);  // never more work functions at once than workers
  CHECK(f.manager->size() == count);
  int created = 0;
  while (sub->try_pop()) {
    ++created;
  }
  CHECK(created == count);
}

TEST_CASE("job_manager: a full queue refuses new jobs", "[cimom][jobs][job_manager]") {
  fixture f(1, nullptr, 2);
  f.blocked();
  REQUIRE(f.started.wait());  // the worker holds it: the queue is empty again
  REQUIRE(f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); }));
  REQUIRE(f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); }));
  auto r = f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); });
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::server_limits_exceeded);
  CHECK(f.manager->size() == 3);  // the refused job leaves no trace
}

TEST_CASE("job_manager: stopping the daemon fails queued and running jobs with a clear error",
          "[cimom][jobs][job_manager]") {
  vsnapd::test::temp_dir dir;
  auto store = std::move(*persistence::instance_store::open({dir.file("state.db")}));
  object_path running;
  object_path queued;
  object_path done;
  {
    fixture f(1, store.get());
    done = *f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); });
    REQUIRE(f.manager->wait_until_final(done, generous));
    running = *f.manager->submit(snapshot_spec(), [&](job_context& ctx) {
      f.started.open();
      (void)ctx.wait_for_stop(generous);  // e.g. waiting on QEMU, still reacting to a stop
      return ok();
    });
    REQUIRE(f.started.wait());
    queued = *f.manager->submit(snapshot_spec(), [](job_context&) { return ok(); });
  }  // the manager stops here
  vsnapd::test::manual_clock clock;
  auto m = std::move(*job_manager::open({1, 16, store.get(), nullptr, &clock}));
  CHECK(state_of(*m, done) == job_state::completed);
  CHECK(state_of(*m, running) == job_state::exception);
  CHECK(text(*m->get(running), "ErrorDescription") == daemon_stopped_message);
  CHECK(state_of(*m, queued) == job_state::exception);
  CHECK(text(*m->get(queued), "ErrorDescription") == "the daemon stopped before the job started");
  CHECK(u16(*m->get(queued), "ErrorCode") ==
        static_cast<std::uint16_t>(errc::server_is_shutting_down));
}

TEST_CASE("job_manager: a job running when the daemon is killed is reported failed after restart",
          "[cimom][jobs][job_manager][crash]") {
  vsnapd::test::temp_dir dir;
  const std::string file = dir.file("state.db");
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The "daemon": one finished job, one running job, then SIGKILL.
    ::close(fds[0]);
    auto store = persistence::instance_store::open({file});
    if (!store) {
      ::_exit(2);
    }
    auto m = job_manager::open({1, 16, store->get(), nullptr, nullptr});
    if (!m) {
      ::_exit(3);
    }
    auto done = (*m)->submit(snapshot_spec(), [](job_context& ctx) {
      ctx.report_progress(100);
      return ok();
    });
    if (!done || (*m)->wait_until_final(*done, generous) != job_state::completed) {
      ::_exit(4);
    }
    gate started;
    gate never;
    auto p = (*m)->submit(snapshot_spec(), [&](job_context& ctx) {
      ctx.report_progress(30);
      ctx.add_affected_element({vm_path("VM-9"), {5}});
      started.open();
      (void)never.wait(std::chrono::hours(1));
      return ok();
    });
    if (!p || !started.wait()) {
      ::_exit(5);
    }
    const std::string ids = *done->key("InstanceID")->get_if<std::string>() + " " +
                            *p->key("InstanceID")->get_if<std::string>();
    (void)::write(fds[1], ids.data(), ids.size());
    ::close(fds[1]);
    ::pause();
  }
  ::close(fds[1]);
  char buf[128] = {};
  std::size_t got = 0;
  for (ssize_t n; got < 73 && (n = ::read(fds[0], buf + got, sizeof buf - 1 - got)) > 0;) {
    got += static_cast<std::size_t>(n);
  }
  REQUIRE(got == 73);  // two GUIDs and a space
  REQUIRE(::kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::close(fds[0]);
  const auto job = [&](std::string_view id) {
    object_path p(v2, "Msvm_ConcreteJob");
    p.set_key("InstanceID", value(id));
    return p;
  };
  const auto done = job(std::string_view(buf, 36));
  const auto lost = job(std::string_view(buf + 37, 36));

  for (int reopen = 0; reopen < 2; ++reopen) {
    INFO("reopen " << reopen);  // the second open reads what the first recovery persisted
    auto store = std::move(*persistence::instance_store::open({file}));
    vsnapd::test::manual_clock clock;
    auto m = std::move(*job_manager::open({1, 16, store.get(), nullptr, &clock}));
    CHECK(state_of(*m, done) == job_state::completed);
    const auto i = *m->get(lost);
    CHECK(u16(i, "JobState") == 10);
    CHECK(u16(i, "PercentComplete") == 30);
    CHECK(u16(i, "ErrorCode") == 1);
    CHECK(text(i, "ErrorDescription") == daemon_stopped_message);
    CHECK(u16(i, "JobType") == 70);
    const auto e = *m->get_error(lost);
    REQUIRE(e);
    CHECK(text(*e, "MessageID") == "VSNAPD_JOB0001");
    CHECK(text(*e, "Message") == daemon_stopped_message);
    // The links survive, including the one added while the job ran.
    CHECK(m->associations(v2, "Msvm_AffectedJobElement", lost, "").size() == 2);
    CHECK(m->associations(v2, "Msvm_AffectedJobElement", vm_path("VM-9"), "").size() == 1);
    CHECK(m->associations(v2, "Msvm_OwningJobElement", service_path(), "").size() == 2);
    if (reopen == 1) {
      // The failed job expires TimeBeforeRemoval after the restart that failed it (the manual
      // clock is earlier than the real time the completed job finished at, so that one stays).
      clock.advance(5min);
      CHECK(m->collect_expired() == 1);
      CHECK(m->get(lost).error().code == errc::not_found);
      CHECK(m->get(done));
    }
  }
}
