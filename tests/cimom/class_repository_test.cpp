#include "cimom/class_repository.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

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

property_decl ref(const char* name, const char* to) {
  property_decl p = prop(name, cim_type::reference);
  p.ref_class = to;
  return p;
}

class_decl cls(const char* name, const char* super = "") {
  class_decl c;
  c.name = name;
  c.superclass = super;
  return c;
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
  c.properties.push_back(ref("Left", "T_A"));  // an association needs two references
  c.properties.push_back(ref("Right", "T_A"));
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

namespace {

// A namespace with a few declarations and a keyed base class.
void seed(class_repository& repo) {
  REQUIRE(repo.add_namespace("root/t").has_value());
  qualifier_decl key;
  key.name = "Key";
  key.type = cim_type::boolean;
  key.scopes = static_cast<std::uint16_t>(scope::property) | static_cast<std::uint16_t>(scope::reference);
  key.flavors = static_cast<std::uint8_t>(flavor::to_subclass);  // DisableOverride
  REQUIRE(repo.add_qualifier_decl("root/t", key).has_value());
  qualifier_decl assoc = key;
  assoc.name = "Association";
  assoc.scopes = static_cast<std::uint16_t>(scope::association);
  REQUIRE(repo.add_qualifier_decl("root/t", assoc).has_value());
  qualifier_decl maxlen;
  maxlen.name = "MaxLen";
  maxlen.type = cim_type::uint32;
  maxlen.scopes = static_cast<std::uint16_t>(scope::property);
  REQUIRE(repo.add_qualifier_decl("root/t", maxlen).has_value());
  class_decl base = cls("T_Base");
  base.properties.push_back(prop("Id", cim_type::string, true));
  base.properties.push_back(prop("Size", cim_type::uint32));
  REQUIRE(repo.add_class("root/t", base).has_value());
}

}  // namespace

TEST_CASE("class_repository: rejects classes that break DSP0004 rules", "[cimom][class_repository]") {
  struct row {
    const char* name;
    std::function<class_decl()> make;
    errc code;
    const char* message;
  };
  const std::vector<row> rows = {
      {"superclass missing", [] { return cls("T_X", "T_Nope"); }, errc::invalid_superclass,
       "superclass T_Nope of T_X does not exist"},
      {"redefinition", [] { return cls("t_base"); }, errc::already_exists, "already exists"},
      {"duplicate property",
       [] {
         auto c = cls("T_X");
         c.properties.push_back(prop("a", cim_type::string));
         c.properties.push_back(prop("A", cim_type::string));
         return c;
       },
       errc::invalid_parameter, "property A is declared twice in class T_X"},
      {"key added in a keyed subclass",
       [] {
         auto c = cls("T_X", "T_Base");
         c.properties.push_back(prop("Other", cim_type::string, true));
         return c;
       },
       errc::invalid_parameter, "adds a key to a subclass of T_Base"},
      {"DisableOverride overridden",
       [] {
         auto c = cls("T_X", "T_Base");
         auto p = prop("Id", cim_type::string);
         p.qualifiers.set(q("Key", value(scalar(false))));
         c.properties.push_back(p);
         return c;
       },
       errc::invalid_parameter, "overrides qualifier Key"},
      {"override changes the type",
       [] {
         auto c = cls("T_X", "T_Base");
         c.properties.push_back(prop("Size", cim_type::uint64));
         return c;
       },
       errc::invalid_parameter, "changes the type of the property inherited from T_Base"},
      {"Override names nothing",
       [] {
         auto c = cls("T_X", "T_Base");
         auto p = prop("New", cim_type::string);
         p.qualifiers.set(q("Override", value("Nope")));
         c.properties.push_back(p);
         return c;
       },
       errc::invalid_parameter, "overrides Nope, which no superclass declares"},
      {"array key",
       [] {
         auto c = cls("T_X");
         auto p = prop("K", cim_type::string, true);
         p.is_array = true;
         c.properties.push_back(p);
         return c;
       },
       errc::invalid_parameter, "is a key and an array"},
      {"qualifier outside its scope",
       [] {
         auto c = cls("T_X");
         c.qualifiers.set(q("Key", value(scalar(true))));
         return c;
       },
       errc::invalid_parameter, "qualifier Key is not allowed on class T_X"},
      {"qualifier of the wrong type",
       [] {
         auto c = cls("T_X");
         auto p = prop("S", cim_type::string);
         p.qualifiers.set(q("MaxLen", value("ten")));
         c.properties.push_back(p);
         return c;
       },
       errc::invalid_parameter, "has a string value, but it is declared uint32"},
      {"association with one reference",
       [] {
         auto c = cls("T_L");
         c.qualifiers.set(q("Association", value(scalar(true))));
         c.properties.push_back(ref("A", "T_Base"));
         return c;
       },
       errc::invalid_parameter, "association T_L has 1 references"},
      {"duplicate parameter",
       [] {
         auto c = cls("T_X");
         method_decl m;
         m.name = "Go";
         parameter_decl a;
         a.name = "p";
         m.parameters = {a, a};
         c.methods.push_back(m);
         return c;
       },
       errc::invalid_parameter, "parameter p is declared twice in method T_X.Go"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    class_repository repo;
    seed(repo);
    auto added = repo.add_class("root/t", r.make());
    REQUIRE_FALSE(added.has_value());
    CHECK(added.error().code == r.code);
    CHECK_THAT(added.error().description, Catch::Contains(r.message));
    CHECK(repo.classes("root/t").size() == 1);  // nothing half-added
  }
}

TEST_CASE("class_repository: resolves inheritance by flavor", "[cimom][class_repository]") {
  class_repository repo;
  seed(repo);
  class_decl sub = cls("T_Sub", "T_Base");
  sub.qualifiers.set(q("Note", value("restricted"), 0));
  auto p = prop("Size", cim_type::uint32);
  p.qualifiers.set(q("Override", value("Size"), static_cast<std::uint8_t>(flavor::enable_override)));
  sub.properties.push_back(p);
  auto added = repo.add_class("root/t", sub);
  REQUIRE(added.has_value());
  const class_decl* c = *added;
  CHECK(c->property("Id")->propagated);
  CHECK(c->property("Id")->is_key());
  CHECK(c->property("Id")->class_origin == "T_Base");
  CHECK_FALSE(c->property("Size")->propagated);
  CHECK(c->property("Size")->class_origin == "T_Base");

  class_decl subsub = cls("T_SubSub", "T_Sub");
  auto added2 = repo.add_class("root/t", subsub);
  REQUIRE(added2.has_value());
  // Restricted qualifiers stay behind; Override is Restricted here, so not inherited either.
  CHECK((*added2)->qualifiers.find("Note") == nullptr);
  CHECK((*added2)->property("Size")->qualifiers.find("Override") == nullptr);
  CHECK((*added2)->property("Size")->propagated);
  CHECK(repo.subclasses("root/t", "T_Base", true).size() == 2);
}
