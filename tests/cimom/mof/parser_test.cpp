#include "cimom/mof/parser.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace vsnapd::cim::mof;

namespace {

struct parsed {
  diagnostics diags;
  text_arena arena;
  std::vector<production> productions;
};

void run(parsed& p, std::string_view text) { p.productions = parse(0, text, p.arena, p.diags); }

}  // namespace

TEST_CASE("parser: builds the AST of every production kind", "[cimom][mof][parser]") {
  parsed p;
  run(p, R"(
#pragma namespace ("root/test")
Qualifier Tags : string[] = {"a", "b"}, Scope(property, method), Flavor(DisableOverride, Restricted);
[Association, Description ("part one, " "part two\n")]
class Ex_Assoc : Ex_Base {
  [Key] Ex_Thing REF Left;
  Ex_Thing ref Right = "Ex_Thing.Id=1";
  uint8 Bytes[4] = {1, 0x2, 03, 1b};
  real64 R = -1.5e2;
  char16 C = '\x41';
  [Static] uint32 Go([In, Out] string Names[], Ex_Thing REF Target);
};
association Ex_Kw { Ex_Thing REF A; Ex_Thing REF B; };
[Description("i")] instance of Ex_Thing as $t1 { Id = 1; Other = $t0; List = {TRUE, false}; N = NULL; };
)");
  REQUIRE(p.diags.all().empty());
  REQUIRE(p.productions.size() == 5);

  const auto& pr = std::get<ast::pragma>(p.productions[0]);
  CHECK(pr.name == "namespace");
  CHECK(pr.value == "root/test");

  const auto& q = std::get<ast::qualifier_decl>(p.productions[1]);
  CHECK(q.name == "Tags");
  CHECK(q.type.type == ast::data_type::string);
  CHECK(q.type.is_array);
  REQUIRE(q.default_value);
  CHECK(q.default_value->elements.size() == 2);
  CHECK(q.scopes == (ast::scope_property | ast::scope_method));
  CHECK(q.flavors == (ast::flavor_disable_override | ast::flavor_restricted));

  const auto& c = std::get<ast::class_decl>(p.productions[2]);
  CHECK(c.name == "Ex_Assoc");
  CHECK(c.superclass == "Ex_Base");
  REQUIRE(c.qualifiers.size() == 2);
  CHECK(c.qualifiers[1].argument->text == "part one, part two\n");  // concatenated, decoded
  REQUIRE(c.properties.size() == 5);
  CHECK(c.properties[0].type.type == ast::data_type::reference);
  CHECK(c.properties[0].type.ref_class == "Ex_Thing");
  CHECK(c.properties[1].default_value->text == "Ex_Thing.Id=1");
  CHECK(c.properties[2].type.array_size == 4);
  CHECK(c.properties[2].default_value->elements[2].magnitude == 3);
  CHECK(c.properties[2].default_value->elements[3].magnitude == 1);
  CHECK(c.properties[3].default_value->real == -150.0);
  CHECK(c.properties[4].default_value->ch == u'A');
  REQUIRE(c.methods.size() == 1);
  CHECK(c.methods[0].parameters.size() == 2);
  CHECK(c.methods[0].parameters[0].type.is_array);
  CHECK(c.methods[0].parameters[1].type.ref_class == "Ex_Thing");

  const auto& kw = std::get<ast::class_decl>(p.productions[3]);
  CHECK(kw.keyword == ast::class_keyword::association);

  const auto& i = std::get<ast::instance_decl>(p.productions[4]);
  CHECK(i.class_name == "Ex_Thing");
  CHECK(i.alias == "t1");
  REQUIRE(i.values.size() == 4);
  CHECK(i.values[1].val.k == ast::value::kind::alias);
  CHECK(i.values[1].val.text == "t0");
  CHECK(i.values[2].val.elements[1].boolean == false);
  CHECK(i.values[3].val.k == ast::value::kind::null);
}

TEST_CASE("parser: keywords are case-insensitive and old flavor syntax is accepted",
          "[cimom][mof][parser]") {
  parsed p;
  run(p,
      "CLASS A { [Key : ToSubclass DisableOverride] STRING Id; };\n"
      "INSTANCE OF A { Id = \"x\"; };\n");
  REQUIRE(p.diags.all().empty());
  const auto& c = std::get<ast::class_decl>(p.productions[0]);
  CHECK(c.properties[0].qualifiers[0].flavors ==
        (ast::flavor_to_subclass | ast::flavor_disable_override));
}

