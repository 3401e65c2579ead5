#include "cimom/query/query.hpp"
#include "cimom/class_repository.hpp"
#include "tests/cimom/query/catch_result.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <iterator>
#include <string>

using namespace vsnapd::cim;

namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

struct select_case {
  const char* lang;
  const char* text;
  const char* from;
  const char* alias;
  bool all;
  const char* selected;
  bool where;
};

constexpr select_case select_cases[] = {
    {"WQL", "SELECT * FROM Msvm_ComputerSystem", "Msvm_ComputerSystem", "", true, "", false},
    {"wql", "select * from Msvm_ComputerSystem where ElementName = 'vm1'", "Msvm_ComputerSystem",
     "", true, "", true},
    {"WQL", "SELECT Name, ElementName FROM CIM_ComputerSystem", "CIM_ComputerSystem", "", false,
     "Name,ElementName", false},
    {"WQL", "SELECT Name,name FROM X", "X", "", false, "Name", false},
    {"WQL", "SELECT __PATH, Name FROM X WHERE __CLASS = 'X'", "X", "", false, "__PATH,Name", true},
    {"WQL", "  SELECT\t*\nFROM X\r\nWHERE A=1  ", "X", "", true, "", true},
    {"WQL", "SELECT * FROM X WHERE (A = 1 OR B = 2) AND NOT C IS NULL", "X", "", true, "", true},
    {"WQL", "SELECT * FROM X WHERE A LIKE \"vm%\" AND B NOT LIKE 'x'", "X", "", true, "", true},
    {"WQL", "SELECT * FROM X WHERE __CLASS ISA 'Y'", "X", "", true, "", true},
    {"WQL", "SELECT * FROM X WHERE 5 < A", "X", "", true, "", true},
    {"WQL", "SELECT * FROM X WHERE A = -9223372036854775808 OR B = 18446744073709551615", "X", "",
     true, "", true},
    {"WQL", "SELECT * FROM X WHERE A = 0x1F AND B = 1.5e3 AND C = TRUE AND D = NULL", "X", "", true,
     "", true},
    {"DMTF:CQL", "select * from CIM_ComputerSystem where Name='host1'", "CIM_ComputerSystem", "",
     true, "", true},
    {"CQL", "SELECT cs.Name, cs.ElementName FROM CIM_ComputerSystem AS cs WHERE cs.Name <> 'x'",
     "CIM_ComputerSystem", "cs", false, "Name,ElementName", true},
    {"DMTF:CQL", "SELECT cs.* FROM CIM_ComputerSystem cs WHERE cs ISA Msvm_ComputerSystem",
     "CIM_ComputerSystem", "cs", true, "", true},
    {"DMTF:CQL", "SELECT CIM_ComputerSystem.Name FROM CIM_ComputerSystem", "CIM_ComputerSystem", "",
     false, "Name", false},
    {"DMTF:CQL", "SELECT * FROM CIM_System WHERE CIM_ComputerSystem::Dedicated IS NOT NULL",
     "CIM_System", "", true, "", true},
    {"DMTF:CQL", "SELECT * FROM X WHERE A = 101b AND B = 0X10", "X", "", true, "", true},
};

}  // namespace

TEST_CASE("query parser: valid SELECT queries expose class, alias and properties",
          "[cimom][query]") {
  for (const auto& c : select_cases) {
    INFO(c.lang << ": " << c.text);
    const auto q = parse_query(c.lang, c.text);
    REQUIRE(q);
    CHECK(q->kind() == query_kind::select);
    CHECK(q->text() == c.text);
    CHECK(q->from_class() == c.from);
    CHECK(q->alias() == c.alias);
    CHECK(q->selects_all() == c.all);
    CHECK(joined(q->selected_properties()) == c.selected);
    CHECK(q->has_where() == c.where);
  }
}

