#include "cimom/query_executor.hpp"

#include "cimom/static_instance_provider.hpp"
#include "tests/cimom/test_schema.hpp"
#include "tests/fakes/cimom/memory_instance_provider.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace vsnapd::cim;
using namespace vsnapd::cim::test;

namespace {

value ref_to(std::string_view text) {
  return value(scalar(std::make_shared<const object_path>(*object_path::parse(text))));
}

struct query_fixture {
  class_repository repo;
  object_manager om{repo};
  fakes::memory_instance_provider systems{repo};
  static_instance_provider statics{repo};
  operation_context ctx{test_ns, "tester"};

  query_fixture() {
    load_test_schema(repo);
    REQUIRE(om.register_instance_provider(test_ns, "Test_System", systems));
    for (const char* cls : {"Test_Setting", "Test_SettingsDefineState", "Test_ParentChild"}) {
      REQUIRE(om.register_instance_provider(test_ns, cls, statics));
    }
    for (const char* cls : {"Test_SettingsDefineState", "Test_ParentChild"}) {
      REQUIRE(om.register_association_provider(test_ns, cls, statics));
    }
    systems.add(instance("Test_System").set("Name", value("host")).set("Count", value(scalar(std::uint16_t{1}))));
    systems.add(instance("Test_VirtualSystem")
                    .set("Name", value("vm1"))
                    .set("Count", value(scalar(std::uint16_t{3})))
                    .set("VmState", value(scalar(std::uint16_t{2}))));
    systems.add(instance("Test_VirtualSystem")
                    .set("Name", value("vm2"))
                    .set("Count", value(scalar(std::uint16_t{9})))
                    .set("VmState", value(scalar(std::uint16_t{3}))));
    for (const char* id : {"s1", "s2"}) {
      REQUIRE(statics.add(test_ns, instance("Test_Setting")
                                       .set("InstanceID", value(std::string_view(id)))
                                       .set("ElementName", value("snap"))));
    }
    REQUIRE(statics.add(test_ns, instance("Test_SettingsDefineState")
                                     .set("ManagedElement", ref_to("Test_VirtualSystem.Name=\"vm1\""))
                                     .set("SettingData", ref_to("Test_Setting.InstanceID=\"s1\""))));
    REQUIRE(statics.add(test_ns, instance("Test_ParentChild")
                                     .set("Parent", ref_to("Test_Setting.InstanceID=\"s1\""))
                                     .set("Child", ref_to("Test_Setting.InstanceID=\"s2\""))));
  }

  std::vector<named_instance> run(std::string_view language, std::string_view text) {
    auto c = exec_query(om, ctx, language, text);
    REQUIRE(c);
    std::vector<named_instance> out;
    for (;;) {
      auto more = (*c)->next(out, 1);
      REQUIRE(more);
      if (!*more) {
        return out;
      }
    }
  }
};

std::vector<std::string> names(const std::vector<named_instance>& items, const char* key) {
  std::vector<std::string> out;
  for (const auto& i : items) {
    out.push_back(to_text(i.path.key(key)->as_scalar()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("query_executor: SELECT filters polymorphically and projects with keys kept", "[cimom][query]") {
  query_fixture f;
  const auto all = f.run("WQL", "SELECT * FROM Test_System");
  CHECK(names(all, "Name") == std::vector<std::string>{"host", "vm1", "vm2"});

  const auto some = f.run("WQL", "SELECT Count FROM Test_System WHERE Count > 2 AND NOT Name = 'VM2'");
  REQUIRE(some.size() == 1);
  CHECK(to_text(some[0].path.key("Name")->as_scalar()) == "vm1");
  // Projection: the selected property and the key; VmState is gone.
  CHECK(some[0].inst.get("Count") != nullptr);
  CHECK(some[0].inst.get("Name") != nullptr);
  CHECK(some[0].inst.get("VmState") == nullptr);

  const auto isa = f.run("WQL", "SELECT * FROM Test_System WHERE __CLASS ISA 'Test_VirtualSystem'");
  CHECK(names(isa, "Name") == std::vector<std::string>{"vm1", "vm2"});

  const auto cql = f.run("DMTF:CQL", "SELECT s.Name FROM Test_System AS s WHERE s.Name LIKE 'vm.*'");
  CHECK(names(cql, "Name") == std::vector<std::string>{"vm1", "vm2"});
}

TEST_CASE("query_executor: ASSOCIATORS OF and REFERENCES OF use the WHERE keywords", "[cimom][query]") {
  query_fixture f;
  const auto assoc = f.run("WQL",
                           "ASSOCIATORS OF {Test_VirtualSystem.Name=\"vm1\"} WHERE "
                           "AssocClass = Test_SettingsDefineState ResultClass = Test_Setting");
  CHECK(names(assoc, "InstanceID") == std::vector<std::string>{"s1"});

  const auto children = f.run("WQL",
                              "ASSOCIATORS OF {Test_Setting.InstanceID=\"s1\"} WHERE "
                              "AssocClass = Test_ParentChild Role = Parent ResultRole = Child");
  CHECK(names(children, "InstanceID") == std::vector<std::string>{"s2"});
  CHECK(f.run("WQL", "ASSOCIATORS OF {Test_Setting.InstanceID=\"s1\"} WHERE Role = Child").empty());

  const auto keys_only =
      f.run("WQL", "ASSOCIATORS OF {Test_VirtualSystem.Name=\"vm1\"} WHERE KeysOnly");
  REQUIRE(keys_only.size() == 1);
  CHECK(keys_only[0].inst.get("ElementName") == nullptr);
  CHECK(keys_only[0].inst.get("InstanceID") != nullptr);

  const auto refs = f.run("WQL", "REFERENCES OF {Test_Setting.InstanceID=\"s2\"}");
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].inst.class_name() == "Test_ParentChild");
}

TEST_CASE("query_executor: each refusal carries its CIM status", "[cimom][query]") {
  query_fixture f;
  struct row {
    const char* language;
    const char* text;
    errc code;
  };
  const row rows[] = {
      {"SQL", "SELECT * FROM Test_System", errc::query_language_not_supported},
      {"WQL", "SELECT * FROM", errc::invalid_query},
      {"WQL", "SELECT * FROM Test_Nothing", errc::invalid_class},
      {"WQL", "SELECT Nope FROM Test_System", errc::invalid_query},
      {"WQL", "ASSOCIATORS OF {Test_Setting.InstanceID=\"s1\"} WHERE ClassDefsOnly", errc::not_supported},
      {"WQL", "ASSOCIATORS OF {Test_Setting.InstanceID=\"s1\"} WHERE RequiredAssocQualifier = Association",
       errc::not_supported},
      {"WQL", "ASSOCIATORS OF {Test_Setting.Nope=\"s1\"}", errc::invalid_parameter},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    auto c = exec_query(f.om, f.ctx, r.language, r.text);
    REQUIRE_FALSE(c);
    CHECK(c.error().code == r.code);
  }
}
