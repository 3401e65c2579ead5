// The external MOF suites (../shared/schema): the complete DMTF CIM Schema 2.41, OpenPegasus's
// compiler tests and pywbemtools' mock models. What each suite needs before its files compile:
//   - DMTF 2.41: nothing; cim_schema_2.41.0.mof includes its own qualifier declarations.
//   - OpenPegasus invalidMOF: most files stand alone (they declare what they use, or fail in
//     the parser); InstAliasError*.mof run after the DMTF qualifiers, as cimmofl runs them
//     against a repository that has them.
//   - OpenPegasus cmdline: compiled in result.master's order into one namespace that already
//     holds the full DMTF schema (ValidMof2 uses ValidMof1's class; assoc_1557 uses
//     CIM_SubProfileRequiresProfile).
//   - OpenPegasus tests/: CompAssoc after the DMTF qualifiers, InstAlias after the full schema
//     (CIM_RegisteredProfile), qualifierDecl alone.
//   - pywbemtools: each model alone (they declare their qualifiers), except the two that extend
//     DMTF classes (cimstatisticaldatainstances, PG_Namespace), compiled after the full schema.

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>

#include "cimom/mof/compiler.hpp"

using namespace vsnapd::cim;
namespace fs = std::filesystem;

namespace {

const std::string shared_schema = VSNAPD_SOURCE_DIR "/../shared/schema";
const std::string dmtf_dir = shared_schema + "/dmtf-cim-2.41/CIM241/DMTF";
const std::string dmtf_schema = dmtf_dir + "/cim_schema_2.41.0.mof";
const std::string pegasus = shared_schema + "/mof-tests-openpegasus/pegasus/src/Pegasus/Compiler";
const std::string pywbem = shared_schema + "/mof-tests-pywbemtools/tests";

enum class needs { nothing, qualifiers, schema };

std::string diag_text(const mof::compiler& c) {
  std::string out;
  for (const auto& d : c.diags().all()) {
    out += mof::format(d, c.sources()) + "\n";
  }
  return out;
}

// Loads what a suite needs into `ns` of `repo` with a separate compiler, so the case's
// compiler reports only the case's own diagnostics.
void load_prerequisites(class_repository& repo, needs n, const std::string& ns) {
  if (n == needs::nothing) {
    return;
  }
  mof::compiler pre(repo, {{}, ns});
  if (n == needs::schema) {
    REQUIRE(pre.compile_file(dmtf_schema));
  } else {
    REQUIRE(pre.compile_file(dmtf_dir + "/qualifiers.mof"));
    REQUIRE(pre.compile_file(dmtf_dir + "/qualifiers_optional.mof"));
  }
}

// One expected outcome: accepted (no error), or the first diagnostic of the given severity at
// the given line containing the given text.
struct expectation {
  const char* file;
  needs prerequisites;
  bool accepted;
  mof::severity level;
  std::uint32_t line;
  const char* message;
};

void check_case(const std::string& dir, const expectation& e) {
  INFO(e.file);
  class_repository repo;
  load_prerequisites(repo, e.prerequisites, "root/cimv2");
  mof::compiler c(repo);
  const bool ok = c.compile_file(dir + "/" + e.file);
  INFO(diag_text(c));
  CHECK(ok == e.accepted);
  if (e.message == nullptr) {
    CHECK(c.diags().all().empty());
    return;
  }
  const auto& all = c.diags().all();
  const auto it = std::find_if(all.begin(), all.end(),
                               [&](const mof::diagnostic& d) { return d.level == e.level; });
  REQUIRE(it != all.end());
  CHECK(it->where.line == e.line);
  CHECK_THAT(it->message, Catch::Contains(e.message));
}

// Every .mof file of a directory must have a row, so a new file is never skipped silently.
void check_directory_covered(const std::string& dir, const std::vector<expectation>& rows) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".mof") {
      continue;
    }
    const std::string name = entry.path().filename().string();
    INFO(name);
    CHECK(std::any_of(rows.begin(), rows.end(),
                      [&](const expectation& e) { return name == e.file; }));
  }
}