TEST_CASE("query parser: language names and WS-Man dialect URIs", "[cimom][query]") {
  CHECK(parse_query_language("WQL") == query_language::wql);
  CHECK(parse_query_language("wql") == query_language::wql);
  CHECK(parse_query_language("DMTF:CQL") == query_language::cql);
  CHECK(parse_query_language("dmtf:cql") == query_language::cql);
  CHECK(parse_query_language("CQL") == query_language::cql);
  CHECK_FALSE(parse_query_language("SQL"));
  CHECK_FALSE(parse_query_language(""));
  CHECK(query_language_from_dialect("http://schemas.microsoft.com/wbem/wsman/1/WQL") ==
        query_language::wql);
  CHECK(query_language_from_dialect("http://schemas.dmtf.org/wbem/wsman/1/WQL") ==
        query_language::wql);
  CHECK(query_language_from_dialect("HTTP://SCHEMAS.MICROSOFT.COM/wbem/wsman/1/wql") ==
        query_language::wql);
  CHECK(query_language_from_dialect("http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf") ==
        query_language::cql);
  CHECK_FALSE(
      query_language_from_dialect("http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"));
  // Windows event subscriptions filter with an XPath QueryList (MS-WSMV 3.1.4.1.30.5), not WQL.
  CHECK_FALSE(
      query_language_from_dialect("http://schemas.microsoft.com/win/2004/08/events/eventquery"));
  CHECK_FALSE(query_language_from_dialect(
      "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"));
  // one name table per enum, walked completely
  for (const auto l : all_query_languages) {
    CHECK(parse_query_language(to_string(l)) == l);
  }
  CHECK(to_string(query_kind::select) == "SELECT");
  CHECK(to_string(query_kind::associators_of) == "ASSOCIATORS OF");
  CHECK(to_string(query_kind::references_of) == "REFERENCES OF");
  for (const auto k : all_query_kinds) {
    CHECK(to_string(k) != "?");
  }
}

TEST_CASE("query parser: an unknown language is QUERY_LANGUAGE_NOT_SUPPORTED", "[cimom][query]") {
  for (const char* lang : {"SQL", "", "XPath", "DMTF:FQL"}) {
    const auto q = parse_query(lang, "SELECT * FROM X");
    REQUIRE_FALSE(q);
    CHECK(q.error().code == errc::query_language_not_supported);
    CHECK_THAT(q.error().description, Catch::Contains("is not supported"));
  }
}

TEST_CASE("query parser: ASSOCIATORS OF takes every WMI keyword", "[cimom][query]") {
  const auto q = parse_query(
      "WQL",
      "ASSOCIATORS OF "
      "{Msvm_ComputerSystem.CreationClassName=\"Msvm_ComputerSystem\",Name=\"6B4D2F3E\"} "
      "WHERE AssocClass = Msvm_SettingsDefineState ResultClass = Msvm_VirtualSystemSettingData "
      "Role = ManagedElement ResultRole = SettingData RequiredQualifier = Description "
      "RequiredAssocQualifier = Association KeysOnly");
  REQUIRE(q);
  CHECK(q->kind() == query_kind::associators_of);
  const auto& a = q->association();
  CHECK(a.source.class_name() == "Msvm_ComputerSystem");
  REQUIRE(a.source.key("Name") != nullptr);
  CHECK(*a.source.key("Name") == value("6B4D2F3E"));
  CHECK(*a.source.key("CreationClassName") == value("Msvm_ComputerSystem"));
  CHECK(a.assoc_class == "Msvm_SettingsDefineState");
  CHECK(a.result_class == "Msvm_VirtualSystemSettingData");
  CHECK(a.role == "ManagedElement");
  CHECK(a.result_role == "SettingData");
  CHECK(a.required_qualifier == "Description");
  CHECK(a.required_assoc_qualifier == "Association");
  CHECK(a.keys_only);
  CHECK_FALSE(a.class_defs_only);
  CHECK_FALSE(a.schema_only);
  CHECK(q->from_class().empty());
}

