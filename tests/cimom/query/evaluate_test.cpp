#include "cimom/class_repository.hpp"
#include "cimom/query/query.hpp"
#include "tests/cimom/query/catch_result.hpp"
#include "tests/cimom/query/query_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

using namespace vsnapd::cim;
using vsnapd::cim::test::query_ns;

namespace {

struct eval_fixture {
  std::unique_ptr<class_repository> repo = test::make_query_repository();

  // Evaluates `where` in `lang` over Q_Base against `inst`; the query must parse and evaluate.
  bool where(const instance& inst, const std::string& cond, const char* lang = "WQL") const {
    INFO(lang << " WHERE " << cond);
    const auto q = parse_query(lang, "SELECT * FROM Q_Base WHERE " + cond);
    REQUIRE(q);
    const auto r = q->matches(inst, *repo, query_ns);
    if (!r) {
      FAIL_CHECK(r.error().description);
      return false;
    }
    return *r;
  }

  // The evaluation error of `cond`, which must parse.
  error eval_error(const instance& inst, const std::string& cond, const char* lang = "WQL") const {
    INFO(lang << " WHERE " << cond);
    const auto q = parse_query(lang, "SELECT * FROM Q_Base WHERE " + cond);
    REQUIRE(q);
    const auto r = q->matches(inst, *repo, query_ns);
    REQUIRE_FALSE(r);
    return r.error();
  }
};

instance sample(std::string cls = "Q_Base") {
  instance i(std::move(cls));
  i.set("Name", value("vm-01"));
  i.set("Caption", value("Test VM"));
  i.set("U8", value(scalar(std::uint8_t{255})));
  i.set("S8", value(scalar(std::int8_t{-128})));
  i.set("U16", value(scalar(std::uint16_t{65535})));
  i.set("S16", value(scalar(std::int16_t{-32768})));
  i.set("U32", value(scalar(std::uint32_t{4294967295u})));
  i.set("S32", value(scalar(std::int32_t{-7})));
  i.set("U64", value(scalar(std::numeric_limits<std::uint64_t>::max())));
  i.set("S64", value(scalar(std::numeric_limits<std::int64_t>::min())));
  i.set("R32", value(scalar(1.5f)));
  i.set("R64", value(scalar(-2.25)));
  i.set("Flag", value(scalar(true)));
  i.set("Letter", value(scalar(char16_t{'Q'})));
  i.set("When", value(scalar(*datetime::parse("20240102030405.000000+060"))));
  i.set("Span", value(scalar(*datetime::parse("00000001000000.000000:000"))));
  i.set("Parent",
        value(scalar(std::make_shared<const object_path>(
            "root/test", "Q_Base", std::vector<key_binding>{{"Name", value("parent")}}))));
  i.set("Tags",
        value::array(cim_type::string, {scalar(std::string("a")), scalar(std::string("b"))}));
  i.set("Emb", value::null(cim_type::object));
  return i;
}

}  // namespace