TEST_CASE("parser: syntax errors say what was expected, where", "[cimom][mof][parser]") {
  struct row {
    const char* text;
    std::uint32_t line;
    std::uint32_t column;
    const char* message;
  };
  const row rows[] = {
      {"junk", 1, 1,
       "expected a class, instance or qualifier declaration, or '#pragma', found 'junk'"},
      {"[Key] junk", 1, 7,
       "expected 'class', 'association', 'indication' or 'instance' after a qualifier list"},
      {"#include", 1, 2, "expected 'pragma' after '#'"},
      {"#pragma include \"x\"", 1, 17, "expected '(' after the pragma name"},
      {"#pragma include (x)", 1, 18, "expected a string pragma parameter"},
      {"#pragma include (\"x\"", 1, 21, "expected ')' after the pragma parameter"},
      {"class { };", 1, 7, "expected a class name, found '{'"},
      {"class A : { };", 1, 11, "expected a superclass name after ':'"},
      {"class A ;", 1, 9, "expected '{' to start the class body"},
      {"class A { }", 1, 12, "expected ';' after the class body '}'"},
      {"class A { string }; ", 1, 18, "expected a property or method name, found '}'"},
      {"class A {\n  strin x;\n};", 2, 3,
       "expected a data type (boolean, string, uint32, datetime, ...)"},
      {"class A { string x }; ", 1, 20, "expected '=', '[' or ';' after the property name"},
      {"class A { string x = ; };", 1, 22, "expected a value (number, string"},
      {"class A { string x = 1 };", 1, 24, "expected ';' after the default value"},
      {"class A { uint8 x[0]; };", 1, 19, "expected a positive array size"},
      {"class A { uint8 x[2; };", 1, 20, "expected ']' to close the array dimension"},
      {"class A { uint8 x = {1 2}; };", 1, 24, "expected ',' or '}' in the array value"},
      {"class A { uint32 m(string a string b); };", 1, 29,
       "expected ',' or ')' in the parameter list"},
      {"class A { uint32 m(); uint32 n() };", 1, 34, "expected ';' after the method declaration"},
      {"class A { [Key string x; };", 1, 16, "expected ',' or ']' in the qualifier list"},
      {"class A { [Key(true] string x; };", 1, 20, "expected ')' after the qualifier value"},
      {"class A { [Key : Sometimes] string x; };", 1, 18, "expected a flavor"},
      {"class A as B { };", 1, 12, "expected an alias ($name) after 'as'"},
      {"instance A { };", 1, 10, "expected 'of' after 'instance'"},
      {"instance of { };", 1, 13, "expected a class name after 'instance of'"},
      {"instance of A as x { };", 1, 18, "expected an alias ($name) after 'as'"},
      {"instance of A { x 1; };", 1, 19, "expected '=' after the property name"},
      {"instance of A { x = 1 };", 1, 23, "expected ';' after the property value"},
      {"instance of A { 1 = 1; };", 1, 17, "expected a property name or '}'"},
      {"Qualifier Q boolean, Scope(any);", 1, 13, "expected ':' and the type of the qualifier"},
      {"Qualifier Q : foo, Scope(any);", 1, 15, "expected a qualifier type"},
      {"Qualifier Q : boolean;", 1, 22, "expected ', Scope(...)' after the qualifier type"},
      {"Qualifier Q : boolean, Scop(any);", 1, 24, "expected 'Scope' in the qualifier declaration"},
      {"Qualifier Q : boolean, Scope any;", 1, 30, "expected '(' after 'Scope'"},
      {"Qualifier Q : boolean, Scope(any), Flav(Restricted);", 1, 36,
       "expected 'Flavor' after ','"},
      {"Qualifier Q : boolean, Scope(any) Flavor(Restricted);", 1, 35,
       "expected ';' at the end of the qualifier declaration"},
      {"class A { uint8 x = 'ab'; };", 1, 21,
       "expected exactly one character or escape in the char16 literal"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    parsed p;
    run(p, r.text);
    REQUIRE(p.diags.error_count() >= 1);
    CHECK(p.diags.all()[0].where.line == r.line);
    CHECK(p.diags.all()[0].where.column == r.column);
    CHECK_THAT(p.diags.all()[0].message, Catch::Contains(r.message));
  }
}

TEST_CASE("parser: recovers after an error and reports the next one", "[cimom][mof][parser]") {
  parsed p;
  run(p, "class A { strin x; uint8 y; };\nclass B { uint8 z; };\nclass C { 1 };\n");
  REQUIRE(p.diags.error_count() == 2);
  CHECK(p.diags.all()[0].where.line == 1);
  CHECK(p.diags.all()[1].where.line == 3);
  REQUIRE(p.productions.size() == 1);
  CHECK(std::get<ast::class_decl>(p.productions[0]).name == "B");
}

TEST_CASE("parser: unknown escapes are warnings that keep the character", "[cimom][mof][parser]") {
  parsed p;
  run(p, "instance of A { s = \"a\\qb\"; };");
  REQUIRE(p.diags.error_count() == 0);
  REQUIRE(p.diags.warning_count() == 1);
  CHECK(p.diags.all()[0].where.column == 23);
  CHECK_THAT(p.diags.all()[0].message, Catch::Contains("unknown escape sequence '\\q'"));
  CHECK(std::get<ast::instance_decl>(p.productions[0]).values[0].val.text == "aqb");
}