TEST_CASE("query parser: ASSOCIATORS OF and REFERENCES OF variants", "[cimom][query]") {
  SECTION("no WHERE") {
    const auto q = parse_query("WQL", "associators of {CIM_ComputerSystem.Name='h'}");
    REQUIRE(q);
    CHECK(q->kind() == query_kind::associators_of);
    CHECK(q->association().assoc_class.empty());
    CHECK(*q->association().source.key("Name") == value("h"));
  }
  SECTION("a WMI path with host, backslash namespace and single quotes") {
    const auto q = parse_query(
        "WQL",
        "ASSOCIATORS OF "
        "{\\\\HYPERV01\\root\\virtualization\\v2:Msvm_ComputerSystem.CreationClassName="
        "'Msvm_ComputerSystem',Name='A1B2'} WHERE resultClass = Msvm_VirtualSystemsettingData");
    REQUIRE(q);
    const auto& a = q->association();
    CHECK(a.source.host() == "HYPERV01");
    CHECK(a.source.ns() == "root/virtualization/v2");
    CHECK(a.source.class_name() == "Msvm_ComputerSystem");
    CHECK(*a.source.key("Name") == value("A1B2"));
    CHECK(a.result_class == "Msvm_VirtualSystemsettingData");
  }
  SECTION("a quoted '}' inside a key value") {
    const auto q = parse_query("WQL", "REFERENCES OF {X.Id=\"a}b\"} WHERE ClassDefsOnly");
    REQUIRE(q);
    CHECK(q->kind() == query_kind::references_of);
    CHECK(*q->association().source.key("Id") == value("a}b"));
    CHECK(q->association().class_defs_only);
  }
  SECTION("REFERENCES OF keywords") {
    const auto q =
        parse_query("WQL",
                    "REFERENCES OF {X.Id=1} WHERE ResultClass = 'CIM_Dependency' Role = Antecedent "
                    "RequiredQualifier = Q SchemaOnly");
    REQUIRE(q);
    const auto& a = q->association();
    CHECK(a.result_class == "CIM_Dependency");
    CHECK(a.role == "Antecedent");
    CHECK(a.required_qualifier == "Q");
    CHECK(a.schema_only);
    CHECK(*a.source.key("Id") == value(scalar(std::uint64_t{1})));
  }
}