TEST_CASE_METHOD(eval_fixture,
                 "query evaluate: string comparisons, WQL case-insensitive and CQL case-sensitive",
                 "[cimom][query][evaluate]") {
  const instance i = sample();
  CHECK(where(i, "Name = 'vm-01'"));
  CHECK(where(i, "Name = \"VM-01\""));
  CHECK(where(i, "'VM-01' = Name"));
  CHECK_FALSE(where(i, "Name = 'vm-02'"));
  CHECK(where(i, "Name <> 'vm-02'"));
  CHECK(where(i, "Name != 'vm-02'"));
  CHECK(where(i, "Name < 'vm-02'"));
  CHECK(where(i, "Name > 'VM-00'"));
  CHECK(where(i, "Name >= 'VM-01'"));
  CHECK(where(i, "Name <= 'vm-01'"));
  CHECK_FALSE(where(i, "Name < 'vm-01'"));
  CHECK(where(i, "Name = 'vm-01'", "DMTF:CQL"));
  CHECK_FALSE(where(i, "Name = 'VM-01'", "DMTF:CQL"));
  CHECK(where(i, "Name <> 'VM-01'", "DMTF:CQL"));
  CHECK(where(i, "Name > 'VM-01'", "DMTF:CQL"));  // 'v' sorts after 'V' in code point order
  CHECK(where(i, "Caption = 'Test VM'"));
  CHECK(where(i, "Name <> Caption"));  // property against property
  CHECK(where(i, "Name = Name"));
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: string literals resolve backslash escapes",
                 "[cimom][query][evaluate]") {
  instance i = sample();
  i.set("Caption", value("It's \"quoted\" C:\\dir"));
  CHECK(where(i, "Caption = 'It\\'s \"quoted\" C:\\\\dir'"));
  CHECK(where(i, "Caption = \"It's \\\"quoted\\\" C:\\\\dir\""));
  CHECK_FALSE(where(i, "Caption = 'It\\'s \"quoted\" C:\\dir'"));  // a lone \d is just d
  CHECK(where(i, "Caption LIKE '%C:\\\\%'"));
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: integers of every width and sign, at their limits",
                 "[cimom][query][evaluate]") {
  const instance i = sample();
  CHECK(where(i, "U8 = 255"));
  CHECK(where(i, "U8 > 254"));
  CHECK_FALSE(where(i, "U8 = 256"));  // no wrap-around to 0
  CHECK(where(i, "U8 < 256"));
  CHECK(where(i, "S8 = -128"));
  CHECK(where(i, "S8 < -127"));
  CHECK(where(i, "U16 = 65535"));
  CHECK(where(i, "S16 = -32768"));
  CHECK(where(i, "U32 = 4294967295"));
  CHECK(where(i, "U32 = 0xFFFFFFFF"));
  CHECK(where(i, "S32 = -7"));
  CHECK(where(i, "U64 = 18446744073709551615"));
  CHECK(where(i, "U64 > 9223372036854775807"));
  CHECK(where(i, "U64 > -1"));  // unsigned max is not -1
  CHECK_FALSE(where(i, "U64 = -1"));
  CHECK(where(i, "S64 = -9223372036854775808"));
  CHECK(where(i, "S64 < 0"));
  CHECK(where(i, "S64 < U64"));  // sint64 min against uint64 max, property against property
  CHECK(where(i, "U64 > S64"));
  CHECK(where(i, "U8 > S8"));
  CHECK(where(i, "U32 = '4294967295'"));  // WMI converts a string literal to the property's type
  CHECK(where(i, "U8 = 255.0"));
  CHECK(where(i, "U8 < 255.5"));
  CHECK(where(i, "U64 = 0xFFFFFFFFFFFFFFFF"));
  CHECK(where(i, "U64 = 1111111111111111111111111111111111111111111111111111111111111111b",
              "DMTF:CQL"));
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: reals, including NaN", "[cimom][query][evaluate]") {
  instance i = sample();
  CHECK(where(i, "R32 = 1.5"));
  CHECK(where(i, "R32 > 1"));
  CHECK(where(i, "R64 = -2.25"));
  CHECK(where(i, "R64 < -2"));
  CHECK(where(i, "R64 >= -2.25e0"));
  CHECK(where(i, "R64 < R32"));
  i.set("R64", value(scalar(std::numeric_limits<double>::quiet_NaN())));
  CHECK_FALSE(where(i, "R64 = 1"));
  CHECK_FALSE(where(i, "R64 < 1"));
  CHECK_FALSE(where(i, "R64 >= 1"));
  CHECK(where(i, "R64 <> 1"));
  i.set("R64", value(scalar(9007199254740993.0)));  // 2^53 + 1 rounds to 2^53 as a double
  CHECK(where(i, "R64 = 9007199254740992"));
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: booleans, char16, datetimes and references",
                 "[cimom][query][evaluate]") {
  const instance i = sample();
  CHECK(where(i, "Flag = TRUE"));
  CHECK(where(i, "Flag = true"));
  CHECK_FALSE(where(i, "Flag = FALSE"));
  CHECK(where(i, "Flag <> FALSE"));
  CHECK(where(i, "Flag > FALSE"));
  CHECK(where(i, "Flag = 'true'"));
  CHECK(where(i, "Letter = 'Q'"));
  CHECK(where(i, "Letter = 'q'"));
  CHECK_FALSE(where(i, "Letter = 'q'", "DMTF:CQL"));
  // A timestamp compares as a time point: 03:04:05+060 is 02:04:05 UTC.
  CHECK(where(i, "When = '20240102030405.000000+060'"));
  CHECK(where(i, "When = '20240102020405.000000+000'"));
  CHECK(where(i, "When > '20240102020404.999999+000'"));
  CHECK(where(i, "When < '20240102030405.000000+000'"));
  CHECK(where(i, "Span = '00000001000000.000000:000'"));
  CHECK(where(i, "Span > '00000000235959.999999:000'"));
  CHECK(where(i, "Span < '00000002000000.000000:000'"));
  // '*' digits are insignificant: equal when the other digits agree, never ordered.
  CHECK(where(i, "When = '2024010203****.******+060'"));
  CHECK_FALSE(where(i, "When = '2024010204****.******+060'"));
  CHECK(where(i, "When <> '2024010204****.******+060'"));
  CHECK_FALSE(where(i, "When < '2024010204****.******+060'"));
  CHECK_FALSE(where(i, "When > '2024010202****.******+060'"));
  CHECK(where(i, "Parent = 'Q_Base.Name=\"parent\"'"));
  CHECK(where(i, "Parent = 'root/test:Q_Base.Name=\"parent\"'"));
  CHECK(where(i, "Parent = \"\\\\\\\\host\\\\root\\\\test:Q_Base.Name='parent'\""));
  CHECK_FALSE(where(i, "Parent = 'Q_Base.Name=\"other\"'"));
  CHECK(where(i, "Parent <> 'Q_Base.Name=\"other\"'"));
  CHECK_FALSE(where(i, "Parent = 'root/other:Q_Base.Name=\"parent\"'"));
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: NULL is unknown and IS NULL finds it",
                 "[cimom][query][evaluate]") {
  instance i = sample();
  i.set("Caption", value::null(cim_type::string));
  i.erase("U32");  // absent counts as NULL
  CHECK(where(i, "Caption IS NULL"));
  CHECK_FALSE(where(i, "Caption IS NOT NULL"));
  CHECK(where(i, "Caption = NULL"));
  CHECK(where(i, "NULL = Caption"));
  CHECK_FALSE(where(i, "Caption <> NULL"));
  CHECK(where(i, "U32 IS NULL"));
  CHECK(where(i, "Name IS NOT NULL"));
  CHECK_FALSE(where(i, "Caption = 'x'"));
  CHECK_FALSE(where(i, "Caption <> 'x'"));     // unknown, not true
  CHECK_FALSE(where(i, "NOT Caption = 'x'"));  // NOT unknown is unknown
  CHECK_FALSE(where(i, "NOT (Caption <> 'x')"));
  CHECK(where(i, "Caption = 'x' OR Name = 'vm-01'"));    // unknown OR true
  CHECK_FALSE(where(i, "Caption = 'x' OR Name = 'z'"));  // unknown OR false
  CHECK_FALSE(where(i, "Caption = 'x' AND Name = 'vm-01'"));
  CHECK_FALSE(where(i, "Caption LIKE '%'"));
  CHECK_FALSE(where(i, "U32 > 0"));
  CHECK(where(i, "Tags IS NOT NULL"));  // arrays can be tested for NULL
  CHECK(where(i, "Emb IS NULL"));
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: AND binds tighter than OR, NOT tighter than AND",
                 "[cimom][query][evaluate]") {
  const instance i = sample();
  // true OR (false AND false)
  CHECK(where(i, "Name = 'vm-01' OR Name = 'x' AND Flag = FALSE"));
  // (true OR false) AND false
  CHECK_FALSE(where(i, "(Name = 'vm-01' OR Name = 'x') AND Flag = FALSE"));
  // (NOT false) AND true
  CHECK(where(i, "NOT Name = 'x' AND Flag = TRUE"));
  // NOT (false AND true) = true; NOT false AND true = true; NOT true OR true = true
  CHECK(where(i, "NOT (Name = 'x' AND Flag = TRUE)"));
  CHECK_FALSE(where(i, "NOT Name = 'vm-01' AND Flag = TRUE"));
  CHECK(where(i, "NOT Name = 'vm-01' OR Flag = TRUE"));
  CHECK(where(i, "NOT NOT Name = 'vm-01'"));
  CHECK(where(i, "((Name = 'vm-01'))"));
  CHECK(where(i, "name = 'vm-01' and FLAG = true or u8 = 0"));  // keywords and names in any case
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: LIKE in WQL and CQL", "[cimom][query][evaluate]") {
  const instance i = sample();
  CHECK(where(i, "Name LIKE 'vm%'"));
  CHECK(where(i, "Name LIKE 'VM-__'"));
  CHECK(where(i, "Name LIKE '[tuv]m-0[0-9]'"));
  CHECK_FALSE(where(i, "Name LIKE 'vm'"));
  CHECK(where(i, "Name NOT LIKE 'x%'"));
  CHECK_FALSE(where(i, "Name NOT LIKE 'v%'"));
  CHECK(where(i, "NOT Name LIKE 'x%'"));
  CHECK(where(i, "Letter LIKE 'q'"));
  CHECK(where(i, "Name LIKE 'vm-0.'", "DMTF:CQL"));
  CHECK(where(i, "Name LIKE 'vm.*'", "DMTF:CQL"));
  CHECK_FALSE(where(i, "Name LIKE 'VM.*'", "DMTF:CQL"));
  CHECK_FALSE(where(i, "Name LIKE 'vm%'", "DMTF:CQL"));
  CHECK_THAT(eval_error(i, "U8 LIKE '2%'").description, Catch::Contains("LIKE needs a string"));
  CHECK_THAT(eval_error(i, "Tags LIKE 'a'").description, Catch::Contains("LIKE needs a string"));
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: ISA follows the repository's inheritance",
                 "[cimom][query][evaluate]") {
  const instance base = sample("Q_Base");
  const instance child = sample("Q_Child");
  const instance grand = sample("Q_GrandChild");
  CHECK(where(base, "__CLASS ISA 'Q_Base'"));
  CHECK_FALSE(where(base, "__CLASS ISA 'Q_Child'"));
  CHECK(where(child, "__CLASS ISA 'Q_Base'"));
  CHECK(where(grand, "__CLASS ISA 'Q_Child'"));
  CHECK(where(grand, "__THIS ISA 'q_base'"));
  CHECK_FALSE(where(grand, "__CLASS ISA 'Q_Other'"));
  CHECK(where(grand, "NOT __CLASS ISA 'Q_Other'"));
  CHECK(where(child, "__CLASS = 'Q_Child'"));
  CHECK_FALSE(where(grand, "__CLASS = 'Q_Child'"));
  // A reference property ISA the referenced class; an embedded instance ISA its class.
  CHECK(where(base, "Parent ISA 'Q_Base'"));
  CHECK_FALSE(where(base, "Parent ISA 'Q_Child'"));
  instance with_emb = sample();
  with_emb.set("Emb", value(scalar(std::make_shared<const instance>(sample("Q_GrandChild")))));
  CHECK(where(with_emb, "Emb ISA 'Q_Child'"));
  CHECK_FALSE(where(with_emb, "Emb ISA Q_Other"));
  CHECK_FALSE(where(base, "Emb ISA 'Q_Base'"));  // NULL embedded instance: unknown
  // CQL: the alias or class stands for the instance, the class is an identifier.
  const auto q = parse_query("DMTF:CQL", "SELECT * FROM Q_Base AS b WHERE b ISA Q_Child");
  REQUIRE(q);
  CHECK(*q->matches(child, *repo, query_ns));
  CHECK(*q->matches(grand, *repo, query_ns));
  CHECK_FALSE(*q->matches(base, *repo, query_ns));
  const auto q2 = parse_query("DMTF:CQL", "SELECT * FROM Q_Base WHERE Q_Base ISA Q_GrandChild");
  REQUIRE(q2);
  CHECK(*q2->matches(grand, *repo, query_ns));
  CHECK_FALSE(*q2->matches(child, *repo, query_ns));
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: CQL alias, class scope and Class::property",
                 "[cimom][query][evaluate]") {
  instance child = sample("Q_Child");
  child.set("ChildOnly", value("c"));
  instance base = sample("Q_Base");
  const auto q = parse_query(
      "DMTF:CQL",
      "SELECT b.Name FROM Q_Base AS b WHERE b.Name = 'vm-01' AND Q_Child::ChildOnly = 'c'");
  REQUIRE(q);
  CHECK(*q->matches(child, *repo, query_ns));
  CHECK_FALSE(*q->matches(base, *repo, query_ns));  // scoped property is NULL for a Q_Base
  const auto q2 = parse_query("DMTF:CQL", "SELECT * FROM Q_Base WHERE Q_Child::ChildOnly IS NULL");
  REQUIRE(q2);
  CHECK(*q2->matches(base, *repo, query_ns));
  const auto q3 = parse_query("DMTF:CQL", "SELECT * FROM Q_Base WHERE Q_Base.Name = 'vm-01'");
  REQUIRE(q3);
  CHECK(*q3->matches(base, *repo, query_ns));
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: WMI system properties",
                 "[cimom][query][evaluate]") {
  const instance grand = sample("Q_GrandChild");
  CHECK(where(grand, "__CLASS = 'Q_GrandChild'"));
  CHECK(where(grand, "__SUPERCLASS = 'Q_Child'"));
  CHECK(where(grand, "__DYNASTY = 'Q_Base'"));
  CHECK(where(sample(), "__SUPERCLASS IS NULL"));
  CHECK(where(grand, "__NAMESPACE = 'root\\\\test'"));
  CHECK(where(grand, "__RELPATH = 'Q_GrandChild.Name=\"vm-01\"'"));
  CHECK(where(grand, "__PATH = 'root/test:Q_GrandChild.Name=\"vm-01\"'"));
  CHECK(where(grand, "__GENUS = 2"));
  CHECK(where(grand, "__SUPERCLASS ISA 'Q_Base'"));
  const auto e = eval_error(instance("Q_Unknown"), "__SUPERCLASS = 'x'");
  CHECK(e.code == errc::invalid_class);
}