constexpr auto err = mof::severity::error;
constexpr auto warn = mof::severity::warning;

}  // namespace

TEST_CASE("suites: the DMTF CIM schema 2.41 compiles without a diagnostic",
          "[cimom][mof][suites][slow]") {
  class_repository repo;
  mof::compiler c(repo);
  const bool ok = c.compile_file(dmtf_schema);
  INFO(diag_text(c));
  REQUIRE(ok);
  CHECK(c.diags().all().empty());
  CHECK(c.classes_added() == 1438);
  CHECK(repo.classes("root/cimv2").size() == 1438);
  CHECK(repo.qualifier_decls("root/cimv2").size() >= 70);

  // Resolution spot checks on well-known classes.
  const class_decl* cs = repo.find_class("root/cimv2", "CIM_ComputerSystem");
  REQUIRE(cs != nullptr);
  CHECK(repo.is_a("root/cimv2", "CIM_ComputerSystem", "CIM_ManagedElement"));
  const property_decl* name = cs->property("Name");
  REQUIRE(name != nullptr);
  CHECK(name->is_key());
  CHECK(name->class_origin == "CIM_ManagedSystemElement");  // CIM_System overrides it
  CHECK(name->propagated);                                  // CIM_ComputerSystem does not
  const property_decl* sys_name = repo.find_class("root/cimv2", "CIM_System")->property("Name");
  CHECK_FALSE(sys_name->propagated);
  CHECK(sys_name->is_key());
  CHECK(sys_name->qualifiers.find("Override") != nullptr);
  const property_decl* caption = cs->property("Caption");
  REQUIRE(caption != nullptr);
  CHECK(caption->propagated);
  CHECK(caption->class_origin == "CIM_ManagedElement");
  CHECK(cs->keys().size() == 2);
  CHECK(cs->qualifiers.find("Abstract") == nullptr);  // Restricted: not inherited

  const class_decl* assoc = repo.find_class("root/cimv2", "CIM_SystemDevice");
  REQUIRE(assoc != nullptr);
  CHECK(assoc->is_association());
  CHECK(assoc->references().size() == 2);
  const class_decl* ind = repo.find_class("root/cimv2", "CIM_InstModification");
  REQUIRE(ind != nullptr);
  CHECK(ind->is_indication());
  const class_decl* job = repo.find_class("root/cimv2", "CIM_ConcreteJob");
  REQUIRE(job != nullptr);
  const method_decl* kill = job->method("GetError");
  REQUIRE(kill != nullptr);
  REQUIRE(kill->parameters.size() == 1);
  CHECK(kill->parameters[0].type == cim_type::object);
  CHECK(kill->parameters[0].embedded_class == "CIM_Error");
}

