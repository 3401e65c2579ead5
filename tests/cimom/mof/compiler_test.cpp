#include "cimom/mof/compiler.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cimom/object_path.hpp"
#include "schema/embedded_schema.hpp"

using namespace vsnapd::cim;

namespace {

// Our own small set of qualifier declarations (the DMTF ones are exercised by the schema test).
constexpr const char* prelude = R"(
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
Qualifier Indication : boolean = false, Scope(class, indication), Flavor(DisableOverride, ToSubclass);
Qualifier Abstract : boolean = false, Scope(class, association, indication), Flavor(Restricted);
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Description : string = null, Scope(any), Flavor(Translatable);
Qualifier Override : string = null, Scope(property, reference, method), Flavor(Restricted);
Qualifier Static : boolean = false, Scope(property, method), Flavor(DisableOverride);
Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride);
Qualifier Out : boolean = false, Scope(parameter), Flavor(DisableOverride);
Qualifier EmbeddedInstance : string = null, Scope(property, method, parameter);
Qualifier EmbeddedObject : boolean = false, Scope(property, method, parameter), Flavor(DisableOverride);
Qualifier MaxLen : uint32 = null, Scope(property, method, parameter);
Qualifier ValueMap : string[], Scope(property, method, parameter);
Qualifier Local : string = null, Scope(class), Flavor(Restricted);
class Ex_Existing { [Key] string Id; };
)";

struct fixture {
  class_repository repo;
  mof::compiler c{repo};

  fixture() { REQUIRE(c.compile_text("prelude.mof", prelude)); }

  bool compile(std::string text) { return c.compile_text("case.mof", std::move(text)); }

  std::string all_diags() const {
    std::string out;
    for (const auto& d : c.diags().all()) {
      out += mof::format(d, c.sources()) + "\n";
    }
    return out;
  }
};

