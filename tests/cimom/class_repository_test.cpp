#include "cimom/class_repository.hpp"

#include <catch2/catch.hpp>

using namespace vsnapd::cim;

namespace {

qualifier q(const char* name, value v, std::uint8_t flavors = default_flavors) {
  return qualifier{name, std::move(v), flavors, false};
}

property_decl prop(const char* name, cim_type t, bool key = false) {
  property_decl p;
  p.name = name;
  p.type = t;
  if (key) {
    p.qualifiers.set(q("Key", value(scalar(true)), static_cast<std::uint8_t>(flavor::to_subclass)));
  }
  return p;
}

}  // namespace

TEST_CASE("class_repository: subclasses inherit members with their class origin", "[cimom][class_repository]") {
  class_repository repo;
  REQUIRE(repo.add_namespace("root\\test"));
  class_decl base;
  base.name = "T_Base";
  base.qualifiers.set(q("Abstract", value(scalar(true)), 0));  // Restricted: not inherited
  base.qualifiers.set(q("Version", value("1.0")));
  base.properties.push_back(prop("Id", cim_type::string, true));
  base.properties.push_back(prop("Size", cim_type::uint64));
  method_decl m;
  m.name = "Reset";
  base.methods.push_back(m);
  REQUIRE(repo.add_class("root/test", base));

  class_decl sub;
  sub.name = "T_Sub";
  sub.superclass = "t_base";
  auto size = prop("Size", cim_type::uint64);
  size.qualifiers.set(q("Units", value("Bytes")));
  sub.properties.push_back(size);
  sub.properties.push_back(prop("Extra", cim_type::boolean));
  auto stored = repo.add_class("ROOT/TEST", sub);
  REQUIRE(stored);
  const class_decl& s = **stored;
  CHECK(s.superclass == "T_Base");
  REQUIRE(s.properties.size() == 3);
  CHECK(s.property("id")->class_origin == "T_Base");
  CHECK(s.property("id")->propagated);
  CHECK(s.property("id")->is_key());
  CHECK(s.property("Size")->class_origin == "T_Base");
  CHECK_FALSE(s.property("Size")->propagated);
  CHECK(s.property("Size")->qualifiers.string_of("Units") == "Bytes");
  CHECK(s.property("Extra")->class_origin == "T_Sub");
  CHECK(s.method("reset")->propagated);
  CHECK_FALSE(s.is_abstract());
  CHECK(s.qualifiers.find("Version")->propagated);
  CHECK(repo.is_a("root/test", "t_sub", "T_BASE"));
  CHECK_FALSE(repo.is_a("root/test", "T_Base", "T_Sub"));
  CHECK(repo.subclasses("root/test", "T_Base", false).size() == 1);
  CHECK(repo.subclasses("root/test", "", true).size() == 2);
}

TEST_CASE("class_repository: each inconsistency is refused with its status", "[cimom][class_repository]") {
  class_repository repo;
  REQUIRE(repo.add_namespace("root/test"));
  CHECK(repo.add_namespace("ROOT/TEST").error().code == errc::already_exists);
  class_decl c;
  c.name = "T_A";
  c.qualifiers.set(q("Association", value(scalar(true)), static_cast<std::uint8_t>(flavor::to_subclass)));
  CHECK(repo.add_class("root/none", c).error().code == errc::invalid_namespace);
  REQUIRE(repo.add_class("root/test", c));
  CHECK(repo.add_class("root/test", c).error().code == errc::already_exists);

  class_decl orphan;
  orphan.name = "T_Orphan";
  orphan.superclass = "T_Missing";
  CHECK(repo.add_class("root/test", orphan).error().code == errc::invalid_superclass);

  class_decl override_disabled;
  override_disabled.name = "T_B";
  override_disabled.superclass = "T_A";
  override_disabled.qualifiers.set(q("Association", value(scalar(false))));
  const auto r = repo.add_class("root/test", override_disabled);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::invalid_parameter);
  CHECK_THAT(r.error().description, Catch::Contains("DisableOverride"));

  class_decl dup;
  dup.name = "T_Dup";
  dup.properties.push_back(prop("P", cim_type::string));
  dup.properties.push_back(prop("p", cim_type::string));
  CHECK(repo.add_class("root/test", dup).error().code == errc::invalid_parameter);
}