TEST_CASE_METHOD(eval_fixture,
                 "query evaluate: impossible comparisons are INVALID_QUERY, not false",
                 "[cimom][query][evaluate]") {
  instance i = sample();
  struct bad {
    const char* cond;
    const char* message;
  };
  const bad cases[] = {
      {"Tags = 'a'", "column 28: array property Tags cannot be compared"},
      {"U8 = 'abc'", "cannot compare property U8 (uint8) with literal 'abc' (string)"},
      {"Flag = 1", "cannot compare property Flag (boolean) with literal 1 (uint64)"},
      {"When = 'yesterday'", "cannot compare property When (datetime)"},
      {"When = Span", "cannot compare property When (datetime) with property Span"},
      {"Parent < 'Q_Base.Name=\"p\"'", "references can only be compared with = and <>"},
      {"U8 ISA 'Q_Base'", "ISA needs an embedded object, a reference or a class name"},
  };
  i.set("Emb", value(scalar(std::make_shared<const instance>(sample()))));
  for (const auto& c : cases) {
    const auto e = eval_error(i, c.cond);
    CHECK(e.code == errc::invalid_query);
    CHECK_THAT(e.description, Catch::Contains(c.message));
  }
  CHECK_THAT(eval_error(i, "Emb = 'x'").description, Catch::Contains("embedded objects"));
}