namespace {

struct error_case {
  const char* lang;
  const char* text;
  const char* message;  ///< a substring of the diagnostic (column included)
};

// One row per diagnostic. Every row is INVALID_QUERY.
constexpr error_case error_cases[] = {
    {"WQL", "", "column 1: empty query"},
    {"WQL", "   ", "column 4: empty query"},
    {"WQL", "DELETE FROM X", "column 1: unexpected DELETE, expected SELECT"},
    {"WQL", "SELECT", "column 7: unexpected end of query, expected a property name or '*'"},
    {"WQL", "SELECT * X", "column 10: unexpected X, expected FROM after '*'"},
    {"WQL", "SELECT *, Name FROM X", "column 9: unexpected ,, expected FROM after '*'"},
    {"WQL", "SELECT Name Caption FROM X", "column 13: unexpected Caption, expected ',' or FROM"},
    {"WQL", "SELECT Name, FROM X", "column 14: unexpected FROM, expected a property name or '*'"},
    {"WQL", "SELECT * FROM X WHERE A = 1 AND",
     "column 32: unexpected end of query, expected a property name or a literal"},
    {"WQL", "SELECT * FROM X WHERE A = 1 OR OR B = 2",
     "column 32: unexpected OR, expected a property name or a literal"},
    {"WQL", "SELECT * FROM X WHERE NOT",
     "column 26: unexpected end of query, expected a property name or a literal"},
    {"WQL", "SELECT * FROM",
     "column 14: unexpected end of query, expected a class name after FROM"},
    {"WQL", "SELECT * FROM 'X'", "column 15: unexpected 'X', expected a class name after FROM"},
    {"WQL", "SELECT * FROM X AS", "column 19: unexpected end of query, expected an alias after AS"},
    {"WQL", "SELECT * FROM X WHERE __CLASS ISA ''",
     "column 35: unexpected '', expected a class name after ISA"},
    {"WQL", "SELECT * FROM A, B", "column 16: joins are not supported"},
    {"WQL", "SELECT * FROM meta_class WHERE __this ISA 'X'",
     "column 15: schema queries (FROM Meta_Class) are not supported"},
    {"WQL", "SELECT * FROM A JOIN B ON A.x = B.y", "column 17: joins are not supported"},
    {"WQL", "SELECT * FROM A INNER JOIN B", "column 17: joins are not supported"},
    {"WQL", "SELECT COUNT(*) FROM X", "column 8: aggregate functions are not supported (COUNT)"},
    {"WQL", "SELECT Name FROM X WHERE UPPER(Name) = 'A'",
     "column 26: functions are not supported (UPPER)"},
    {"WQL", "SELECT DISTINCT Name FROM X", "column 8: DISTINCT is not supported"},
    {"WQL", "SELECT * FROM X ORDER BY Name", "column 17: ORDER BY is not supported"},
    {"WQL", "SELECT * FROM X WHERE A = 1 ORDER BY Name", "column 29: ORDER BY is not supported"},
    {"WQL", "SELECT * FROM X GROUP BY A", "column 17: GROUP BY"},
    {"WQL", "SELECT * FROM X WHERE A = 1 HAVING B = 2", "column 29: HAVING is not supported"},
    {"WQL", "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'X'",
     "column 39: event queries (WITHIN) are not supported"},
    {"WQL", "SELECT * FROM X WHERE TargetInstance.Name = 'a'",
     "column 23: 'TargetInstance.Name': embedded-object property access is not supported"},
    {"WQL", "SELECT * FROM X WHERE A IN (1, 2)", "column 25: IN is not supported"},
    {"WQL", "SELECT * FROM X WHERE A BETWEEN 1 AND 2", "column 25: BETWEEN is not supported"},
    {"WQL", "SELECT * FROM X WHERE A = (SELECT B FROM Y)",
     "column 28: subqueries are not supported"},
    {"WQL", "SELECT * FROM (SELECT * FROM Y)", "column 16: subqueries are not supported"},
    {"WQL", "SELECT * FROM X WHERE A = 1 + 2", "column 29: arithmetic operators are not supported"},
    {"WQL", "SELECT * FROM X WHERE A = B * 2", "column 29: arithmetic operators are not supported"},
    {"WQL", "SELECT * FROM X WHERE A[0] = 1", "column 24: array indexing is not supported"},
    {"WQL", "SELECT * FROM X WHERE",
     "column 22: unexpected end of query, expected a property name or a literal"},
    {"WQL", "SELECT * FROM X WHERE A",
     "column 24: unexpected end of query, expected a comparison operator"},
    {"WQL", "SELECT * FROM X WHERE A = ", "column 27: unexpected end of query"},
    {"WQL", "SELECT * FROM X WHERE A == 1",
     "column 26: unexpected =, expected a property name or a literal"},
    {"WQL", "SELECT * FROM X WHERE A = 1 B = 2",
     "column 29: unexpected B, expected AND, OR or the end"},
    {"WQL", "SELECT * FROM X WHERE (A = 1", "column 29: unexpected end of query, expected ')'"},
    {"WQL", "SELECT * FROM X WHERE A = 1)", "column 28: unexpected ), expected AND, OR"},
    {"WQL", "SELECT * FROM X WHERE A = 'abc", "column 27: unterminated string literal"},
    {"WQL", "SELECT * FROM X WHERE A = 18446744073709551616",
     "column 27: integer literal 18446744073709551616 is out of the 64-bit range"},
    {"WQL", "SELECT * FROM X WHERE A = -9223372036854775809",
     "column 27: integer literal -9223372036854775809 is out of the 64-bit range"},
    {"WQL", "SELECT * FROM X WHERE A = 0x",
     "column 27: malformed or out-of-range hexadecimal literal"},
    {"WQL", "SELECT * FROM X WHERE A = 12ab", "column 27: malformed number"},
    {"WQL", "SELECT * FROM X WHERE A = @", "column 27: unexpected character '@'"},
    {"WQL", "SELECT * FROM X WHERE A IS 5",
     "column 28: unexpected 5, expected NULL or NOT NULL after IS"},
    {"WQL", "SELECT * FROM X WHERE A IS NOT 5",
     "column 32: unexpected 5, expected NULL after IS NOT"},
    {"WQL", "SELECT * FROM X WHERE A < NULL",
     "column 25: NULL can only be compared with =, <> or IS"},
    {"WQL", "SELECT * FROM X WHERE NULL = NULL", "column 28: NULL compared with NULL"},
    {"WQL", "SELECT * FROM X WHERE A LIKE 5",
     "column 30: unexpected 5, expected a string pattern after LIKE"},
    {"WQL", "SELECT * FROM X WHERE 'a' LIKE 'b'", "column 23: LIKE needs a property on its left"},
    {"WQL", "SELECT * FROM X WHERE A LIKE '[ab'", "column 30: unterminated '[' set"},
    {"WQL", "SELECT * FROM X WHERE A LIKE 'a' ESCAPE '!'",
     "column 34: LIKE ... ESCAPE is not supported"},
    {"WQL", "SELECT * FROM X WHERE A ISA",
     "column 28: unexpected end of query, expected a class name after ISA"},
    {"WQL", "SELECT * FROM X WHERE 5 ISA 'Y'", "column 23: ISA needs a property"},
    {"WQL", "SELECT * FROM X WHERE __SERVER = 'h'",
     "column 23: system property __SERVER is not supported"},
    {"WQL", "SELECT * FROM X WHERE __THIS = 'h'", "column 30: __THIS can only be used with ISA"},
    {"WQL", "SELECT * FROM X WHERE A = ANY (1)", "column 27: array quantifiers"},
    {"WQL", "SELECT * FROM X WHERE A = 1;", "column 28: ';' is not allowed"},
    {"WQL", "SELECT * FROM X WHERE A = {X.a=1}", "column 27: object path literals are only valid"},
    {"WQL", "ASSOCIATORS {X.a=1}", "column 13: unexpected {X.a=1}, expected OF"},
    {"WQL", "ASSOCIATORS OF X", "column 16: unexpected X, expected an object path in braces"},
    {"WQL", "ASSOCIATORS OF {X.a=1", "column 16: unterminated object path"},
    {"WQL", "ASSOCIATORS OF {X.a=}", "column 16: invalid object path {X.a=}"},
    {"WQL", "ASSOCIATORS OF {X.a=1} AssocClass = Y",
     "column 24: unexpected AssocClass, expected WHERE"},
    {"WQL", "ASSOCIATORS OF {X.a=1} WHERE AssocClass Y",
     "column 41: unexpected Y, expected '=' after AssocClass"},
    {"WQL", "ASSOCIATORS OF {X.a=1} WHERE AssocClass =",
     "column 42: unexpected end of query, expected a name after AssocClass ="},
    {"WQL", "ASSOCIATORS OF {X.a=1} WHERE AssocClass = A AssocClass = B",
     "column 45: AssocClass is given twice"},
    {"WQL", "ASSOCIATORS OF {X.a=1} WHERE KeysOnly KeysOnly", "column 39: KeysOnly is given twice"},
    {"WQL", "ASSOCIATORS OF {X.a=1} WHERE AssocClass = A AND ResultClass = B",
     "column 45: the WHERE keywords of ASSOCIATORS OF are separated by blanks, not AND"},
    {"WQL", "ASSOCIATORS OF {X.a=1} WHERE Foo = B",
     "column 30: unknown ASSOCIATORS OF keyword 'Foo'"},
    {"WQL", "ASSOCIATORS OF {X.a=1} WHERE ClassDefsOnly SchemaOnly",
     "ClassDefsOnly and SchemaOnly cannot be combined"},
    {"WQL", "ASSOCIATORS OF {X.a=1} WHERE KeysOnly ClassDefsOnly", "KeysOnly cannot be combined"},
    {"WQL", "REFERENCES OF {X.a=1} WHERE AssocClass = A",
     "column 29: AssocClass is not valid in REFERENCES OF"},
    {"WQL", "REFERENCES OF {X.a=1} WHERE ResultRole = A",
     "column 29: ResultRole is not valid in REFERENCES OF"},
    {"WQL", "REFERENCES OF {X.a=1} WHERE RequiredAssocQualifier = A",
     "column 29: RequiredAssocQualifier is not valid"},
    {"DMTF:CQL", "ASSOCIATORS OF {X.a=1}",
     "CQL query, column 1: ASSOCIATORS OF and REFERENCES OF are WQL"},
    {"DMTF:CQL", "SELECT * FROM X WHERE A || 'b' = 'ab'",
     "CQL query, column 25: string concatenation"},
    {"DMTF:CQL", "SELECT * FROM X WHERE A = #'x'", "CQL query, column 27: CQL symbolic constants"},
    {"DMTF:CQL", "SELECT * FROM X WHERE A LIKE '*a'",
     "CQL query, column 30: '*' in a LIKE pattern must follow"},
    {"DMTF:CQL", "SELECT cs.Name FROM X AS y",
     "CQL query, column 8: 'cs.Name': embedded-object property access is not supported"},
    {"DMTF:CQL", "SELECT * FROM X AS x WHERE x.A.B = 1",
     "CQL query, column 31: embedded-object property access"},
    {"DMTF:CQL", "SELECT * FROM X WHERE ANY x IN A SATISFIES (x = 1)",
     "CQL query, column 23: array quantifiers"},
    {"DMTF:CQL", "SELECT * FROM X WHERE A = 102b", "CQL query, column 27: malformed number"},
};

}  // namespace

