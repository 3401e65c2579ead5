#include "cimom/indications/indication_bus.hpp"

#include "cimom/class_repository.hpp"

#include "tests/cimom/catch_result.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace vsnapd::cim;
using namespace vsnapd::cim::indications;

namespace {

constexpr const char* v2 = "root/virtualization/v2";

// The indication and job hierarchy the filters need, built without the MOF compiler.
std::unique_ptr<class_repository> make_repo() {
  auto repo = std::make_unique<class_repository>();
  for (const char* n : {v2, "root/cimv2"}) {
    REQUIRE(repo->add_namespace(n));
    for (auto [name, super] : std::initializer_list<std::pair<const char*, const char*>>{
             {"CIM_Indication", ""},
             {"CIM_InstIndication", "CIM_Indication"},
             {"CIM_InstCreation", "CIM_InstIndication"},
             {"CIM_InstModification", "CIM_InstIndication"},
             {"CIM_InstDeletion", "CIM_InstIndication"},
             {"CIM_ManagedElement", ""},
             {"CIM_Job", "CIM_ManagedElement"},
             {"CIM_ConcreteJob", "CIM_Job"},
             {"Msvm_ConcreteJob", "CIM_ConcreteJob"},
             {"CIM_ComputerSystem", "CIM_ManagedElement"}}) {
      class_decl c;
      c.name = name;
      c.superclass = super;
      REQUIRE(repo->add_class(n, std::move(c)));
    }
  }
  return repo;
}

object_path job_path(const char* ns, const char* cls, const char* id) {
  object_path p(ns, cls);
  p.set_key("InstanceID", value(id));
  return p;
}

instance job(const char* cls, std::uint16_t state) {
  instance i(cls);
  i.set("InstanceID", value("J1"));
  i.set("JobState", value(scalar(state)));
  return i;
}

const datetime when = datetime::from_unix_micros(1767323045000000);

}  // namespace

TEST_CASE("indication_bus: life-cycle indications carry the DMTF properties",
          "[cimom][indications]") {
  const auto path = job_path(v2, "Msvm_ConcreteJob", "J1");
  const auto c = make_inst_creation(path, job("Msvm_ConcreteJob", 2), when);
  CHECK(c.event.class_name() == "CIM_InstCreation");
  CHECK(c.ns == v2);
  CHECK(c.source_class == "Msvm_ConcreteJob");
  CHECK(*c.event.get("IndicationTime")->get_if<datetime>() == when);
  CHECK(*c.event.get("SourceInstanceModelPath")->get_if<std::string>() ==
        "Msvm_ConcreteJob.InstanceID=\"J1\"");
  CHECK(**c.event.get("SourceInstance")->get_if<embedded_instance>() == job("Msvm_ConcreteJob", 2));
  CHECK(c.event.get("SourceInstanceHost")->is_null());

  const auto m =
      make_inst_modification(path, job("Msvm_ConcreteJob", 3), job("Msvm_ConcreteJob", 4), when);
  CHECK(m.event.class_name() == "CIM_InstModification");
  CHECK(**m.event.get("PreviousInstance")->get_if<embedded_instance>() ==
        job("Msvm_ConcreteJob", 3));
  CHECK(**m.event.get("SourceInstance")->get_if<embedded_instance>() == job("Msvm_ConcreteJob", 4));

  const auto d = make_inst_deletion(path, job("Msvm_ConcreteJob", 7), when);
  CHECK(d.event.class_name() == "CIM_InstDeletion");
  CHECK(d.event.get("PreviousInstance") == nullptr);
}