TEST_CASE_METHOD(eval_fixture,
                 "query validate: checks the query against the schema before evaluation",
                 "[cimom][query][evaluate]") {
  struct row {
    const char* text;
    errc code;
    const char* message;
  };
  const row rows[] = {
      {"SELECT * FROM Q_Base WHERE Name = 'x' AND U64 > 5 AND Parent = 'Q_Base.Name=\"p\"'",
       errc::ok, ""},
      {"SELECT Name, __PATH FROM Q_Base WHERE __CLASS ISA 'Q_Child' AND Emb ISA 'Q_Base'", errc::ok,
       ""},
      {"SELECT * FROM Q_Base WHERE When < '20240101000000.000000+000' AND Flag = TRUE", errc::ok,
       ""},
      {"SELECT * FROM Q_Base WHERE Q_Child::ChildOnly = 'c'", errc::ok, ""},
      {"SELECT * FROM Q_Base WHERE Tags IS NULL", errc::ok, ""},
      {"SELECT * FROM Q_Nope", errc::invalid_class,
       "class Q_Nope in the FROM clause does not exist"},
      {"SELECT Nope FROM Q_Base", errc::invalid_query,
       "class Q_Base has no property Nope (in the SELECT list)"},
      {"SELECT * FROM Q_Base WHERE Nope = 1", errc::invalid_query,
       "column 28: class Q_Base has no property Nope"},
      {"SELECT * FROM Q_Base WHERE ChildOnly = 'c'", errc::invalid_query,
       "class Q_Base has no property ChildOnly"},
      {"SELECT * FROM Q_Base WHERE Q_Nope::X = 'c'", errc::invalid_query,
       "class Q_Nope in Q_Nope::X does not exist"},
      {"SELECT * FROM Q_Base WHERE Q_Other::Name = 'c'", errc::invalid_query,
       "class Q_Other in Q_Other::Name is not a subclass of Q_Base"},
      {"SELECT * FROM Q_Base WHERE Tags = 'a'", errc::invalid_query,
       "array property Tags cannot be compared"},
      {"SELECT * FROM Q_Base WHERE U8 = 'abc'", errc::invalid_query,
       "does not convert to the type of property U8 (uint8)"},
      {"SELECT * FROM Q_Base WHERE Flag = 3", errc::invalid_query,
       "does not convert to the type of property Flag"},
      {"SELECT * FROM Q_Base WHERE When = 'soon'", errc::invalid_query,
       "'soon' is not a CIM datetime"},
      {"SELECT * FROM Q_Base WHERE U8 LIKE '1%'", errc::invalid_query,
       "LIKE needs a string, and property U8 is uint8"},
      {"SELECT * FROM Q_Base WHERE U8 ISA 'X'", errc::invalid_query,
       "ISA needs an embedded object or a reference"},
      {"SELECT * FROM Q_Base WHERE Emb = 'x'", errc::invalid_query, "embedded-object property Emb"},
      {"SELECT * FROM Q_Base WHERE Flag = When", errc::invalid_query,
       "cannot compare property Flag (boolean) with property When"},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    const auto q = parse_query("WQL", r.text);
    REQUIRE(q);
    const auto v = q->validate(*repo, query_ns);
    if (r.code == errc::ok) {
      CHECK(v);
    } else {
      REQUIRE_FALSE(v);
      CHECK(v.error().code == r.code);
      CHECK_THAT(v.error().description, Catch::Contains(r.message));
    }
  }
  const auto assoc = parse_query("WQL", "ASSOCIATORS OF {Q_Base.Name='x'}");
  REQUIRE(assoc);
  CHECK(assoc->validate(*repo, query_ns));
}