TEST_CASE(
    "query parser: every syntax error and unsupported construct is INVALID_QUERY with its column",
    "[cimom][query]") {
  for (const auto& c : error_cases) {
    INFO(c.lang << ": " << c.text);
    const auto q = parse_query(c.lang, c.text);
    REQUIRE_FALSE(q);
    CHECK(q.error().code == errc::invalid_query);
    CHECK_THAT(q.error().description, Catch::Contains(c.message));
  }
}

TEST_CASE("query parser: deeply nested parentheses are refused and long input does not crash",
          "[cimom][query]") {
  const auto nested = [](int depth, const char* open) {
    std::string text = "SELECT * FROM X WHERE ";
    for (int i = 0; i < depth; ++i) {
      text += open;
    }
    text += "A = 1";
    if (std::string_view(open) == "(") {
      text += std::string(static_cast<std::size_t>(depth), ')');
    }
    return text;
  };
  CHECK(parse_query("WQL", nested(100, "(")));
  CHECK(parse_query("WQL", nested(100, "NOT ")));
  // Deeper nesting would let a hostile query exhaust the stack; it is refused instead.
  for (const char* open : {"(", "NOT "}) {
    const auto deep = parse_query("WQL", nested(100000, open));
    REQUIRE_FALSE(deep);
    CHECK(deep.error().code == errc::invalid_query);
    CHECK_THAT(deep.error().description, Catch::Contains("nested more than 100 levels deep"));
  }
  std::string chain = "SELECT * FROM X WHERE A = 0";
  for (int i = 0; i < 2000; ++i) {
    chain += " OR A = " + std::to_string(i);
  }
  CHECK(parse_query("WQL", chain));
}