TEST_CASE("suites: OpenPegasus invalidMOF cases are rejected as result.master expects",
          "[cimom][mof][suites]") {
  // Lines are result.master's. badQualifierDecl4/14 say in their own comment that they are
  // legal (extra spaces); the two pragma cases are warnings there too.
  const std::vector<expectation> rows = {
      {"badQualifierDecl1.mof", needs::nothing, false, err, 4, "found 'badFlavorKeyword'"},
      {"badQualifierDecl2.mof", needs::nothing, false, err, 4,
       "expected ',' or ')' in the flavor list, found 'Restricted'"},
      {"badQualifierDecl3.mof", needs::nothing, false, err, 4,
       "expected a flavor (EnableOverride, DisableOverride, ToSubclass, Restricted or "
       "Translatable), found ')'"},
      {"badQualifierDecl4.mof", needs::nothing, true, err, 0, nullptr},
      {"badQualifierDecl5.mof", needs::nothing, false, err, 4,
       "expected ',' or ')' in the flavor list, found ';'"},
      {"badQualifierDecl6.mof", needs::nothing, false, err, 4,
       "expected a flavor (EnableOverride, DisableOverride, ToSubclass, Restricted or "
       "Translatable), found ')'"},
      {"badQualifierDecl10.mof", needs::nothing, false, err, 3, "found 'badScopeKeyword'"},
      {"badQualifierDecl11.mof", needs::nothing, false, err, 3,
       "expected a scope (class, association, indication, qualifier, property, reference, method, "
       "parameter or any), found ')'"},
      {"badQualifierDecl12.mof", needs::nothing, false, err, 3,
       "expected ',' or ')' in the scope list, found 'association'"},
      {"badQualifierDecl13.mof", needs::nothing, false, err, 3,
       "expected a scope (class, association, indication, qualifier, property, reference, method, "
       "parameter or any), found ')'"},
      {"badQualifierDecl14.mof", needs::nothing, true, err, 0, nullptr},
      {"badQualifierDecl15.mof", needs::nothing, false, err, 4,
       "expected a scope (class, association, indication, qualifier, property, reference, method, "
       "parameter or any), found 'Flavor'"},
      {"badQualifierDecl16.mof", needs::nothing, false, err, 3,
       "expected a scope (class, association, indication, qualifier, property, reference, method, "
       "parameter or any), found ')'"},
      {"badQualifierDecl20.mof", needs::nothing, false, err, 3,
       "a scope definition is required), found 'Flavor'"},
      {"badQualifierDef1.mof", needs::nothing, false, err, 12,
       "expected a boolean value for qualifier 'Static', found a string"},
      {"badQualifier1.mof", needs::nothing, false, err, 12,
       "expected a boolean value for qualifier 'Static', found a string"},
      {"badClassDefinition1.mof", needs::nothing, false, err, 1,
       "unterminated comment: expected '*/'"},
      {"InstAliasError.mof", needs::qualifiers, false, err, 33,
       "instance of unknown class 'NoClass'"},
      {"InstAliasError2.mof", needs::qualifiers, false, err, 31, "instance of unknown class 'X'"},
      {"InstAliasError3.mof", needs::qualifiers, false, err, 31, "instance of unknown class 'X'"},
      {"InvalidPragma1.mof", needs::nothing, true, warn, 2, "unknown pragma 'junkname'"},
      {"InvalidPragma2.mof", needs::nothing, true, warn, 1,
       "pragma locale value \"junkvalue\" is not a locale"},
  };
  const std::string dir = pegasus + "/tests/invalidMOF";
  check_directory_covered(dir, rows);
  for (const auto& r : rows) {
    check_case(dir, r);
  }
}

TEST_CASE("suites: OpenPegasus valid cases compile in sequence", "[cimom][mof][suites][slow]") {
  class_repository repo;
  load_prerequisites(repo, needs::schema, "test");
  mof::compiler c(repo, {{}, "test"});
  const std::string dir = pegasus + "/cmdline/tests";
  // result.master's order first; then the files it does not run.
  for (const char* f : {"ValidMof1.mof", "ValidMof2.mof", "ValidMof3.mof", "ValidMof4.mof",
                        "ValidMof4a.mof", "ValidMof4b.mof", "ValidMof5.mof", "ValidMof6.mof",
                        "ValidMof7.mof", "ValidMof8.mof", "Char16.mof", "assoc_1557.mof"}) {
    INFO(f);
    CHECK(c.compile_file(dir + "/" + f));
  }
  INFO(diag_text(c));
  CHECK(c.diags().error_count() == 0);
  // ValidMof4a sets s2 twice and ValidMof4b uses escapes DSP0004 does not define.
  CHECK(c.diags().warning_count() == 4);
  CHECK(c.classes_added() == 15);
  CHECK(c.instances().size() == 26);

  // The negative case of that directory, against the DMTF qualifiers only.
  check_case(dir, {"InvalidMof1.mof", needs::qualifiers, false, err, 32,
                   "qualifier 'nokey' is not declared"});
}