TEST_CASE_METHOD(eval_fixture, "query project: keeps the selected properties and the keys",
                 "[cimom][query][evaluate]") {
  const instance i = sample();
  const class_decl* cls = repo->find_class(query_ns, "Q_Base");
  REQUIRE(cls != nullptr);
  const auto q = parse_query("WQL", "SELECT caption, U8, __PATH FROM Q_Base");
  REQUIRE(q);
  const instance p = q->project(i, *cls);
  CHECK(p.class_name() == "Q_Base");
  REQUIRE(p.properties().size() == 3);
  CHECK(p.properties()[0].name == "Name");  // the key, so the path still works
  CHECK(p.properties()[1].name == "Caption");
  CHECK(p.properties()[2].name == "U8");
  CHECK(p.path(query_ns, *cls));
  const auto all = parse_query("DMTF:CQL", "SELECT b.* FROM Q_Base b");
  REQUIRE(all);
  CHECK(all->project(i, *cls) == i);
  const auto star = parse_query("WQL", "SELECT * FROM Q_Base");
  REQUIRE(star);
  CHECK(star->project(i, *cls) == i);
  CHECK(*star->matches(i, *repo, query_ns));  // no WHERE selects everything
}

// --- the queries real clients send -----------------------------------------------------------

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE_METHOD(eval_fixture, "query clients: the wsl Enumerate filter from the shared capture",
                 "[cimom][query][clients]") {
  const std::string capture =
      read_file(VSNAPD_SOURCE_DIR "/../shared/vectors/clients/wsl-enumerate-filter.txt");
  const std::string open = "<wsman:Filter Dialect=\"";
  const auto at = capture.find(open);
  REQUIRE(at != std::string::npos);
  const auto dialect_end = capture.find('"', at + open.size());
  const std::string dialect = capture.substr(at + open.size(), dialect_end - at - open.size());
  const auto body_start = capture.find('>', dialect_end) + 1;
  const std::string text =
      capture.substr(body_start, capture.find("</wsman:Filter>", body_start) - body_start);
  CHECK(text == "select * from CIM_ComputerSystem where Name='host1'");
  const auto lang = query_language_from_dialect(dialect);
  REQUIRE(lang == query_language::cql);
  const auto q = parse_query(*lang, text);
  REQUIRE(q);
  CHECK(q->from_class() == "CIM_ComputerSystem");
  class_repository r;
  REQUIRE(r.add_namespace("root/cimv2"));
  class_decl cs;
  cs.name = "CIM_ComputerSystem";
  cs.properties = {test::prop("CreationClassName", cim_type::string, true),
                   test::prop("Name", cim_type::string, true),
                   test::prop("ElementName", cim_type::string)};
  REQUIRE(r.add_class("root/cimv2", cs));
  CHECK(q->validate(r, "root/cimv2"));
  instance host1("CIM_ComputerSystem");
  host1.set("CreationClassName", value("CIM_ComputerSystem")).set("Name", value("host1"));
  instance host2 = host1;
  host2.set("Name", value("host2"));
  instance upper = host1;
  upper.set("Name", value("HOST1"));
  CHECK(*q->matches(host1, r, "root/cimv2"));
  CHECK_FALSE(*q->matches(host2, r, "root/cimv2"));
  CHECK_FALSE(*q->matches(upper, r, "root/cimv2"));  // CQL is case-sensitive
}

