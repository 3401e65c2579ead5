#include "cimom/static_instance_provider.hpp"

#include "tests/cimom/test_schema.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace vsnapd::cim;
using namespace vsnapd::cim::test;

namespace {

value ref_to(std::string_view text) {
  auto p = object_path::parse(text);
  REQUIRE(p);
  return value(scalar(std::make_shared<const object_path>(std::move(*p))));
}

std::size_t count(instance_cursor& c) {
  std::vector<instance> out;
  while (true) {
    auto more = c.next(out, 10);
    REQUIRE(more);
    if (!*more) {
      return out.size();
    }
  }
}

}  // namespace

TEST_CASE("static_instance_provider: add checks and converts against the class",
          "[cimom][static_instance_provider]") {
  class_repository repo;
  load_test_schema(repo);
  static_instance_provider p(repo);
  auto added = p.add("ROOT\\TEST", instance("test_numbered")
                                       .set("id", value("7"))
                                       .set("Kind", value(scalar(std::int64_t{-3})))
                                       .set("Flag", value("true")));
  REQUIRE(added);
  CHECK(added->to_string() == "root/test:Test_Numbered.Flag=TRUE,Id=7,Kind=-3");
  const operation_context ctx{test_ns, ""};
  auto got = p.get_instance(ctx, *repo.find_class(test_ns, "Test_Numbered"), *added);
  REQUIRE(got);
  CHECK(got->class_name() == "Test_Numbered");
  CHECK(*got->get("Id") == value(scalar(std::uint32_t{7})));
  CHECK(got->get("Label")->is_null());  // completed in class order
  CHECK(got->properties().size() == 4);
  CHECK(p.size() == 1);

  struct row {
    const char* name;
    const char* ns;
    instance inst;
    errc code;
  };
  const std::vector<row> rows = {
      {"unknown namespace", "root/nope", instance("Test_Setting"), errc::invalid_namespace},
      {"unknown class", test_ns, instance("Test_Nope"), errc::invalid_class},
      {"unknown property", test_ns,
       instance("Test_Setting").set("InstanceID", value("a")).set("X", value("1")),
       errc::invalid_parameter},
      {"bad value", test_ns,
       instance("Test_Numbered")
           .set("Id", value("x"))
           .set("Kind", value("1"))
           .set("Flag", value("true")),
       errc::invalid_parameter},
      {"missing key", test_ns, instance("Test_Setting"), errc::invalid_parameter},
      {"duplicate", test_ns,
       instance("Test_Numbered")
           .set("Id", value("7"))
           .set("Kind", value("-3"))
           .set("Flag", value("1")),
       errc::already_exists},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto bad = p.add(r.ns, r.inst);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == r.code);
  }
  CHECK(p.size() == 1);
}

TEST_CASE(
    "static_instance_provider: enumerates exactly the class and finds subclasses by superclass "
    "path",
    "[cimom][static_instance_provider]") {
  class_repository repo;
  load_test_schema(repo);
  static_instance_provider p(repo);
  REQUIRE(p.add(test_ns, instance("Test_System").set("Name", value("a"))));
  REQUIRE(p.add(test_ns, instance("Test_VirtualSystem").set("Name", value("b"))));
  const operation_context ctx{test_ns, ""};
  const auto& system = *repo.find_class(test_ns, "Test_System");
  auto c = p.enumerate_instances(ctx, system);
  REQUIRE(c);
  CHECK(count(**c) == 1);
  auto b = p.get_instance(ctx, system, object_path(test_ns, "Test_System", {{"Name", value("b")}}));
  REQUIRE(b);
  CHECK(b->class_name() == "Test_VirtualSystem");
  CHECK(p.get_instance(ctx, system, object_path(test_ns, "Test_System", {{"Name", value("c")}}))
            .error()
            .code == errc::not_found);
  REQUIRE(
      p.delete_instance(ctx, system, object_path(test_ns, "Test_System", {{"Name", value("b")}})));
  CHECK(p.size() == 1);
}

TEST_CASE("static_instance_provider: references match the source in any or the given role",
          "[cimom][static_instance_provider]") {
  class_repository repo;
  load_test_schema(repo);
  static_instance_provider p(repo);
  REQUIRE(p.add(test_ns, instance("Test_ParentChild")
                             .set("Parent", ref_to("Test_Setting.InstanceID=\"a\""))
                             .set("Child", ref_to("Test_Setting.InstanceID=\"b\""))));
  REQUIRE(p.add(test_ns, instance("Test_ParentChild")
                             .set("Parent", ref_to("root/test:Test_Setting.InstanceID=\"b\""))
                             .set("Child", ref_to("Test_Setting.InstanceID=\"c\""))));
  const operation_context ctx{test_ns, ""};
  const auto& assoc = *repo.find_class(test_ns, "Test_ParentChild");
  const object_path b(test_ns, "Test_Setting", {{"InstanceID", value("b")}});
  const auto refs = [&](std::string_view role) {
    auto c = p.references(ctx, assoc, b, role);
    REQUIRE(c);
    return count(**c);
  };
  CHECK(refs("") == 2);
  CHECK(refs("parent") == 1);
  CHECK(refs("Child") == 1);
  CHECK(refs("Other") == 0);
  // Another namespace holds nothing.
  auto other = p.references(operation_context{other_ns, ""}, assoc, b, "");
  REQUIRE(other);
  CHECK(count(**other) == 0);
}

TEST_CASE("static_instance_provider: readers and writers on several threads",
          "[cimom][static_instance_provider]") {
  class_repository repo;
  load_test_schema(repo);
  static_instance_provider p(repo);
  const operation_context ctx{test_ns, ""};
  const auto& setting = *repo.find_class(test_ns, "Test_Setting");
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string id = std::to_string(t) + "/" + std::to_string(i);
        auto added =
            p.add(test_ns, instance("Test_Setting").set("InstanceID", value(std::string_view(id))));
        // Enumeration copies the whole class: now and then is enough to race with the writers.
        if (!added || !p.get_instance(ctx, setting, *added) ||
            (i % 10 == 0 && !p.enumerate_instances(ctx, setting))) {
          ++failures;
        }
        if (i % 2 == 0 && (!added || !p.delete_instance(ctx, setting, *added))) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  CHECK(failures == 0);
  CHECK(p.size() == 4 * 50);
}
