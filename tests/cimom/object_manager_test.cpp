#include "cimom/object_manager.hpp"

#include "cimom/static_instance_provider.hpp"
#include "tests/cimom/test_schema.hpp"
#include "tests/fakes/cimom/generator_provider.hpp"
#include "tests/fakes/cimom/memory_instance_provider.hpp"
#include "tests/fakes/cimom/recording_method_provider.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace vsnapd::cim;
using namespace vsnapd::cim::test;

namespace {

object_path path_of(std::string_view text) {
  auto p = object_path::parse(text);
  REQUIRE(p);
  return *p;
}

value ref_to(std::string_view text) {
  return value(scalar(std::make_shared<const object_path>(path_of(text))));
}

// Every item of a cursor, or nullopt on an error (usable off the test thread: no assertions).
template <class T>
std::optional<std::vector<T>> try_drain(cursor<T>& c, std::size_t batch) {
  std::vector<T> out;
  for (;;) {
    auto more = c.next(out, batch);
    if (!more) {
      return std::nullopt;
    }
    if (!*more) {
      return out;
    }
  }
}

template <class T>
std::vector<T> drain(cursor<T>& c, std::size_t batch = 2) {
  std::vector<T> out;
  for (;;) {
    auto more = c.next(out, batch);
    REQUIRE(more);
    if (!*more) {
      return out;
    }
  }
}

// The key values ("Name" / "InstanceID") of named instances, sorted.
std::vector<std::string> keys_of(const std::vector<named_instance>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    for (const char* key : {"Name", "InstanceID"}) {
      if (const value* v = item.path.key(key)) {
        out.push_back(to_text(v->as_scalar()));
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> keys_of(const std::vector<object_path>& items) {
  std::vector<std::string> out;
  for (const auto& p : items) {
    for (const char* key : {"Name", "InstanceID"}) {
      if (const value* v = p.key(key)) {
        out.push_back(to_text(v->as_scalar()));
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> property_names(const instance& inst) {
  std::vector<std::string> out;
  for (const auto& p : inst.properties()) {
    out.push_back(p.name);
  }
  return out;
}

using strings = std::vector<std::string>;

// The schema, an object manager and providers for every kind of class:
// systems (a raw fake for Test_System and its subclasses, another for Test_SpecialSystem),
// settings, numbered, singleton and associations (the static provider), and methods.
struct fixture {
  class_repository repo;
  object_manager om{repo};
  fakes::memory_instance_provider systems{repo};
  fakes::memory_instance_provider special{repo};
  static_instance_provider statics{repo};
  fakes::recording_method_provider methods;
  operation_context ctx{test_ns, "tester"};

  fixture() {
    load_test_schema(repo);
    REQUIRE(om.register_instance_provider(test_ns, "Test_System", systems));
    REQUIRE(om.register_instance_provider(test_ns, "test_specialsystem", special));
    for (const char* cls : {"Test_Setting", "Test_Numbered", "Test_Singleton",
                            "Test_SettingsDefineState", "Test_ParentChild", "Test_Hosted"}) {
      REQUIRE(om.register_instance_provider(test_ns, cls, statics));
    }
    for (const char* cls : {"Test_SettingsDefineState", "Test_ParentChild", "Test_Hosted"}) {
      REQUIRE(om.register_association_provider(test_ns, cls, statics));
    }
    REQUIRE(om.register_method_provider(test_ns, "Test_System", methods));

    // Provider output as a careless provider writes it: out of order, incomplete, mistyped.
    systems.add(instance("Test_System")
                    .set("Count", value(scalar(std::uint16_t{1})))
                    .set("name", value("host")));
    systems.add(instance("Test_VirtualSystem")
                    .set("Name", value("vm1"))
                    .set("VmState", value(scalar(std::uint16_t{2})))
                    .set("Tags", value::array(cim_type::string, {scalar(std::string("a")),
                                                                 scalar(std::string("b"))})));
    systems.add(instance("Test_VirtualSystem").set("Name", value("vm2")).set("Count", value("5")));
    special.add(instance("Test_SpecialSystem")
                    .set("Name", value("sp1"))
                    .set("Special", value(scalar(true))));

    for (const char* id : {"s1", "s2", "s3"}) {
      REQUIRE(statics.add(test_ns,
                          instance("Test_Setting").set("InstanceID", value(std::string_view(id)))));
    }
    REQUIRE(statics.add(test_ns, instance("Test_Numbered")
                                     .set("Id", value(scalar(std::uint32_t{7})))
                                     .set("Kind", value(scalar(std::int8_t{-3})))
                                     .set("Flag", value(scalar(true)))
                                     .set("Label", value("seven"))));
    REQUIRE(statics.add(test_ns, instance("Test_Singleton").set("Version", value("1.0"))));
    REQUIRE(
        statics.add(test_ns, instance("Test_SettingsDefineState")
                                 .set("ManagedElement", ref_to("Test_VirtualSystem.Name=\"vm1\""))
                                 .set("SettingData", ref_to("Test_Setting.InstanceID=\"s1\""))));
    REQUIRE(
        statics.add(test_ns, instance("Test_SubSettingsDefineState")
                                 .set("ManagedElement", ref_to("Test_VirtualSystem.Name=\"vm2\""))
                                 .set("SettingData", ref_to("Test_Setting.InstanceID=\"s2\""))
                                 .set("Note", value("sub"))));
    REQUIRE(statics.add(test_ns, instance("Test_ParentChild")
                                     .set("Parent", ref_to("Test_Setting.InstanceID=\"s1\""))
                                     .set("Child", ref_to("Test_Setting.InstanceID=\"s2\""))));
    REQUIRE(statics.add(test_ns, instance("Test_ParentChild")
                                     .set("Parent", ref_to("Test_Setting.InstanceID=\"s2\""))
                                     .set("Child", ref_to("Test_Setting.InstanceID=\"s3\""))));
    REQUIRE(statics.add(test_ns,
                        instance("Test_Hosted")
                            .set("Antecedent", ref_to("root/test:Test_VirtualSystem.Name=\"vm1\""))
                            .set("Dependent", ref_to("Test_Numbered.Flag=TRUE,Id=7,Kind=-3"))));
  }

  std::vector<named_instance> enumerate(std::string_view cls, enumerate_instances_options o = {}) {
    auto c = om.enumerate_instances(ctx, cls, o);
    REQUIRE(c);
    return drain(**c);
  }
  std::vector<named_instance> associators(std::string_view source, associators_options o = {}) {
    auto c = om.associators(ctx, path_of(source), o);
    REQUIRE(c);
    return drain(**c);
  }
  std::vector<object_path> associator_names(std::string_view source, associators_options o = {}) {
    auto c = om.associator_names(ctx, path_of(source), o);
    REQUIRE(c);
    return drain(**c);
  }
  std::vector<named_instance> references(std::string_view source, references_options o = {}) {
    auto c = om.references(ctx, path_of(source), o);
    REQUIRE(c);
    return drain(**c);
  }
  std::vector<object_path> reference_names(std::string_view source, references_options o = {}) {
    auto c = om.reference_names(ctx, path_of(source), o);
    REQUIRE(c);
    return drain(**c);
  }
};

}  // namespace

// --- Registration -------------------------------------------------------------------------

TEST_CASE("object_manager: registration refuses unknown namespaces and classes and duplicates",
          "[cimom][object_manager]") {
  fixture f;
  fakes::memory_instance_provider p(f.repo);
  CHECK(f.om.register_instance_provider("root/nope", "Test_System", p).error().code ==
        errc::invalid_namespace);
  CHECK(f.om.register_instance_provider(test_ns, "Test_Nope", p).error().code ==
        errc::invalid_class);
  CHECK(f.om.register_instance_provider(test_ns, "TEST_SYSTEM", p).error().code ==
        errc::already_exists);
  CHECK(f.om.register_association_provider(test_ns, "Test_Setting", f.statics).error().code ==
        errc::invalid_class);
  CHECK(f.om.register_association_provider(test_ns, "Test_ParentChild", f.statics).error().code ==
        errc::already_exists);
  CHECK(f.om.register_method_provider(test_ns, "Test_System", f.methods).error().code ==
        errc::already_exists);
  // A subclass may have its own provider even though its superclass has one.
  CHECK(f.om.register_instance_provider(test_ns, "Test_VirtualSystem", p));
}

// --- Enumeration ----------------------------------------------------------------------------

TEST_CASE("object_manager: deep enumeration returns subclass instances with their own properties",
          "[cimom][object_manager]") {
  fixture f;
  const auto items = f.enumerate("test_system");
  CHECK(keys_of(items) == strings{"host", "sp1", "vm1", "vm2"});
  for (const auto& item : items) {
    CHECK(item.path.ns() == test_ns);
    CHECK(item.path.class_name() == item.inst.class_name());
    if (item.inst.class_name() == "Test_SpecialSystem") {
      CHECK(property_names(item.inst) ==
            strings{"Caption", "Description", "Name", "Count", "VmState", "Tags", "Special"});
      CHECK(*item.inst.get("Special") == value(scalar(true)));
    }
  }
  // Each provider is asked only for the classes it serves, exactly once each.
  CHECK(f.systems.enumerate_calls("Test_System") == 1);
  CHECK(f.systems.enumerate_calls("Test_VirtualSystem") == 1);
  CHECK(f.systems.enumerate_calls("Test_SpecialSystem") == 0);
  CHECK(f.special.enumerate_calls("Test_SpecialSystem") == 1);

  CHECK(keys_of(f.enumerate("Test_VirtualSystem")) == strings{"sp1", "vm1", "vm2"});
  // An abstract root with no provider of its own still enumerates through its subclasses.
  CHECK(keys_of(f.enumerate("Test_ManagedElement")) ==
        strings{"host", "s1", "s2", "s3", "sp1", "vm1", "vm2"});
}

TEST_CASE("object_manager: enumeration without subclasses returns the class's own instances",
          "[cimom][object_manager]") {
  fixture f;
  const auto items = f.enumerate("Test_System", {.include_subclasses = false});
  CHECK(keys_of(items) == strings{"host"});
  CHECK(f.systems.enumerate_calls("Test_VirtualSystem") == 0);
  CHECK(f.special.enumerate_calls("Test_SpecialSystem") == 0);
}

TEST_CASE("object_manager: shallow enumeration restricts every instance to the requested class",
          "[cimom][object_manager]") {
  fixture f;
  const auto items = f.enumerate("Test_System", {.deep_inheritance = false, .properties = {}});
  CHECK(keys_of(items) == strings{"host", "sp1", "vm1", "vm2"});
  for (const auto& item : items) {
    CHECK(property_names(item.inst) == strings{"Caption", "Description", "Name", "Count"});
  }
  const auto it = std::find_if(items.begin(), items.end(), [](const named_instance& i) {
    return i.inst.class_name() == "Test_SpecialSystem";
  });
  REQUIRE(it != items.end());
  CHECK(it->path.class_name() == "Test_SpecialSystem");
}

TEST_CASE("object_manager: provider instances are completed in class order with typed NULLs",
          "[cimom][object_manager]") {
  fixture f;
  auto host = f.om.get_instance(f.ctx, path_of("Test_System.Name=\"host\""), {});
  REQUIRE(host);
  CHECK(property_names(*host) == strings{"Caption", "Description", "Name", "Count"});
  CHECK(host->get("Caption")->is_null());
  CHECK(host->get("Caption")->type() == cim_type::string);
  CHECK(*host->get("Count") == value(scalar(std::uint16_t{1})));

  // A string from the provider becomes the declared uint16.
  auto vm2 = f.om.get_instance(f.ctx, path_of("Test_VirtualSystem.Name=\"vm2\""), {});
  REQUIRE(vm2);
  CHECK(*vm2->get("Count") == value(scalar(std::uint16_t{5})));
  CHECK(vm2->get("Tags")->is_null());
  CHECK(vm2->get("Tags")->is_array());

  SECTION("an instance without its key is a provider bug, reported as failed") {
    fakes::memory_instance_provider bad(f.repo);
    REQUIRE(f.om.register_instance_provider(test_ns, "Test_Blob", bad));
    bad.add(instance("Test_Blob").set("Payload", value::null(cim_type::object)));
    auto c = f.om.enumerate_instances(f.ctx, "Test_Blob", {});
    REQUIRE(c);
    std::vector<named_instance> out;
    auto r = (*c)->next(out, 10);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::failed);
    CHECK_THAT(r.error().description, Catch::Contains("Id"));
  }
  SECTION("an undeclared property is a provider bug, reported as failed") {
    fakes::memory_instance_provider bad(f.repo);
    REQUIRE(f.om.register_instance_provider(test_ns, "Test_Blob", bad));
    bad.add(
        instance("Test_Blob").set("Id", value(scalar(std::uint32_t{1}))).set("Bogus", value("x")));
    auto got = f.om.get_instance(f.ctx, path_of("Test_Blob.Id=1"), {});
    REQUIRE_FALSE(got);
    CHECK(got.error().code == errc::failed);
    CHECK_THAT(got.error().description, Catch::Contains("Bogus"));
  }
}

TEST_CASE("object_manager: instance names enumerate polymorphically", "[cimom][object_manager]") {
  fixture f;
  auto c = f.om.enumerate_instance_names(f.ctx, "Test_System");
  REQUIRE(c);
  const auto paths = drain(**c, 3);
  CHECK(keys_of(paths) == strings{"host", "sp1", "vm1", "vm2"});
  for (const auto& p : paths) {
    CHECK(p.ns() == test_ns);
    CHECK(p.keys().size() == 1);
  }
}

TEST_CASE("object_manager: property lists filter instances but paths keep their keys",
          "[cimom][object_manager]") {
  fixture f;
  SECTION("GetInstance") {
    auto vm1 = f.om.get_instance(f.ctx, path_of("Test_VirtualSystem.Name=\"vm1\""),
                                 {.properties = strings{"vmstate", "Nope"}});
    REQUIRE(vm1);
    CHECK(property_names(*vm1) == strings{"VmState"});
    auto none = f.om.get_instance(f.ctx, path_of("Test_VirtualSystem.Name=\"vm1\""),
                                  {.properties = strings{}});
    REQUIRE(none);
    CHECK(none->properties().empty());
  }
  SECTION("EnumerateInstances") {
    const auto items = f.enumerate("Test_System", {.properties = strings{"Count"}});
    REQUIRE(items.size() == 4);
    for (const auto& item : items) {
      CHECK(property_names(item.inst) == strings{"Count"});
      CHECK(item.path.key("Name") != nullptr);
    }
  }
  SECTION("keys kept on request (WS-Man)") {
    auto vm1 = f.om.get_instance(f.ctx, path_of("Test_VirtualSystem.Name=\"vm1\""),
                                 {.properties = strings{"VmState"}, .keep_keys = true});
    REQUIRE(vm1);
    CHECK(property_names(*vm1) == strings{"Name", "VmState"});
    const auto items = f.enumerate("Test_System", {.properties = strings{}, .keep_keys = true});
    for (const auto& item : items) {
      CHECK(property_names(item.inst) == strings{"Name"});
    }
    const auto refs = f.references("Test_VirtualSystem.Name=\"vm2\"",
                                   {.properties = strings{"Note"}, .keep_keys = true});
    REQUIRE(refs.size() == 1);
    CHECK(property_names(refs[0].inst) == strings{"ManagedElement", "SettingData", "Note"});
    const auto far =
        f.associators("Test_Setting.InstanceID=\"s1\"",
                      {.result_class = "Test_Setting", .properties = strings{}, .keep_keys = true});
    REQUIRE(far.size() == 1);
    CHECK(property_names(far[0].inst) == strings{"InstanceID"});
  }
  SECTION("shallow and a property list together") {
    const auto items = f.enumerate(
        "Test_System", {.deep_inheritance = false, .properties = strings{"Name", "Special"}});
    for (const auto& item : items) {
      CHECK(property_names(item.inst) == strings{"Name"});
    }
  }
}

// --- GetInstance and keys -------------------------------------------------------------------

TEST_CASE("object_manager: untyped keys are coerced to their schema types",
          "[cimom][object_manager]") {
  fixture f;
  for (const char* text : {"Test_Numbered.Id=\"7\",Kind=-3,Flag=\"true\"",
                           "root/test:test_numbered.ID=7,KIND=\"-3\",flag=TRUE",
                           "//host/root\\test:Test_Numbered.Flag=\"1\",Id=\"0x7\",Kind=-3"}) {
    INFO(text);
    auto got = f.om.get_instance(f.ctx, path_of(text), {});
    REQUIRE(got);
    CHECK(*got->get("Label") == value("seven"));
  }
  // Reference keys: nested paths are parsed and their own keys coerced.
  auto hosted = f.om.get_instance(
      f.ctx,
      path_of("Test_Hosted.Antecedent=\"Test_VirtualSystem.Name=\\\"vm1\\\"\","
              "Dependent=\"Test_Numbered.Id=\\\"7\\\",Kind=-3,Flag=\\\"true\\\"\""),
      {});
  REQUIRE(hosted);
  // A keyless class: the singleton path and the bare class path both name its instance.
  CHECK(f.om.get_instance(f.ctx, path_of("Test_Singleton=@"), {}));
  CHECK(f.om.get_instance(f.ctx, path_of("Test_Singleton"), {}));
}

TEST_CASE("object_manager: bad instance paths fail with the DSP0200 status",
          "[cimom][object_manager]") {
  fixture f;
  struct row {
    const char* path;
    errc code;
    const char* mentions;
  };
  const row rows[] = {
      {"Test_Numbered.Id=\"x\",Kind=-3,Flag=TRUE", errc::invalid_parameter, "Id"},
      {"Test_Numbered.Id=-1,Kind=-3,Flag=TRUE", errc::invalid_parameter, "Id"},
      {"Test_Numbered.Id=7,Kind=300,Flag=TRUE", errc::invalid_parameter, "Kind"},
      {"Test_Numbered.Id=7,Kind=-3,Flag=\"maybe\"", errc::invalid_parameter, "Flag"},
      {"Test_Numbered.Id=7,Kind=-3", errc::invalid_parameter, "Flag"},
      {"Test_Numbered.Id=7,Kind=-3,Flag=TRUE,Label=\"x\"", errc::invalid_parameter, "Label"},
      {"Test_Numbered.Id=7,Kind=-3,Flag=TRUE,Zzz=1", errc::invalid_parameter, "Zzz"},
      {"Test_Numbered", errc::invalid_parameter, "Id"},
      {"Test_Numbered=@", errc::invalid_parameter, "Id"},
      {"Test_Singleton.Version=\"1.0\"", errc::invalid_parameter, "Version"},
      {"Test_Nope.Id=1", errc::invalid_class, "Test_Nope"},
      {"root/other:Test_Numbered.Id=7,Kind=-3,Flag=TRUE", errc::invalid_class, "root/other"},
      {"root/nope:Test_Numbered.Id=7,Kind=-3,Flag=TRUE", errc::invalid_namespace, "root/nope"},
      {"Test_Numbered.Id=8,Kind=-3,Flag=TRUE", errc::not_found, "Id=8"},
      {"Test_Setting.InstanceID=\"S1\"", errc::not_found, "S1"},
      {"Test_Blob.Id=1", errc::not_supported, "Test_Blob"},
  };
  for (const auto& r : rows) {
    INFO(r.path);
    auto got = f.om.get_instance(f.ctx, path_of(r.path), {});
    REQUIRE_FALSE(got);
    CHECK(got.error().code == r.code);
    CHECK_THAT(got.error().description, Catch::Contains(r.mentions));
  }
  SECTION("the operation namespace must exist too") {
    operation_context bad{"root/nope", ""};
    auto got = f.om.get_instance(bad, path_of("Test_Setting.InstanceID=\"s1\""), {});
    CHECK(got.error().code == errc::invalid_namespace);
    CHECK(f.om.enumerate_instances(bad, "Test_Setting", {}).error().code ==
          errc::invalid_namespace);
    CHECK(f.om.get_class(bad, "Test_Setting", {}).error().code == errc::invalid_namespace);
  }
  SECTION("enumerating an unknown class") {
    CHECK(f.om.enumerate_instances(f.ctx, "Test_Nope", {}).error().code == errc::invalid_class);
    CHECK(f.om.enumerate_instance_names(f.ctx, "Test_Nope").error().code == errc::invalid_class);
  }
}

TEST_CASE("object_manager: a superclass path reaches a subclass instance",
          "[cimom][object_manager]") {
  fixture f;
  auto got = f.om.get_instance(f.ctx, path_of("Test_System.Name=\"vm1\""), {});
  REQUIRE(got);
  CHECK(got->class_name() == "Test_VirtualSystem");
  CHECK(property_names(*got).size() == 6);
}

// --- Associations ---------------------------------------------------------------------------

TEST_CASE("object_manager: references and reference names with ResultClass and Role",
          "[cimom][object_manager]") {
  fixture f;
  const char* vm1 = "Test_VirtualSystem.Name=\"vm1\"";
  const char* vm2 = "Test_VirtualSystem.Name=\"vm2\"";

  auto refs = f.references(vm1);
  REQUIRE(refs.size() == 2);  // SettingsDefineState and Hosted
  auto sds = f.references(vm1, {.result_class = "Test_SettingsDefineState"});
  REQUIRE(sds.size() == 1);
  CHECK(sds[0].inst.class_name() == "Test_SettingsDefineState");
  CHECK(sds[0].path.key("SettingData") != nullptr);
  // Polymorphic: the subclass association answers a query for its superclass.
  auto sub = f.references(vm2, {.result_class = "Test_SettingsDefineState"});
  REQUIRE(sub.size() == 1);
  CHECK(sub[0].inst.class_name() == "Test_SubSettingsDefineState");
  CHECK(*sub[0].inst.get("Note") == value("sub"));
  CHECK(f.references(vm1, {.result_class = "Test_SubSettingsDefineState"}).empty());

  CHECK(f.references(vm1, {.role = "ManagedElement"}).size() == 1);
  CHECK(f.references(vm1, {.role = "Antecedent"}).size() == 1);
  CHECK(f.references(vm1, {.role = "SettingData"}).empty());
  // From the other end.
  CHECK(f.references("Test_Setting.InstanceID=\"s1\"",
                     {.result_class = "Test_SettingsDefineState", .role = "SettingData"})
            .size() == 1);
  // The self-association: s2 is a child once and a parent once.
  CHECK(
      f.references("Test_Setting.InstanceID=\"s2\"", {.result_class = "Test_ParentChild"}).size() ==
      2);
  CHECK(f.references("Test_Setting.InstanceID=\"s2\"", {.role = "Parent"}).size() == 1);

  auto names = f.reference_names("Test_Setting.InstanceID=\"s2\"", {.role = "child"});
  REQUIRE(names.size() == 1);
  CHECK(names[0].class_name() == "Test_ParentChild");
  CHECK(names[0].ns() == test_ns);

  auto filtered = f.references(vm2, {.properties = strings{"Note"}});
  REQUIRE(filtered.size() == 1);
  CHECK(property_names(filtered[0].inst) == strings{"Note"});
}

TEST_CASE("object_manager: associators follow the other reference with every filter",
          "[cimom][object_manager]") {
  fixture f;
  const char* s1 = "Test_Setting.InstanceID=\"s1\"";
  const char* s2 = "Test_Setting.InstanceID=\"s2\"";

  // From a system to its setting, fetching the far instance.
  auto from_vm1 =
      f.associators("Test_VirtualSystem.Name=\"vm1\"", {.assoc_class = "Test_SettingsDefineState"});
  REQUIRE(from_vm1.size() == 1);
  CHECK(from_vm1[0].inst.class_name() == "Test_Setting");
  CHECK(from_vm1[0].path.ns() == test_ns);
  // Without filters: the setting and the numbered instance (through Test_Hosted).
  CHECK(f.associators("Test_VirtualSystem.Name=\"vm1\"").size() == 2);
  // The source may be named through its superclass.
  CHECK(keys_of(f.associators("Test_System.Name=\"vm1\"", {.result_class = "Test_Setting"})) ==
        strings{"s1"});

  // From a setting: its system (served by another provider) and its child.
  const auto all = f.associators(s1);
  CHECK(keys_of(all) == strings{"s2", "vm1"});
  for (const auto& item : all) {
    if (item.inst.class_name() == "Test_VirtualSystem") {
      CHECK(property_names(item.inst).size() == 6);
    }
  }
  CHECK(keys_of(f.associators(s1, {.assoc_class = "Test_ParentChild"})) == strings{"s2"});
  CHECK(keys_of(f.associators(s2, {.assoc_class = "Test_ParentChild"})) == strings{"s1", "s3"});
  CHECK(keys_of(f.associators(s2, {.role = "Parent"})) == strings{"s3"});
  CHECK(keys_of(f.associators(s2, {.role = "Child"})) == strings{"s1"});
  CHECK(keys_of(f.associators(s2, {.result_role = "Parent"})) == strings{"s1"});
  CHECK(keys_of(f.associators(s2, {.result_role = "ManagedElement"})) == strings{"vm2"});
  CHECK(keys_of(f.associators(s2, {.result_class = "Test_System"})) == strings{"vm2"});
  CHECK(keys_of(f.associators(s2, {.result_class = "Test_VirtualSystem"})) == strings{"vm2"});
  CHECK(f.associators(s2, {.result_class = "Test_SpecialSystem"}).empty());
  CHECK(f.associators(
             s2, {.assoc_class = "Test_SubSettingsDefineState", .result_class = "Test_Setting"})
            .empty());
  CHECK(f.associators(s2, {.role = "Parent", .result_role = "Parent"}).empty());

  auto props = f.associators(s1, {.result_class = "Test_System", .properties = strings{"VmState"}});
  REQUIRE(props.size() == 1);
  CHECK(property_names(props[0].inst) == strings{"VmState"});
  CHECK(props[0].path.key("Name") != nullptr);

  auto names = f.associator_names(s2, {.assoc_class = "Test_ParentChild", .role = "Parent"});
  REQUIRE(names.size() == 1);
  CHECK(names[0].class_name() == "Test_Setting");
  CHECK(names[0].ns() == test_ns);
  CHECK(keys_of(names) == strings{"s3"});
  CHECK(keys_of(f.associator_names(s2)) == strings{"s1", "s3", "vm2"});
  CHECK(keys_of(f.associator_names(s2, {.result_class = "Test_System"})) == strings{"vm2"});
}

namespace {

// An association provider that answers every class with the same instances.
class fixed_association_provider : public association_provider {
 public:
  explicit fixed_association_provider(std::vector<instance> items) : items_(std::move(items)) {}
  result<std::unique_ptr<instance_cursor>> references(const operation_context&,
                                                      const class_decl& cls, const object_path&,
                                                      std::string_view) override {
    std::vector<instance> out;
    for (const auto& i : items_) {
      if (name_equal(cls.name, "Test_SettingsDefineState")) {
        out.push_back(i);
      }
    }
    return std::make_unique<vector_cursor>(std::move(out));
  }

 private:
  std::vector<instance> items_;
};

}  // namespace

TEST_CASE("object_manager: an association provider may answer with subclass instances",
          "[cimom][object_manager]") {
  fixture f;
  object_manager om(f.repo);
  REQUIRE(om.register_instance_provider(test_ns, "Test_System", f.systems));
  REQUIRE(om.register_instance_provider(test_ns, "Test_Setting", f.statics));
  fixed_association_provider assoc(
      {instance("Test_SubSettingsDefineState")
           .set("ManagedElement", ref_to("Test_VirtualSystem.Name=\"vm1\""))
           .set("SettingData", ref_to("Test_Setting.InstanceID=\"s1\""))});
  REQUIRE(om.register_association_provider(test_ns, "Test_SettingsDefineState", assoc));
  auto c = om.associators(f.ctx, path_of("Test_VirtualSystem.Name=\"vm1\""), {});
  REQUIRE(c);
  const auto items = drain(**c);
  CHECK(keys_of(items) == strings{"s1"});  // the far end only, never the source itself
  auto r = om.references(f.ctx, path_of("Test_VirtualSystem.Name=\"vm1\""), {});
  REQUIRE(r);
  const auto refs = drain(**r);
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].inst.class_name() == "Test_SubSettingsDefineState");
  CHECK(property_names(refs[0].inst) == strings{"ManagedElement", "SettingData", "Note"});
}

TEST_CASE("object_manager: associators skip far ends that no longer exist",
          "[cimom][object_manager]") {
  fixture f;
  REQUIRE(
      f.statics.add(test_ns, instance("Test_SettingsDefineState")
                                 .set("ManagedElement", ref_to("Test_System.Name=\"host\""))
                                 .set("SettingData", ref_to("Test_Setting.InstanceID=\"gone\""))));
  CHECK(f.associators("Test_System.Name=\"host\"").empty());
  CHECK(f.associator_names("Test_System.Name=\"host\"").size() == 1);
}

TEST_CASE("object_manager: bad association requests fail with the DSP0200 status",
          "[cimom][object_manager]") {
  fixture f;
  const object_path vm1 = path_of("Test_VirtualSystem.Name=\"vm1\"");
  CHECK(f.om.associators(f.ctx, vm1, {.assoc_class = "Test_Nope"}).error().code ==
        errc::invalid_parameter);
  CHECK(f.om.associator_names(f.ctx, vm1, {.result_class = "Test_Nope"}).error().code ==
        errc::invalid_parameter);
  CHECK(f.om.references(f.ctx, path_of("Test_Nope.Name=\"x\""), {}).error().code ==
        errc::invalid_class);
  CHECK(f.om.reference_names(f.ctx, path_of("Test_VirtualSystem.Nope=\"x\""), {}).error().code ==
        errc::invalid_parameter);
  CHECK(f.om.references(f.ctx, path_of("Test_VirtualSystem"), {}).error().code ==
        errc::not_supported);
  CHECK(f.om.associators(operation_context{"root/nope", ""}, vm1, {}).error().code ==
        errc::invalid_namespace);
}

// --- Methods --------------------------------------------------------------------------------

TEST_CASE("object_manager: method parameters are matched, converted and passed in order",
          "[cimom][object_manager]") {
  fixture f;
  f.methods.answer(method_result{value(scalar(std::uint64_t{4096})),
                                 {param_value{"job", ref_to("Test_Setting.InstanceID=\"j\"")},
                                  param_value{"Attempts", value("2")}}});
  auto r = f.om.invoke_method(
      f.ctx, path_of("Test_VirtualSystem.Name=\"vm1\""), "requeststatechange",
      {param_value{"Target", value("Test_Setting.InstanceID=\"s1\"")},
       param_value{"tags", value("one")}, param_value{"RequestedState", value("3")}});
  REQUIRE(r);
  CHECK(r->return_value == value(scalar(std::uint32_t{4096})));
  REQUIRE(r->out.size() == 2);
  CHECK(r->out[0].name == "Job");
  CHECK(r->out[0].v.type() == cim_type::reference);
  CHECK(r->out[1].v == value(scalar(std::uint8_t{2})));

  const auto calls = f.methods.calls();
  REQUIRE(calls.size() == 1);
  const auto& call = calls[0];
  CHECK(call.cls == "Test_VirtualSystem");
  CHECK(call.method == "RequestStateChange");
  CHECK(call.target == path_of("root/test:Test_VirtualSystem.Name=\"vm1\""));
  REQUIRE(call.in.size() == 3);
  CHECK(call.in[0].name == "RequestedState");
  CHECK(call.in[0].v == value(scalar(std::uint16_t{3})));
  CHECK(call.in[1].name == "Tags");
  CHECK(call.in[1].v == value::array(cim_type::string, {scalar(std::string("one"))}));
  CHECK(call.in[2].name == "Target");
  CHECK(call.in[2].v.type() == cim_type::reference);
}

TEST_CASE("object_manager: an OUT-only parameter sent as input is ignored, not passed on",
          "[cimom][object_manager]") {
  fixture f;
  f.methods.answer(method_result{value(scalar(std::uint64_t{0})), {}});
  auto r = f.om.invoke_method(f.ctx, path_of("Test_VirtualSystem.Name=\"vm1\""),
                              "RequestStateChange",
                              {param_value{"RequestedState", value("3")},
                               param_value{"Job", value("Test_Setting.InstanceID=\"j\"")}});
  REQUIRE(r);
  const auto calls = f.methods.calls();
  REQUIRE(calls.size() == 1);
  REQUIRE(calls[0].in.size() == 1);
  CHECK(calls[0].in[0].name == "RequestedState");
}

TEST_CASE("object_manager: method parameter checking, one row per error",
          "[cimom][object_manager]") {
  fixture f;
  const char* vm1 = "Test_VirtualSystem.Name=\"vm1\"";
  const value state = value("3");
  struct row {
    const char* name;
    const char* target;
    const char* method;
    std::vector<param_value> in;
    errc code;
    const char* mentions;
  };
  const std::vector<row> rows = {
      {"unknown method", vm1, "Nope", {}, errc::method_not_found, "Nope"},
      {"unknown parameter",
       vm1,
       "RequestStateChange",
       {{"RequestedState", state}, {"Bogus", value("1")}},
       errc::invalid_parameter,
       "Bogus"},
      {"missing required parameter",
       vm1,
       "RequestStateChange",
       {{"Tags", value("x")}},
       errc::invalid_parameter,
       "RequestedState"},
      {"required parameter given NULL",
       vm1,
       "RequestStateChange",
       {{"RequestedState", value::null(cim_type::uint16)}},
       errc::invalid_parameter,
       "RequestedState"},
      {"not a number",
       vm1,
       "RequestStateChange",
       {{"RequestedState", value("three")}},
       errc::invalid_parameter,
       "RequestedState"},
      {"out of range",
       vm1,
       "RequestStateChange",
       {{"RequestedState", value("70000")}},
       errc::invalid_parameter,
       "RequestedState"},
      {"array for a scalar",
       vm1,
       "RequestStateChange",
       {{"RequestedState", value::array(cim_type::uint16, {scalar(std::uint16_t{3})})}},
       errc::invalid_parameter,
       "RequestedState"},
      {"bad datetime",
       vm1,
       "RequestStateChange",
       {{"RequestedState", state}, {"TimeoutPeriod", value("soon")}},
       errc::invalid_parameter,
       "TimeoutPeriod"},
      {"bad reference",
       vm1,
       "RequestStateChange",
       {{"RequestedState", state}, {"Target", value("not a path!")}},
       errc::invalid_parameter,
       "Target"},
      {"parameter given twice",
       vm1,
       "RequestStateChange",
       {{"RequestedState", state}, {"requestedstate", state}},
       errc::invalid_parameter,
       "more than once"},
      {"non-static method on a class path",
       "Test_VirtualSystem",
       "RequestStateChange",
       {{"RequestedState", state}},
       errc::invalid_parameter,
       "not static"},
      {"instance path missing its key",
       "Test_VirtualSystem.Other=\"x\"",
       "RequestStateChange",
       {{"RequestedState", state}},
       errc::invalid_parameter,
       "Other"},
      {"static method without its required parameter",
       "Test_System",
       "Create",
       {},
       errc::invalid_parameter,
       "Name"},
      {"unknown class", "Test_Nope", "Create", {}, errc::invalid_class, "Test_Nope"},
      {"unknown namespace",
       "root/nope:Test_System",
       "Create",
       {},
       errc::invalid_namespace,
       "root/nope"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto got = f.om.invoke_method(f.ctx, path_of(r.target), r.method, r.in);
    REQUIRE_FALSE(got);
    CHECK(got.error().code == r.code);
    CHECK_THAT(got.error().description, Catch::Contains(r.mentions));
  }
  CHECK(f.methods.calls().empty());
}

TEST_CASE("object_manager: static methods are invoked on a class path", "[cimom][object_manager]") {
  fixture f;
  f.methods.answer(method_result{value(scalar(std::uint32_t{0})),
                                 {param_value{"Result", ref_to("Test_System.Name=\"new\"")}}});
  auto r =
      f.om.invoke_method(f.ctx, path_of("Test_System"), "Create",
                         {param_value{"Name", value("new")}, param_value{"Size", value("10")}});
  REQUIRE(r);
  CHECK(r->return_value == value(scalar(std::uint16_t{0})));
  // The method is inherited: the subclass's class path works as well, and so does an instance.
  REQUIRE(f.om.invoke_method(f.ctx, path_of("Test_VirtualSystem"), "Create",
                             {param_value{"Name", value("x")}}));
  REQUIRE(f.om.invoke_method(f.ctx, path_of("Test_VirtualSystem.Name=\"vm1\""), "Create",
                             {param_value{"Name", value("y")}}));
  const auto calls = f.methods.calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].target.is_class_path());
  CHECK(calls[0].in[1].v == value(scalar(std::uint64_t{10})));
  CHECK(calls[1].cls == "Test_VirtualSystem");
  CHECK_FALSE(calls[2].target.is_class_path());
}

TEST_CASE("object_manager: what a method provider returns is checked against the declaration",
          "[cimom][object_manager]") {
  fixture f;
  const auto invoke = [&] {
    return f.om.invoke_method(f.ctx, path_of("Test_System.Name=\"host\""), "RequestStateChange",
                              {param_value{"RequestedState", value(scalar(std::int64_t{2}))}});
  };
  struct row {
    const char* name;
    method_result answer;
  };
  const std::vector<row> rows = {
      {"return value of the wrong type", {value("abc"), {}}},
      {"undeclared OUT parameter", {value(scalar(std::uint32_t{0})), {{"Extra", value("x")}}}},
      {"IN-only parameter returned",
       {value(scalar(std::uint32_t{0})), {{"RequestedState", value("1")}}}},
      {"OUT value of the wrong type",
       {value(scalar(std::uint32_t{0})), {{"Attempts", value("-1")}}}},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    f.methods.answer(r.answer);
    auto got = invoke();
    REQUIRE_FALSE(got);
    CHECK(got.error().code == errc::failed);
  }
  SECTION("a class without a method provider") {
    object_manager bare(f.repo);
    auto got = bare.invoke_method(f.ctx, path_of("Test_System"), "Create",
                                  {param_value{"Name", value("x")}});
    CHECK(got.error().code == errc::not_supported);
  }
}

// --- Create, modify, delete -----------------------------------------------------------------

TEST_CASE("object_manager: create, modify and delete route to the provider with checked values",
          "[cimom][object_manager]") {
  fixture f;
  auto created = f.om.create_instance(
      f.ctx, instance("test_setting").set("instanceid", value("new")).set("Caption", value("c")));
  REQUIRE(created);
  CHECK(*created == path_of("root/test:Test_Setting.InstanceID=\"new\""));
  auto got = f.om.get_instance(f.ctx, *created, {});
  REQUIRE(got);
  CHECK(*got->get("Caption") == value("c"));
  CHECK(got->get("ElementName")->is_null());

  REQUIRE(f.om.modify_instance(
      f.ctx, *created, instance("Test_Setting").set("ElementName", value("e")), std::nullopt));
  CHECK(*f.om.get_instance(f.ctx, *created, {})->get("ElementName") == value("e"));
  // A listed property the instance lacks is set to NULL; unlisted ones stay.
  REQUIRE(f.om.modify_instance(f.ctx, *created,
                               instance("Test_Setting").set("Description", value("ignored")),
                               strings{"caption"}));
  got = f.om.get_instance(f.ctx, *created, {});
  CHECK(got->get("Caption")->is_null());
  CHECK(got->get("Description")->is_null());
  CHECK(*got->get("ElementName") == value("e"));

  REQUIRE(f.om.delete_instance(f.ctx, *created));
  CHECK(f.om.get_instance(f.ctx, *created, {}).error().code == errc::not_found);
  CHECK(f.om.delete_instance(f.ctx, *created).error().code == errc::not_found);

  SECTION("the provider sees explicit property names, keys filled from the path") {
    REQUIRE(f.om.modify_instance(f.ctx, path_of("Test_System.Name=\"host\""),
                                 instance("Test_System").set("count", value("9")), std::nullopt));
    const auto mods = f.systems.modified();
    REQUIRE(mods.size() == 1);
    CHECK(*mods[0].first.get("Count") == value(scalar(std::uint16_t{9})));
    CHECK(*mods[0].first.get("Name") == value("host"));
    CHECK(mods[0].second == property_list(strings{"Count"}));
    REQUIRE(f.om.delete_instance(f.ctx, path_of("Test_SpecialSystem.Name=\"sp1\"")));
    CHECK(f.special.deleted().size() == 1);
    CHECK(f.systems.deleted().empty());
  }
}

TEST_CASE("object_manager: create and modify errors, one row per error",
          "[cimom][object_manager]") {
  fixture f;
  struct row {
    const char* name;
    instance inst;
    errc code;
  };
  const std::vector<row> creates = {
      {"duplicate", instance("Test_Setting").set("InstanceID", value("s1")), errc::already_exists},
      {"missing key", instance("Test_Setting").set("Caption", value("x")), errc::invalid_parameter},
      {"unknown property",
       instance("Test_Setting").set("InstanceID", value("a")).set("Nope", value("x")),
       errc::invalid_parameter},
      {"mistyped property",
       instance("Test_Numbered")
           .set("Id", value("many"))
           .set("Kind", value("1"))
           .set("Flag", value("true")),
       errc::invalid_parameter},
      {"unknown class", instance("Test_Nope"), errc::invalid_class},
      {"abstract class", instance("Test_ManagedElement"), errc::not_supported},
      {"no provider", instance("Test_Blob").set("Id", value("1")), errc::not_supported},
  };
  for (const auto& r : creates) {
    INFO(r.name);
    auto got = f.om.create_instance(f.ctx, r.inst);
    REQUIRE_FALSE(got);
    CHECK(got.error().code == r.code);
  }
  const object_path s1 = path_of("Test_Setting.InstanceID=\"s1\"");
  CHECK(f.om.modify_instance(f.ctx, s1, instance("Test_Setting").set("InstanceID", value("s9")),
                             std::nullopt)
            .error()
            .code == errc::invalid_parameter);
  CHECK(f.om.modify_instance(f.ctx, s1, instance("Test_Setting"), strings{"Nope"}).error().code ==
        errc::invalid_parameter);
  CHECK(f.om.modify_instance(f.ctx, s1,
                             instance("Test_Setting").set("Caption", value(scalar(true))),
                             std::nullopt)
            .error()
            .code == errc::invalid_parameter);
  CHECK(f.om.modify_instance(f.ctx, path_of("Test_Setting.InstanceID=\"zz\""),
                             instance("Test_Setting"), std::nullopt)
            .error()
            .code == errc::not_found);
}

// --- Class operations -----------------------------------------------------------------------

TEST_CASE(
    "object_manager: GetClass honours LocalOnly, IncludeQualifiers, IncludeClassOrigin and "
    "PropertyList",
    "[cimom][object_manager]") {
  fixture f;
  const auto names = [](const class_decl& c) {
    strings out;
    for (const auto& p : c.properties) {
      out.push_back(p.name);
    }
    return out;
  };
  SECTION("defaults: local elements, qualifiers, no class origin") {
    auto c = f.om.get_class(f.ctx, "test_virtualsystem", {});
    REQUIRE(c);
    CHECK(c->name == "Test_VirtualSystem");
    CHECK(c->superclass == "Test_System");
    CHECK(names(*c) == strings{"Count", "VmState", "Tags"});
    CHECK(c->methods.empty());
    CHECK(c->qualifiers.find("Version") == nullptr);  // inherited, not local
    CHECK(c->property("Count")->qualifiers.find("Units") != nullptr);
    CHECK(c->property("Count")->class_origin.empty());
  }
  SECTION("LocalOnly=false brings inherited elements") {
    auto c = f.om.get_class(f.ctx, "Test_VirtualSystem", {.local_only = false});
    REQUIRE(c);
    CHECK(names(*c) == strings{"Caption", "Description", "Name", "Count", "VmState", "Tags"});
    CHECK(c->methods.size() == 2);
    CHECK(c->qualifiers.find("Version") != nullptr);
    CHECK(c->property("Name")->is_key());
    CHECK(c->property("Name")->class_origin.empty());
  }
  SECTION("IncludeClassOrigin") {
    auto c = f.om.get_class(f.ctx, "Test_VirtualSystem",
                            {.local_only = false, .include_class_origin = true});
    REQUIRE(c);
    CHECK(c->property("Name")->class_origin == "Test_System");
    CHECK(c->property("Count")->class_origin == "Test_System");
    CHECK(c->property("VmState")->class_origin == "Test_VirtualSystem");
    CHECK(c->method("Create")->class_origin == "Test_System");
  }
  SECTION("IncludeQualifiers=false drops them everywhere") {
    auto c = f.om.get_class(f.ctx, "Test_VirtualSystem",
                            {.local_only = false, .include_qualifiers = false});
    REQUIRE(c);
    CHECK(c->qualifiers.empty());
    for (const auto& p : c->properties) {
      CHECK(p.qualifiers.empty());
    }
    for (const auto& m : c->methods) {
      CHECK(m.qualifiers.empty());
      for (const auto& p : m.parameters) {
        CHECK(p.qualifiers.empty());
      }
    }
  }
  SECTION("PropertyList keeps the listed properties, all methods") {
    auto c =
        f.om.get_class(f.ctx, "Test_VirtualSystem",
                       {.local_only = false, .properties = strings{"name", "VMSTATE", "Nope"}});
    REQUIRE(c);
    CHECK(names(*c) == strings{"Name", "VmState"});
    CHECK(c->methods.size() == 2);
  }
  SECTION("errors") {
    CHECK(f.om.get_class(f.ctx, "Test_Nope", {}).error().code == errc::invalid_class);
    CHECK(f.om.get_class(operation_context{other_ns, ""}, "Test_System", {}).error().code ==
          errc::invalid_class);
  }
}

TEST_CASE("object_manager: EnumerateClasses and EnumerateClassNames, deep and shallow",
          "[cimom][object_manager]") {
  fixture f;
  auto roots = f.om.enumerate_class_names(f.ctx, "", false);
  REQUIRE(roots);
  CHECK(*roots == strings{"Test_ManagedElement", "Test_Numbered", "Test_Singleton", "Test_Blob",
                          "Test_SettingsDefineState", "Test_ParentChild", "Test_Hosted"});
  auto all = f.om.enumerate_class_names(f.ctx, "", true);
  REQUIRE(all);
  CHECK(all->size() == f.repo.classes(test_ns).size());
  CHECK(*f.om.enumerate_class_names(f.ctx, "Test_System", false) == strings{"Test_VirtualSystem"});
  CHECK(*f.om.enumerate_class_names(f.ctx, "Test_System", true) ==
        strings{"Test_VirtualSystem", "Test_SpecialSystem"});
  CHECK(f.om.enumerate_class_names(f.ctx, "Test_Nope", true).error().code == errc::invalid_class);
  CHECK(f.om.enumerate_class_names(operation_context{"root/nope", ""}, "", true).error().code ==
        errc::invalid_namespace);
  CHECK(f.om.enumerate_class_names(operation_context{other_ns, ""}, "", true)->empty());

  auto deep = f.om.enumerate_classes(f.ctx, "Test_System",
                                     {.deep_inheritance = true,
                                      .local_only = false,
                                      .include_qualifiers = false,
                                      .include_class_origin = true});
  REQUIRE(deep);
  REQUIRE(deep->size() == 2);
  CHECK((*deep)[1].name == "Test_SpecialSystem");
  CHECK((*deep)[1].properties.size() == 7);
  CHECK((*deep)[1].property("Name")->class_origin == "Test_System");
  CHECK((*deep)[1].qualifiers.empty());
  auto shallow = f.om.enumerate_classes(f.ctx, "Test_System", {});
  REQUIRE(shallow);
  REQUIRE(shallow->size() == 1);
  CHECK((*shallow)[0].properties.size() == 3);  // LocalOnly by default
  CHECK(f.om.enumerate_classes(f.ctx, "Test_Nope", {}).error().code == errc::invalid_class);
}

// --- Streaming and concurrency --------------------------------------------------------------

TEST_CASE("object_manager: 100,000 instances stream through in batches, never all at once",
          "[cimom][object_manager]") {
  class_repository repo;
  load_test_schema(repo);
  object_manager om(repo);
  constexpr std::uint32_t total = 100'000;
  constexpr std::size_t batch = 250;
  fakes::generator_provider gen(total);
  REQUIRE(om.register_instance_provider(test_ns, "Test_Blob", gen));
  auto c = om.enumerate_instances(operation_context{test_ns, ""}, "Test_Blob", {});
  REQUIRE(c);

  std::vector<named_instance> out;
  std::uint32_t seen = 0;
  long max_live = 0;
  bool more = true;
  while (more) {
    out.clear();
    auto r = (*c)->next(out, batch);
    REQUIRE(r);
    more = *r;
    REQUIRE(out.size() <= batch);
    max_live = std::max(max_live, gen.live());
    for (const auto& item : out) {
      // Check cheaply: CHECK per item would dominate the run time.
      if (*item.path.key("Id") != value(scalar(seen))) {
        FAIL("out of order at " << seen);
      }
      ++seen;
    }
  }
  out.clear();
  CHECK(seen == total);
  // Live instances: the caller's batch plus what the object manager holds between calls.
  CHECK(max_live <= static_cast<long>(2 * batch));
  CHECK(gen.max_request() <= batch);
  c->reset();
  CHECK(gen.live() == 0);
}

TEST_CASE("object_manager: concurrent operations from several threads", "[cimom][object_manager]") {
  fixture f;
  constexpr int threads = 4;
  constexpr int rounds = 50;
  std::atomic<int> failures{0};
  const object_path vm1 = path_of("Test_System.Name=\"vm1\"");
  const object_path s2 = path_of("Test_Setting.InstanceID=\"s2\"");
  const object_path system = path_of("Test_System");
  const std::vector<named_instance> none;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const auto expect = [&](bool ok) {
        if (!ok) {
          ++failures;
        }
      };
      for (int i = 0; i < rounds; ++i) {
        expect(f.om.get_instance(f.ctx, vm1, {}).has_value());
        auto c = f.om.enumerate_instances(f.ctx, "Test_ManagedElement", {});
        expect(c.has_value() && try_drain(**c, 3).value_or(none).size() >= 7);
        auto a = f.om.associators(f.ctx, s2, {});
        expect(a.has_value() && try_drain(**a, 2).value_or(none).size() == 3);
        expect(f.om.invoke_method(f.ctx, system, "Create", {param_value{"Name", value("x")}})
                   .has_value());
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto created = f.om.create_instance(
            f.ctx, instance("Test_Setting").set("InstanceID", value(std::string_view(id))));
        expect(created.has_value() && f.om.delete_instance(f.ctx, *created).has_value());
      }
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  CHECK(failures == 0);
  CHECK(f.methods.calls().size() == threads * rounds);
}
