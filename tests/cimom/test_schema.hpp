#pragma once
// A small schema built in code for the object-manager tests (the MOF compiler and the served
// schema land on other branches): a system hierarchy three levels deep, settings, numeric and
// reference keys, a singleton, associations (one self-association, one association subclass)
// and methods with every parameter kind.

#include "cimom/class_repository.hpp"

#include <catch2/catch.hpp>

#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>

namespace vsnapd::cim::test {
template <class T>
concept streamable = requires(std::ostream& os, const T& t) {
  os << t;
};
}  // namespace vsnapd::cim::test

// Catch prints a failed REQUIRE(result) through this: "ok", or the CIM error. Only for value
// types without operator<< (which Boost's own printer needs), so every test file that prints
// other results keeps using the one primary template.
template <class T>
requires(!std::is_void_v<T> && !vsnapd::cim::test::streamable<T>) struct Catch::StringMaker<
    boost::system::result<T, vsnapd::cim::error>> {
  static std::string convert(const boost::system::result<T, vsnapd::cim::error>& r) {
    if (r) {
      return "ok";
    }
    std::ostringstream os;
    os << r.error();
    return os.str();
  }
};

namespace vsnapd::cim::test {

inline constexpr const char* test_ns = "root/test";
inline constexpr const char* other_ns = "root/other";

inline qualifier q(const char* name, value v = value(scalar(true)),
                   std::uint8_t flavors = default_flavors) {
  return qualifier{name, std::move(v), flavors, false};
}
/// Key and Abstract as DSP0004 declares their flavors.
inline qualifier key_q() {
  return q("Key", value(scalar(true)), static_cast<std::uint8_t>(flavor::to_subclass));
}

inline property_decl prop(const char* name, cim_type t, bool key = false, bool is_array = false) {
  property_decl p;
  p.name = name;
  p.type = t;
  p.is_array = is_array;
  p.default_value = value::null(t, is_array);
  if (key) {
    p.qualifiers.set(key_q());
  }
  return p;
}

inline property_decl ref(const char* name, const char* cls, bool key = true) {
  property_decl p = prop(name, cim_type::reference, key);
  p.ref_class = cls;
  return p;
}

inline parameter_decl param(const char* name, cim_type t, std::initializer_list<qualifier> qs = {},
                            bool is_array = false, const char* ref_class = "") {
  parameter_decl p;
  p.name = name;
  p.type = t;
  p.is_array = is_array;
  p.ref_class = ref_class;
  for (const auto& x : qs) {
    p.qualifiers.set(x);
  }
  return p;
}

inline class_decl make_class(const char* name, const char* super,
                             std::initializer_list<property_decl> props,
                             std::initializer_list<qualifier> qs = {}) {
  class_decl c;
  c.name = name;
  c.superclass = super;
  c.properties = props;
  for (const auto& x : qs) {
    c.qualifiers.set(x);
  }
  return c;
}

/// The test schema in `root/test`, plus an empty `root/other` namespace.
inline void load_test_schema(class_repository& repo) {
  REQUIRE(repo.add_namespace(test_ns));
  REQUIRE(repo.add_namespace(other_ns));
  const auto add = [&](class_decl c) { REQUIRE(repo.add_class(test_ns, std::move(c))); };

  add(make_class("Test_ManagedElement", "",
                 {prop("Caption", cim_type::string), prop("Description", cim_type::string)},
                 {q("Abstract", value(scalar(true)), 0), q("Version", value("2.41.0"))}));

  class_decl system =
      make_class("Test_System", "Test_ManagedElement",
                 {prop("Name", cim_type::string, true), prop("Count", cim_type::uint16)});
  {
    method_decl m;
    m.name = "RequestStateChange";
    m.return_type = cim_type::uint32;
    m.parameters = {
        param("RequestedState", cim_type::uint16, {q("In"), q("Required")}),
        param("TimeoutPeriod", cim_type::datetime, {q("In")}),
        param("Tags", cim_type::string, {q("In")}, true),
        param("Target", cim_type::reference, {q("In")}, false, "Test_Setting"),
        param("Job", cim_type::reference, {q("In", value(scalar(false))), q("Out")}, false,
              "Test_Setting"),
        param("Attempts", cim_type::uint8, {q("In"), q("Out")}),
    };
    system.methods.push_back(m);
    method_decl s;
    s.name = "Create";
    s.return_type = cim_type::uint16;
    s.qualifiers.set(q("Static"));
    s.parameters = {
        param("Name", cim_type::string, {q("In"), q("Required")}),
        param("Size", cim_type::uint64, {q("In")}),
        param("Result", cim_type::reference, {q("In", value(scalar(false))), q("Out")}, false,
              "Test_System"),
    };
    system.methods.push_back(s);
  }
  add(system);

  class_decl virt =
      make_class("Test_VirtualSystem", "Test_System",
                 {prop("VmState", cim_type::uint16), prop("Tags", cim_type::string, false, true)});
  auto count = prop("Count", cim_type::uint16);  // overridden: local again, origin unchanged
  count.qualifiers.set(q("Units", value("VMs")));
  virt.properties.push_back(count);
  add(virt);
  add(make_class("Test_SpecialSystem", "Test_VirtualSystem", {prop("Special", cim_type::boolean)}));

  add(make_class(
      "Test_Setting", "Test_ManagedElement",
      {prop("InstanceID", cim_type::string, true), prop("ElementName", cim_type::string)}));
  add(make_class("Test_Numbered", "",
                 {prop("Id", cim_type::uint32, true), prop("Kind", cim_type::sint8, true),
                  prop("Flag", cim_type::boolean, true), prop("Label", cim_type::string)}));
  add(make_class("Test_Singleton", "", {prop("Version", cim_type::string)}));
  auto payload = prop("Payload", cim_type::object);
  payload.embedded_class = "Test_Setting";
  add(make_class("Test_Blob", "", {prop("Id", cim_type::uint32, true), payload}));

  add(make_class("Test_SettingsDefineState", "",
                 {ref("ManagedElement", "Test_System"), ref("SettingData", "Test_Setting")},
                 {q("Association")}));
  add(make_class("Test_SubSettingsDefineState", "Test_SettingsDefineState",
                 {prop("Note", cim_type::string)}));
  add(make_class("Test_ParentChild", "",
                 {ref("Parent", "Test_Setting"), ref("Child", "Test_Setting")},
                 {q("Association")}));
  // An association keyed by a reference to a system: reference keys coerce recursively.
  add(make_class("Test_Hosted", "",
                 {ref("Antecedent", "Test_System"), ref("Dependent", "Test_Numbered")},
                 {q("Association")}));
}

}  // namespace vsnapd::cim::test