TEST_CASE("indication_bus: filters select by namespace, indication class and source class",
          "[cimom][indications]") {
  const auto repo = make_repo();
  indication_bus bus(repo.get());
  const auto mod =
      make_inst_modification(job_path(v2, "Msvm_ConcreteJob", "J1"), job("Msvm_ConcreteJob", 3),
                             job("Msvm_ConcreteJob", 4), when);
  const auto create_vm = make_inst_creation(job_path("root/cimv2", "CIM_ComputerSystem", "x"),
                                            instance("CIM_ComputerSystem"), when);
  const struct {
    const char* what;
    indication_filter filter;
    bool mod;
    bool create_vm;
  } rows[] = {
      {"everything", {}, true, true},
      {"namespace, other spelling", {"ROOT\\Virtualization\\v2/", "", ""}, true, false},
      {"other namespace", {"root/cimv2", "", ""}, false, true},
      {"base indication class", {"", "CIM_InstIndication", ""}, true, true},
      {"exact indication class", {"", "CIM_InstModification", ""}, true, false},
      {"sibling indication class", {"", "CIM_InstDeletion", ""}, false, false},
      {"source base class", {"", "", "CIM_Job"}, true, false},
      {"source class case-insensitive", {"", "", "msvm_concretejob"}, true, false},
      {"source superclass", {"", "", "CIM_ManagedElement"}, true, true},
      {"source exact class", {"", "", "Msvm_ConcreteJob"}, true, false},
      {"unknown source class", {"", "", "CIM_Nothing"}, false, false},
      {"all three", {v2, "CIM_Indication", "CIM_ConcreteJob"}, true, false},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    CHECK(bus.matches(row.filter, mod) == row.mod);
    CHECK(bus.matches(row.filter, create_vm) == row.create_vm);
  }

  // Without a repository only exact class names match.
  indication_bus plain(nullptr);
  CHECK(plain.matches({"", "CIM_InstModification", "Msvm_ConcreteJob"}, mod));
  CHECK_FALSE(plain.matches({"", "CIM_Indication", ""}, mod));

  // Delivery follows the filter.
  auto jobs_only = bus.subscribe({"", "", "CIM_ConcreteJob"});
  auto all = bus.subscribe({});
  CHECK(bus.publish(mod) == 2);
  CHECK(bus.publish(create_vm) == 1);
  CHECK(jobs_only->size() == 1);
  CHECK(all->size() == 2);
  const auto first = all->try_pop();
  REQUIRE(first);
  CHECK(first->event.class_name() == "CIM_InstModification");
  CHECK(first->sequence == 1);
  CHECK(all->try_pop()->sequence == 2);
  CHECK_FALSE(all->try_pop());
}

TEST_CASE("indication_bus: a full queue drops its oldest indication and counts it",
          "[cimom][indications]") {
  indication_bus bus(nullptr, 4);
  auto small = bus.subscribe({}, 3);
  auto roomy = bus.subscribe({});  // the bus default: 4
  for (std::uint16_t n = 0; n < 10; ++n) {
    bus.publish(
        make_inst_creation(job_path(v2, "CIM_ConcreteJob", "J"), job("CIM_ConcreteJob", n), when));
  }
  CHECK(small->size() == 3);
  CHECK(small->dropped() == 7);
  CHECK(roomy->size() == 4);
  CHECK(roomy->dropped() == 6);
  // The newest survive, in order.
  for (std::uint64_t seq : {8u, 9u, 10u}) {
    const auto i = small->try_pop();
    REQUIRE(i);
    CHECK(i->sequence == seq);
  }
  CHECK_FALSE(small->wait_pop(std::chrono::milliseconds(1)));
}

TEST_CASE("indication_bus: unsubscribing on destruction, also after the bus is gone",
          "[cimom][indications]") {
  auto bus = std::make_unique<indication_bus>(nullptr);
  auto a = bus->subscribe({});
  {
    auto b = bus->subscribe({});
    CHECK(bus->subscriber_count() == 2);
  }
  CHECK(bus->subscriber_count() == 1);
  bus.reset();
  CHECK_FALSE(a->try_pop());
  a.reset();  // must not touch the destroyed bus
}

TEST_CASE("indication_bus: concurrent publishers never block and lose nothing below the bound",
          "[cimom][indications]") {
  indication_bus bus(nullptr);
  constexpr int publishers = 4;
  constexpr int each = 500;
  auto consumer_sub = bus.subscribe({}, publishers * each);
  auto tiny = bus.subscribe({}, 1);  // never read: must not slow or stop anyone
  std::atomic<int> received{0};
  std::atomic<int> out_of_order{0};
  std::thread consumer([&] {
    std::uint64_t last = 0;
    while (received.load() < publishers * each) {
      auto i = consumer_sub->wait_pop(std::chrono::seconds(30));
      if (!i) {
        break;  // a failure: the count check below reports it
      }
      if (i->sequence <= last) {
        ++out_of_order;  // one subscriber must see publication order
      }
      last = i->sequence;
      received.fetch_add(1);
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < publishers; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < each; ++n) {
        bus.publish(make_inst_creation(job_path(v2, "CIM_ConcreteJob", "J"),
                                       job("CIM_ConcreteJob", static_cast<std::uint16_t>(t)),
                                       when));
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  consumer.join();
  CHECK(received.load() == publishers * each);
  CHECK(out_of_order.load() == 0);
  CHECK(consumer_sub->dropped() == 0);
  CHECK(tiny->size() == 1);
  CHECK(tiny->dropped() == publishers * each - 1);
}