TEST_CASE("query clients: Hyper-V, libvirt and PowerShell WQL idioms parse",
          "[cimom][query][clients]") {
  // The snapshot idiom of ../shared/reference/snapshot-model.md section 2.3.
  const auto snap =
      parse_query("WQL",
                  "SELECT * FROM Msvm_VirtualSystemSettingData WHERE "
                  "VirtualSystemIdentifier='6B4D2F3E-0C2A-4F5C-9D1E-"
                  "0123456789AB' AND VirtualSystemType='Microsoft:Hyper-V:Snapshot:Realized'");
  REQUIRE(snap);
  CHECK(snap->from_class() == "Msvm_VirtualSystemSettingData");
  instance vssd("Msvm_VirtualSystemSettingData");
  vssd.set("VirtualSystemIdentifier", value("6b4d2f3e-0c2a-4f5c-9d1e-0123456789ab"));
  vssd.set("VirtualSystemType", value("Microsoft:Hyper-V:Snapshot:Realized"));
  class_repository empty;
  CHECK(*snap->matches(vssd, empty, "root/virtualization/v2"));  // GUIDs compare case-insensitively
  vssd.set("VirtualSystemType", value("Microsoft:Hyper-V:System:Realized"));
  CHECK_FALSE(*snap->matches(vssd, empty, "root/virtualization/v2"));

  // The PowerShell/VBScript idioms quoted in the same reference.
  CHECK(parse_query("WQL", "select * from Msvm_ComputerSystem where ElementName = 'vm1'"));
  CHECK(parse_query("WQL", "select * from Msvm_VirtualSystemManagementService"));
  const auto ps = parse_query(
      "WQL",
      "ASSOCIATORS OF {\\\\HV01\\root\\virtualization\\v2:Msvm_ComputerSystem.CreationClassName="
      "\"Msvm_ComputerSystem\",Name=\"6B4D2F3E\"} WHERE resultClass = "
      "Msvm_VirtualSystemsettingData");
  REQUIRE(ps);
  CHECK(ps->association().result_class == "Msvm_VirtualSystemsettingData");
  CHECK(ps->association().source.ns() == "root/virtualization/v2");

  // libvirt's hyperv driver (src/hyperv): ASSOCIATORS OF with AssocClass and ResultClass.
  const auto lv = parse_query(
      "WQL",
      "ASSOCIATORS OF "
      "{Msvm_ComputerSystem.CreationClassName=\"Msvm_ComputerSystem\",Name=\"6B4D2F3E\"} "
      "WHERE AssocClass = Msvm_SettingsDefineState ResultClass = Msvm_VirtualSystemSettingData");
  REQUIRE(lv);
  CHECK(lv->association().assoc_class == "Msvm_SettingsDefineState");
  CHECK(lv->association().result_class == "Msvm_VirtualSystemSettingData");
  CHECK(parse_query("WQL",
                    "SELECT * FROM Msvm_ComputerSystem WHERE Description = "
                    "\"Microsoft Hosting Computer System\""));
  // Get-CimInstance -ClassName X -Filter "..." -Property a,b builds this shape.
  const auto gci = parse_query("WQL",
                               "SELECT ElementName,EnabledState FROM Msvm_ComputerSystem WHERE "
                               "ElementName like 'web%' AND EnabledState = 2");
  REQUIRE(gci);
  CHECK(gci->selected_properties() == std::vector<std::string>{"ElementName", "EnabledState"});
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: throughput over 100,000 instances",
                 "[.][bench][cimom][query]") {
  // Manual: prints the per-instance cost of a typical client filter (run with "[bench]").
  const auto q = parse_query("WQL",
                             "SELECT * FROM Q_Base WHERE Name LIKE 'vm-%' AND U32 > 10 AND "
                             "(Flag = TRUE OR Caption IS NULL) AND __CLASS ISA 'Q_Base'");
  REQUIRE(q);
  std::vector<instance> items;
  for (int n = 0; n < 100000; ++n) {
    instance i = sample(n % 2 == 0 ? "Q_Base" : "Q_GrandChild");
    i.set("Name", value(scalar("vm-" + std::to_string(n))));
    i.set("U32", value(scalar(static_cast<std::uint32_t>(n))));
    items.push_back(std::move(i));
  }
  const auto start = std::chrono::steady_clock::now();
  std::size_t selected = 0;
  for (const auto& i : items) {
    selected += *q->matches(i, *repo, query_ns) ? 1 : 0;
  }
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  CHECK(selected == 100000 - 11);
  WARN("matches: " << ns / 100000 << " ns per instance, " << selected << " selected");
}