TEST_CASE("query parser: random queries parse or fail cleanly, and evaluate without crashing",
          "[cimom][query]") {
  // Deterministic fuzzing: random WHERE clauses from the grammar, a third of them then mutated
  // (a character dropped or a stray token inserted). Every text either parses or is
  // INVALID_QUERY with a column, and every parsed query evaluates to a bool or an
  // INVALID_QUERY / INVALID_CLASS error. Most value under ASan/UBSan.
  static constexpr std::string_view operands[] = {"A",
                                                  "B",
                                                  "C",
                                                  "__CLASS",
                                                  "'s'",
                                                  "\"S\"",
                                                  "1",
                                                  "-5",
                                                  "2.5",
                                                  "0x1F",
                                                  "TRUE",
                                                  "NULL",
                                                  "'20240101000000.000000+000'",
                                                  "18446744073709551615",
                                                  "-9223372036854775808",
                                                  "x.A",
                                                  "X::B",
                                                  "__PATH",
                                                  "'X.k=1'"};
  static constexpr std::string_view ops[] = {"=", "<>", "!=", "<", ">", "<=", ">="};
  static constexpr std::string_view stray[] = {
      "(", ")", "'",  "AND", "OR", "NOT",  "[",   "*",    ",",  "{X.k=1}", "ORDER BY A", "COUNT(",
      "#", ";", "::", ".",   "IS", "LIKE", "ISA", "101b", "\\", "\"",      "-",          "1e999"};
  std::uint64_t seed = 0x9E3779B97F4A7C15ull;
  const auto next = [&seed](std::uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed % n;
  };
  const auto pick = [&](const auto& arr) { return std::string(arr[next(std::size(arr))]); };
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    switch (depth > 3 ? 0 : next(6)) {
      case 1: return "NOT " + gen(depth + 1);
      case 2: return "(" + gen(depth + 1) + ")";
      case 3: return gen(depth + 1) + " AND " + gen(depth + 1);
      case 4: return gen(depth + 1) + " OR " + gen(depth + 1);
      default: break;
    }
    switch (next(4)) {
      case 0: return pick(operands) + (next(2) ? " IS NULL" : " IS NOT NULL");
      case 1: return pick(operands) + (next(2) ? " LIKE '[a-z]%'" : " NOT LIKE 's.*'");
      case 2: return pick(operands) + " ISA " + (next(2) ? "'X'" : "Y");
      default: return pick(operands) + " " + pick(ops) + " " + pick(operands);
    }
  };
  instance inst("X");
  inst.set("A", value("s")).set("B", value(scalar(std::uint32_t{1})));
  class_repository repo;
  std::size_t parsed = 0;
  std::size_t refused = 0;
  for (int n = 0; n < 2000; ++n) {
    std::string text = "SELECT * FROM X AS x WHERE " + gen(0);
    if (next(3) == 0) {
      const std::size_t at = next(text.size());
      if (next(2) == 0) {
        text.erase(at, 1);
      } else {
        text.insert(at, " " + pick(stray) + " ");
      }
    }
    for (const char* lang : {"WQL", "DMTF:CQL"}) {
      const auto q = parse_query(lang, text);
      if (!q) {
        INFO(lang << ": " << text);
        CHECK(q.error().code == errc::invalid_query);
        CHECK(q.error().description.find("column ") != std::string::npos);
        ++refused;
        continue;
      }
      ++parsed;
      const auto r = q->matches(inst, repo, "root/test");
      if (!r) {
        INFO(lang << ": " << text);
        CHECK((r.error().code == errc::invalid_query || r.error().code == errc::invalid_class));
      }
      const auto v = q->validate(repo, "root/test");  // X is not in the empty repository
      CHECK((!v && v.error().code == errc::invalid_class));
    }
  }
  // Both paths are exercised in earnest.
  CHECK(parsed > 1000);
  CHECK(refused > 300);
}