TEST_CASE("suites: OpenPegasus compiler test models compile", "[cimom][mof][suites][slow]") {
  {
    class_repository repo;
    load_prerequisites(repo, needs::qualifiers, "root/cimv2");
    mof::compiler c(repo);
    CHECK(c.compile_file(pegasus + "/tests/CompAssoc/CompAssoc.mof"));
    INFO(diag_text(c));
    CHECK(c.diags().all().empty());
    CHECK(c.instances().size() == 3);
  }
  {
    class_repository repo;
    load_prerequisites(repo, needs::schema, "root/cimv2");
    mof::compiler c(repo);
    CHECK(c.compile_file(pegasus + "/tests/InstAlias/InstAlias.mof"));
    INFO(diag_text(c));
    CHECK(c.diags().all().empty());
    // Association instances refer to the aliased instances by their key paths.
    const auto& insts = c.instances();
    const auto a = std::find_if(insts.begin(), insts.end(), [](const mof::compiled_instance& i) {
      return i.alias == "A_Alias";
    });
    REQUIRE(a != insts.end());
    const value* left = a->value.get("left");
    REQUIRE(left != nullptr);
    REQUIRE(left->get_if<reference>() != nullptr);
    CHECK((*left->get_if<reference>())->class_name() == "X");
  }
  {
    class_repository repo;
    mof::compiler c(repo);
    CHECK(c.compile_file(pegasus + "/tests/qualifierDecl/testqualifiers.mof"));
    CHECK(c.diags().all().empty());
    CHECK(repo.qualifier_decls("root/cimv2").size() == 8);
  }
}

TEST_CASE("suites: pywbemtools models are accepted or rejected with a reason",
          "[cimom][mof][suites][slow]") {
  // Four files are rejected. mof_with_error.mof is meant to fail. mock_subscriptiontest.mof
  // writes unquoted names as property values (not MOF; pywbemtools loads it for error paths).
  // complex_assoc_model.mof puts Override("Initiator") in a class without a superclass and
  // qualifier_filter_model.mof declares IndicationName twice in one class: both break DSP0004
  // rules this compiler enforces (pywbem's compiler does not check them).
  const std::vector<expectation> rows = {
      {"all_types.mof", needs::nothing, true, err, 0, nullptr},
      {"cimstatisticaldatainstances.mof", needs::schema, true, err, 0, nullptr},
      {"complex_assoc_model.mof", needs::nothing, false, err, 74,
       "has Override(\"Initiator\") but class 'TST_A3Sub' has no superclass"},
      {"empty_mock_model.mof", needs::nothing, true, err, 0, nullptr},
      {"mock_interop.mof", needs::nothing, true, err, 0, nullptr},
      {"mock_subscriptiontest.mof", needs::nothing, false, err, 22,
       "expected a value (number, string, char16, TRUE, FALSE, NULL, $alias or {array}), found "
       "'CIM_ComputerSystem'"},
      {"mof_with_error.mof", needs::nothing, false, err, 2, "found 'badtypedef'"},
      {"one_class_mock.mof", needs::nothing, true, err, 0, nullptr},
      {"qualifier_filter_model.mof", needs::nothing, false, err, 159,
       "property 'IndicationName' is declared twice in class 'EXP_TestExperimental1'"},
      {"simple_assoc_mock_model.mof", needs::nothing, true, err, 0, nullptr},
      {"simple_foo_mock_model.mof", needs::nothing, true, warn, 182,
       "alias $foo3 is defined again"},
      {"simple_instance_tablefmt_test.mof", needs::nothing, true, err, 0, nullptr},
      {"simple_mock_model.mof", needs::nothing, true, warn, 179, "alias $foo3 is defined again"},
      {"tree_test_mock_model.mof", needs::nothing, true, err, 0, nullptr},
  };
  const std::string dir = pywbem + "/unit/pywbemcli";
  check_directory_covered(dir, rows);
  for (const auto& r : rows) {
    check_case(dir, r);
  }
  check_case(pywbem + "/schema/OpenPegasus",
             {"PG_Namespace.mof", needs::schema, true, err, 0, nullptr});
}