TEST_CASE_METHOD(eval_fixture, "query evaluate: one parsed query is evaluated from several threads",
                 "[cimom][query][evaluate]") {
  // The header promises that a parsed query is immutable; TSan checks the promise in CI.
  const auto q =
      parse_query("WQL",
                  "SELECT * FROM Q_Base WHERE Name LIKE 'vm-1%' AND __CLASS ISA 'Q_Base' "
                  "AND (U32 >= 100 OR Caption IS NULL)");
  REQUIRE(q);
  std::vector<instance> items;
  for (int n = 0; n < 400; ++n) {
    instance i = sample(n % 3 == 0 ? "Q_Child" : "Q_Base");
    i.set("Name", value(scalar("vm-" + std::to_string(n))));
    i.set("U32", value(scalar(static_cast<std::uint32_t>(n))));
    items.push_back(std::move(i));
  }
  std::vector<std::size_t> counts(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < counts.size(); ++t) {
    threads.emplace_back([&, t] {
      for (const auto& i : items) {
        const auto r = q->matches(i, *repo, query_ns);
        counts[t] += (r && *r) ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  // vm-1, vm-10..19, vm-100..199: 111 names; of those U32 >= 100 leaves vm-100..vm-199.
  for (const auto c : counts) {
    CHECK(c == 100);
  }
}
