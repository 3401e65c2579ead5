#include "cimom/mof/check_command.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using namespace vsnapd::cim::mof;
namespace fs = std::filesystem;

TEST_CASE("check_command: prints diagnostics, a class count and an exit status",
          "[cimom][mof][check_command]") {
  const fs::path dir =
      fs::temp_directory_path() / ("vsnapd-mofcheck-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "good.mof")
      << "Qualifier Key : boolean = false, Scope(property), Flavor(DisableOverride);\n"
         "class G_A { [Key] string Id; };\nclass G_B : G_A { };\ninstance of G_B { Id = \"x\"; "
         "};\n";
  std::ofstream(dir / "later.mof") << "class G_C : G_B { };\n#pragma junk (\"x\")\n";
  std::ofstream(dir / "bad.mof") << "class G_D : G_Nope { };\n";

  SECTION("clean files, a later one using an earlier one's classes") {
    std::ostringstream out;
    std::ostringstream diags;
    CHECK(run_check({(dir / "good.mof").string(), (dir / "later.mof").string()}, out, diags) == 0);
    CHECK(std::regex_match(
        out.str(),
        std::regex(
            R"(3 classes, 1 instances, 0 errors, 1 warnings \([0-9.]+ ms wall, [0-9.]+ ms cpu\)\n)")));
    CHECK(diags.str() == (dir / "later.mof").string() +
                             ":2:1: warning: unknown pragma 'junk' (expected include, namespace "
                             "or locale); ignored\n");
  }
  SECTION("errors make the status 1") {
    std::ostringstream out;
    std::ostringstream diags;
    CHECK(run_check({(dir / "bad.mof").string()}, out, diags) == 1);
    CHECK_THAT(out.str(), Catch::StartsWith("0 classes, 0 instances, 1 errors, 0 warnings"));
    CHECK_THAT(diags.str(),
               Catch::StartsWith((dir / "bad.mof").string() + ":1:13: error: superclass 'G_Nope'"));
  }
  SECTION("a missing file is an error, no file a usage error") {
    std::ostringstream out;
    std::ostringstream diags;
    CHECK(run_check({(dir / "absent.mof").string()}, out, diags) == 1);
    CHECK_THAT(diags.str(), Catch::Contains("absent.mof:0:0: error: cannot open MOF file"));
    CHECK(run_check({}, out, diags) == 2);
  }
  fs::remove_all(dir);
}