std::string f_diags(const mof::compiler& c) {
  std::string out;
  for (const auto& d : c.diags().all()) {
    out += mof::format(d, c.sources()) + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("compiler: semantic errors are precise", "[cimom][mof][compiler]") {
  struct row {
    const char* text;
    std::uint32_t line;
    std::uint32_t column;
    const char* message;
  };
  const row rows[] = {
      // undeclared qualifier
      {"class A { [Nokey] string x; };", 1, 12,
       "qualifier 'Nokey' is not declared in namespace 'root/cimv2'"},
      // qualifier value type mismatch
      {"class A { [MaxLen(\"x\")] string x; };", 1, 19,
       "expected a uint32 value for qualifier 'MaxLen', found a string"},
      {"class A { [Key(1)] string x; };", 1, 16,
       "expected a boolean value for qualifier 'Key', found an integer"},
      {"class A { [Description({\"a\"})] string x; };", 1, 24,
       "expected a scalar string value for qualifier 'Description', found an array"},
      // qualifier outside its scope
      {"class A {\n  [Key] uint32 m();\n};", 2, 4,
       "qualifier 'Key' is not allowed on method 'A.m()' (its declared scope is property, "
       "reference)"},
      {"[Key] class A { };", 1, 2, "qualifier 'Key' is not allowed on class 'A'"},
      {"class A { [Association] string x; };", 1, 12, "is not allowed on property 'A.x'"},
      // DisableOverride overridden
      {"class A { [Key] string x; };\nclass B : A { [Key(false)] string x; };", 2, 16,
       "qualifier 'Key' of property 'B.x' cannot be overridden: it is DisableOverride in class "
       "'A'"},
      // duplicates
      {"class A { string x; uint8 X; };", 1, 27, "property 'X' is declared twice in class 'A'"},
      {"class A { uint32 m(); uint32 M(); };", 1, 30, "method 'M' is declared twice in class 'A'"},
      {"class A { [Key, key] string x; };", 1, 17, "qualifier 'key' appears twice on 'A.x'"},
      {"class A { uint32 m(string p, uint8 p); };", 1, 36,
       "parameter 'p' of method 'A.m()' is declared twice"},
      {"class A { string m; uint32 m(); };", 1, 18,
       "property 'm' of class 'A' has the name of a method"},
      // superclass, redefinition
      {"class B : Nope { };", 1, 11,
       "superclass 'Nope' of class 'B' is not declared in namespace 'root/cimv2'"},
      {"class Ex_Existing { };", 1, 7,
       "class 'Ex_Existing' is already defined in namespace 'root/cimv2'"},
      {"class A { };\nclass a { };", 2, 7, "class 'a' is declared twice (first at case.mof:1:7"},
      {"class C1 : C2 { };\nclass C2 : C1 { };", 2, 12, "inherits from itself"},
      // references and associations
      {"[Association] class L { Nope REF a; Ex_Existing REF b; };", 1, 25,
       "reference 'L.a' names class 'Nope', which is not declared"},
      {"[Association] class L { Ex_Existing REF a; };", 1, 21,
       "association 'L' has 1 reference (expected at least two)"},
      {"association L { };", 1, 13, "association 'L' has 0 references"},
      {"class L { Ex_Existing REF a; };", 1, 27, "which is not an association"},
      {"class A { uint32 m(Nope REF p); };", 1, 20,
       "parameter 'p' of method 'A.m()' names class 'Nope'"},
      // keys
      {"class K { [Key] string a; };\nclass K2 : K { [Key] string b; };", 2, 29,
       "key property 'K2.b' is added in a subclass of superclass 'K', which already has keys"},
      {"class K { [Key] string a[]; };", 1, 24, "key property 'K.a' is an array"},
      // overrides
      {"class A { string x; };\nclass B : A { [Override(\"zz\")] string y; };", 2, 39,
       "has Override(\"zz\") but superclass 'A' has no such property"},
      {"class A { string x; };\nclass B : A { uint8 x; };", 2, 21,
       "overrides the inherited string property from 'A' with type uint8 (expected the same type)"},
      // embedded objects
      {"class A { [EmbeddedInstance(\"Ex_Existing\")] uint32 e; };", 1, 52,
       "EmbeddedInstance on property 'A.e' requires type string, found uint32"},
      {"class A { [EmbeddedInstance(\"Nope\")] string e; };", 1, 45,
       "EmbeddedInstance of property 'A.e' names class 'Nope'"},
      {"class A { [EmbeddedObject] string e = \"x\"; };", 1, 39,
       "embedded object property 'A.e' cannot have a default value"},
      // default values
      {"class A { uint8 x = {1}; };", 1, 21,
       "expected a scalar uint8 value for the default of property 'A.x'"},
      {"class A { uint8 x[] = 1; };", 1, 23, "expected an array value {...} of uint8"},
      {"class A { uint8 x[] = {1, NULL}; };", 1, 27, "expected a uint8 array element"},
      {"class A { datetime d = \"2024\"; };", 1, 24,
       "invalid datetime \"2024\" for the default of property 'A.d'"},
      {"class A { real32 r = 1.0e39; };", 1, 22,
       "out of range for the default of property 'A.r' (expected a real32"},
      {"class A { string s = 'c'; };", 1, 22,
       "expected a string value for the default of property 'A.s', found a char16"},
      {"class A { boolean b = 0; };", 1, 23, "expected a boolean value"},
      {"class A { uint8 x = 256; };", 1, 21,
       "value 256 is out of range for the default of property 'A.x' (expected a uint8, 0 to 255)"},
      {"class A { uint16 x = -1; };", 1, 22, "value -1 is out of range"},
      {"class A { sint8 x = -129; };", 1, 21, "value -129 is out of range"},
      {"class A { sint64 x = -9223372036854775809; };", 1, 22,
       "(expected a sint64, -9223372036854775808 to 9223372036854775807)"},
      {"class A { uint64 x = 18446744073709551616; };", 1, 22,
       "(expected a uint64, 0 to 18446744073709551615)"},
      {"class A { sint32 x = 0x80000000; };", 1, 22, "value 0x80000000 is out of range"},
      // instances
      {"instance of Nope { x = 1; };", 1, 13,
       "instance of unknown class 'Nope' in namespace 'root/cimv2'"},
      {"instance of Ex_Existing { Id = \"a\"; y = 1; };", 1, 37,
       "class 'Ex_Existing' has no property 'y'"},
      {"[Abstract] class Ab { [Key] string Id; };\ninstance of Ab { Id = \"x\"; };", 2, 13,
       "class 'Ab' is abstract (expected an instance of a concrete subclass)"},
      {"instance of Ex_Existing { };", 1, 13,
       "instance of 'Ex_Existing' has no value for key property 'Id' (expected a non-NULL value)"},
      {"instance of Ex_Existing { Id = NULL; };", 1, 13, "has no value for key property 'Id'"},
      {"instance of Ex_Existing { Id = 7; };", 1, 32,
       "expected a string value for property 'Ex_Existing.Id', found an integer"},
      {"[Association] class L { [Key] Ex_Existing REF a; [Key] Ex_Existing REF b; };\n"
       "instance of L { a = $nope; };",
       2, 21, "undefined alias $nope"},
      {"class A { Ex_Existing REF r = $x; };", 1, 31,
       "alias $x used for the default of property 'A.r'"},
      {"instance of Ex_Existing as $me { Id = $me; };", 1, 39, "expected a string value"},
      // qualifier declarations
      {"Qualifier Q : boolean, Scope(any), Flavor(EnableOverride, DisableOverride);", 1, 11,
       "conflicting flavors EnableOverride and DisableOverride"},
      {"Qualifier Q : uint8 = 300, Scope(any);", 1, 23,
       "value 300 is out of range for the default of qualifier 'Q'"},
      {"Qualifier Key : string, Scope(any);", 1, 11,
       "qualifier Key is already declared with another type"},
      {"[Description(\"d\") : Restricted ToSubclass] class A { };", 1, 2,
       "conflicting flavors ToSubclass and Restricted"},
      // includes
      {"#pragma include (\"no-such-file.mof\")", 1, 18,
       "cannot open included file \"no-such-file.mof\""},
      {"#pragma namespace (\"\")", 1, 20, "expected a namespace name"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    fixture f;
    CHECK_FALSE(f.compile(r.text));
    INFO(f.all_diags());
    const auto& all = f.c.diags().all();
    auto it = std::find_if(all.begin(), all.end(), [](const mof::diagnostic& d) {
      return d.level == mof::severity::error;
    });
    REQUIRE(it != all.end());
    CHECK(f.c.sources().file(it->where.file).path == "case.mof");
    CHECK(it->where.line == r.line);
    CHECK(it->where.column == r.column);
    CHECK_THAT(it->message, Catch::Contains(r.message));
  }
}

TEST_CASE("compiler: classes are stored resolved", "[cimom][mof][compiler]") {
  fixture f;
  REQUIRE(f.compile(R"(
[Local("base only"), Description("base")]
class T_Base {
  [Key, Description("the id")] string Id;
  uint32 Count = 7;
  [Description("runs")] uint32 Run([In] string Arg);
};
[Description("sub")]
class T_Sub : T_Base {
  [Override("Count")] uint32 Count = 9;
  string Extra;
};
)"));
  const class_decl* sub = f.repo.find_class("root/cimv2", "t_sub");
  REQUIRE(sub != nullptr);
  CHECK(sub->name == "T_Sub");
  CHECK(sub->superclass == "T_Base");
  CHECK(sub->qualifiers.find("Local") == nullptr);  // Restricted: stays with T_Base
  CHECK(sub->qualifiers.string_of("Description") == "sub");

  const property_decl* id = sub->property("id");
  REQUIRE(id != nullptr);
  CHECK(id->propagated);
  CHECK(id->class_origin == "T_Base");
  CHECK(id->is_key());
  REQUIRE(id->qualifiers.find("Description") != nullptr);
  CHECK(id->qualifiers.find("Description")->propagated);

  const property_decl* count = sub->property("Count");
  REQUIRE(count != nullptr);
  CHECK_FALSE(count->propagated);
  CHECK(count->class_origin == "T_Base");
  REQUIRE(count->default_value.get_if<std::uint32_t>() != nullptr);
  CHECK(*count->default_value.get_if<std::uint32_t>() == 9);
  CHECK(count->qualifiers.find("Override") != nullptr);

  const property_decl* extra = sub->property("Extra");
  REQUIRE(extra != nullptr);
  CHECK(extra->class_origin == "T_Sub");
  CHECK(extra->default_value.is_null());
  CHECK(extra->default_value.type() == cim_type::string);

  const method_decl* run = sub->method("run");
  REQUIRE(run != nullptr);
  CHECK(run->propagated);
  CHECK(run->class_origin == "T_Base");
  REQUIRE(run->parameters.size() == 1);
  CHECK(run->parameters[0].is_in());

  CHECK(f.repo.is_a("root/cimv2", "T_Sub", "T_Base"));
  CHECK(f.repo.subclasses("root/cimv2", "T_Base", false).size() == 1);
}

TEST_CASE("compiler: forward references within a compilation resolve", "[cimom][mof][compiler]") {
  fixture f;
  const bool ok = f.compile(R"(
instance of F_Link { Left = $a; Right = $b; };
[Association] class F_Link { [Key] F_Node REF Left; [Key] F_Node REF Right; };
class F_Leaf : F_Node { };
class F_Node { [Key] string Name; [Key] uint64 Size = 1; };
instance of F_Node as $a { Name = "a"; Size = 18446744073709551615; };
instance of F_Leaf as $b { Name = "b\x41"; };
)");
  INFO(f.all_diags());
  REQUIRE(ok);
  CHECK(f.c.classes_added() == 4);
  REQUIRE(f.c.instances().size() == 3);
  const auto& link = f.c.instances()[0].value;
  CHECK(link.class_name() == "F_Link");
  const value* left = link.get("Left");
  REQUIRE(left != nullptr);
  REQUIRE(left->get_if<reference>() != nullptr);
  const object_path& lp = **left->get_if<reference>();
  CHECK(lp.class_name() == "F_Node");
  REQUIRE(lp.key("Size") != nullptr);
  CHECK(*lp.key("Size")->get_if<std::uint64_t>() == UINT64_MAX);
  const object_path& rp = **link.get("Right")->get_if<reference>();
  CHECK(rp.class_name() == "F_Leaf");
  CHECK(*rp.key("Name")->get_if<std::string>() == "bA");
  CHECK(*rp.key("Size")->get_if<std::uint64_t>() == 1);  // the key's default
}

TEST_CASE("compiler: literal values are stored exactly", "[cimom][mof][compiler]") {
  fixture f;
  const bool ok = f.compile(R"(
[Association] class V { [Key] string Id; sint64 S; uint64 U; sint8 B; real64 R; real32 F; char16 C;
          datetime D; string Str; uint16 Arr[]; boolean Flag; Ex_Existing REF Ref; Ex_Existing REF Ref2; };
instance of V {
  Id = "multi" "part\t\"q\"\\";
  S = -9223372036854775808;
  U = 0xFFFFFFFFFFFFFFFF;
  B = -0x80;
  R = 2.5e-3;
  F = 0.1;
  C = '\X263a';
  D = "20240229235959.999999-300";
  Str = NULL;
  Arr = {1, 0x10, 010, 11b};
  Flag = TRUE;
  Ref = "Ex_Existing.Id=\"x\"";
};
)");
  INFO(f.all_diags());
  REQUIRE(ok);
  REQUIRE(f.c.instances().size() == 1);
  const instance& i = f.c.instances()[0].value;
  CHECK(*i.get("Id")->get_if<std::string>() == "multipart\t\"q\"\\");
  CHECK(*i.get("S")->get_if<std::int64_t>() == INT64_MIN);
  CHECK(*i.get("U")->get_if<std::uint64_t>() == UINT64_MAX);
  CHECK(*i.get("B")->get_if<std::int8_t>() == -128);
  CHECK(*i.get("R")->get_if<double>() == 2.5e-3);
  CHECK(*i.get("F")->get_if<float>() == 0.1f);
  CHECK(*i.get("C")->get_if<char16_t>() == u'\u263a');
  CHECK(i.get("D")->get_if<datetime>()->text() == "20240229235959.999999-300");
  CHECK(i.get("Str")->is_null());
  CHECK(i.get("Str")->type() == cim_type::string);
  REQUIRE(i.get("Arr")->is_array());
  const auto& arr = i.get("Arr")->as_array();
  REQUIRE(arr.size() == 4);
  CHECK(std::get<std::uint16_t>(arr[1]) == 16);
  CHECK(std::get<std::uint16_t>(arr[2]) == 8);
  CHECK(std::get<std::uint16_t>(arr[3]) == 3);
  CHECK(*i.get("Flag")->get_if<bool>());
  CHECK((*i.get("Ref")->get_if<reference>())->class_name() == "Ex_Existing");
}

TEST_CASE("compiler: keywords, namespaces and embedded objects", "[cimom][mof][compiler]") {
  fixture f;
  const bool ok = f.compile(R"(
association K_Assoc { Ex_Existing REF A; Ex_Existing REF B; };
class K_Emb { [EmbeddedInstance("Ex_Existing")] string Inst; [EmbeddedObject] string Obj; };
#pragma namespace ("root/other")
Qualifier Key : boolean = false, Scope(property), Flavor(DisableOverride, ToSubclass);
class K_Other { [Key] string Id; };
)");
  INFO(f.all_diags());
  REQUIRE(ok);
  const class_decl* a = f.repo.find_class("root/cimv2", "K_Assoc");
  REQUIRE(a != nullptr);
  CHECK(a->is_association());
  CHECK(a->references().size() == 2);
  const class_decl* e = f.repo.find_class("root/cimv2", "K_Emb");
  REQUIRE(e != nullptr);
  CHECK(e->property("Inst")->type == cim_type::object);
  CHECK(e->property("Inst")->embedded_class == "Ex_Existing");
  CHECK(e->property("Obj")->type == cim_type::object);
  CHECK(f.repo.find_class("root/other", "K_Other") != nullptr);
  CHECK(f.repo.find_class("root/cimv2", "K_Other") == nullptr);
}

TEST_CASE("compiler: warnings do not fail a compilation", "[cimom][mof][compiler]") {
  fixture f;
  const bool ok = f.compile(
      "#pragma locale (\"en_US\")\n#pragma junk (\"x\")\n#pragma locale (\"english\")\n"
      "instance of Ex_Existing as $x { Id = \"1\"; Id = \"2\"; };\n"
      "instance of Ex_Existing as $x { Id = \"3\"; };\n");
  REQUIRE(ok);
  const auto& all = f.c.diags().all();
  REQUIRE(all.size() == 4);
  CHECK_THAT(all[0].message, Catch::Contains("unknown pragma 'junk'"));
  CHECK_THAT(all[1].message, Catch::Contains("pragma locale value \"english\" is not a locale"));
  CHECK_THAT(all[2].message, Catch::Contains("alias $x is defined again"));
  CHECK_THAT(all[3].message, Catch::Contains("property 'Id' is set twice"));
  CHECK(*f.c.instances()[0].value.get("Id")->get_if<std::string>() == "2");
}

TEST_CASE("compiler: includes resolve relative to the including file", "[cimom][mof][compiler]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("vsnapd-mof-" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "top.mof") << "#pragma include (\"sub/mid.mof\")\nclass I_Top : I_Mid { };\n";
  std::ofstream(dir / "sub" / "mid.mof")
      << "#pragma include (\"leaf.mof\")\nclass I_Mid : I_Leaf { };\n";
  std::ofstream(dir / "sub" / "leaf.mof") << "class I_Leaf { };\n#pragma include (\"leaf.mof\")\n";
  class_repository repo;
  mof::compiler c(repo);
  CHECK_FALSE(c.compile_file((dir / "top.mof").string()));
  REQUIRE(c.diags().error_count() == 1);
  CHECK_THAT(c.diags().all()[0].message, Catch::Contains("includes itself"));
  CHECK(c.sources().file(c.diags().all()[0].where.file).path ==
        (dir / "sub" / "leaf.mof").string());
  CHECK(c.classes_added() == 3);

  class_repository repo2;
  mof::compiler c2(repo2);
  CHECK_FALSE(c2.compile_file((dir / "absent.mof").string()));
  CHECK_THAT(c2.diags().all()[0].message, Catch::Contains("cannot open MOF file"));
  fs::remove_all(dir);
}

TEST_CASE("compiler: every truncation of a model is accepted or diagnosed",
          "[cimom][mof][compiler]") {
  // Robustness: the lexer, parser and checker must never crash or fail silently on a cut-off
  // file (run under the sanitizers in CI).
  std::ifstream in(
      VSNAPD_SOURCE_DIR
      "/../shared/schema/mof-tests-pywbemtools/tests/unit/pywbemcli/simple_mock_model.mof");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(text.size() > 1000);
  for (std::size_t n = 0; n <= text.size(); n += 13) {
    class_repository repo;
    mof::compiler c(repo);
    const bool ok = c.compile_text("cut.mof", text.substr(0, n));
    INFO(n);
    CHECK(ok == (c.diags().error_count() == 0));
    for (const auto& d : c.diags().all()) {
      CHECK(d.where.line >= 1);
      CHECK(d.where.column >= 1);
      CHECK_FALSE(d.message.empty());
    }
  }
}

TEST_CASE("compiler: MOF literals print back exactly", "[cimom][mof][compiler]") {
  struct row {
    const char* type;
    const char* literal;
    const char* text;
  };
  const row rows[] = {
      {"uint64", "18446744073709551615", "18446744073709551615"},
      {"uint64", "0xFFFFFFFFFFFFFFFF", "18446744073709551615"},
      {"sint64", "-9223372036854775808", "-9223372036854775808"},
      {"sint64", "-0x8000000000000000", "-9223372036854775808"},
      {"sint8", "-1b", "-1"},
      {"uint32", "0777", "511"},
      {"uint8", "+0", "0"},
      {"sint16", "-0", "0"},
      {"real64", "0.1", "0.1"},
      {"real64", "-1.5e300", "-1.5e+300"},
      {"real64", "12", "12"},
      {"real32", "0.1", "0.1"},
      {"real32", "3.4028234e38", "3.4028235e+38"},
      {"char16", "'\\x263A'", "\xE2\x98\xBA"},
      {"string", "\"tab\\there \\\"q\\\" \\\\ \\x00e9\"", "tab\there \"q\" \\ \xC3\xA9"},
      {"datetime", "\"99991231235959.999999+999\"", "99991231235959.999999+999"},
      {"datetime", "\"00000000000000.000000:000\"", "00000000000000.000000:000"},
      {"datetime", "\"99999999235959.999999:000\"", "99999999235959.999999:000"},
      {"datetime", "\"20240229******.******+000\"", "20240229******.******+000"},
      {"boolean", "TrUe", "true"},
  };
  for (const auto& r : rows) {
    INFO(r.type << " " << r.literal);
    fixture f;
    const bool ok = f.compile(std::string("class P { ") + r.type + " V = " + r.literal + "; };");
    INFO(f.all_diags());
    REQUIRE(ok);
    const value& v = f.repo.find_class("root/cimv2", "P")->property("V")->default_value;
    REQUIRE_FALSE(v.is_null());
    CHECK(to_text(v.as_scalar()) == r.text);
  }
}

TEST_CASE("compiler: the schema embedded in the binary compiles from memory",
          "[cimom][mof][compiler]") {
  mof::compile_options options;
  options.read_file = [](const std::string& path, std::string& text, std::string& why) {
    for (const auto& f : vsnapd::schema::mof_files()) {
      if (f.path == path) {
        text = std::string(f.text);
        return true;
      }
    }
    why = "not embedded";
    return false;
  };
  class_repository repo;
  mof::compiler c(repo, options);
  for (const auto& entry : vsnapd::schema::namespace_entry_files) {
    INFO(entry.file);
    CHECK(c.compile_file(std::string(entry.file)));
  }
  INFO(f_diags(c));
  CHECK(c.diags().all().empty());
  CHECK(c.classes_added() > 50);
  for (const auto& entry : vsnapd::schema::namespace_entry_files) {
    CHECK_FALSE(repo.classes(entry.ns).empty());
  }
  CHECK(repo.find_class("root/virtualization/v2", "Msvm_VirtualSystemSnapshotService") != nullptr);

  mof::compiler missing(repo, options);
  CHECK_FALSE(missing.compile_text("x.mof", "#pragma include (\"nope.mof\")\n"));
  CHECK_THAT(missing.diags().all()[0].message, Catch::Contains("not embedded"));
}
