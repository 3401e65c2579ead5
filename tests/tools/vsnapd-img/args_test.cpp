#include "tools/vsnapd-img/args.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace vsnapd::img {
namespace {

constexpr option_spec specs[] = {{'q', "", false},          {'f', "", true},
                                 {'b', "", true},           {'p', "", false},
                                 {'\0', "output", true},    {'\0', "backing-chain", false},
                                 {'\0', "repair", false, true}};

parse_outcome parse(std::vector<std::string_view> words) { return parse_args(words, specs); }

TEST_CASE("args: short options bundle, attach or take the next word", "[img_cli][args]") {
  const auto r = parse({"-qp", "-fqcow2", "-b", "base.qcow2", "top.qcow2"});
  REQUIRE(r.error.empty());
  CHECK(r.args.has("q"));
  CHECK(r.args.has("p"));
  CHECK(r.args.value("f") == "qcow2");
  CHECK(r.args.value("b") == "base.qcow2");
  CHECK(r.args.positional == std::vector<std::string>{"top.qcow2"});
}

TEST_CASE("args: long options with = or a separate value, anywhere on the line", "[img_cli][args]") {
  const auto r = parse({"a.qcow2", "--output=json", "--backing-chain", "--output", "human", "--repair"});
  REQUIRE(r.error.empty());
  CHECK(r.args.value("output") == "human");  // the last one wins
  CHECK(r.args.has("backing-chain"));
  CHECK(r.args.value("repair") == "");
  CHECK(r.args.positional == std::vector<std::string>{"a.qcow2"});
  CHECK(parse({"--repair=leaks"}).args.value("repair") == "leaks");
}

TEST_CASE("args: -- ends the options and - is a file name", "[img_cli][args]") {
  const auto r = parse({"-q", "--", "-f", "-"});
  REQUIRE(r.error.empty());
  CHECK_FALSE(r.args.has("f"));
  CHECK(r.args.positional == std::vector<std::string>{"-f", "-"});
  CHECK(parse({"-b", ""}).args.value("b") == "");  // rebase -b "" means no backing file
}

TEST_CASE("args: malformed command lines are refused with a message", "[img_cli][args]") {
  const struct {
    std::vector<std::string_view> words;
    const char* message;
  } rows[] = {
      {{"--frob"}, "unrecognized option '--frob'"},
      {{"-x"}, "invalid option -- 'x'"},
      {{"-qx"}, "invalid option -- 'x'"},
      {{"-f"}, "option requires an argument -- 'f'"},
      {{"--output"}, "option '--output' requires an argument"},
      {{"--backing-chain=yes"}, "option '--backing-chain' doesn't allow an argument"},
  };
  for (const auto& row : rows) {
    INFO(row.message);
    CHECK(parse(row.words).error == row.message);
  }
}

TEST_CASE("args: sizes take qemu's suffixes", "[img_cli][args]") {
  CHECK(parse_size("512") == 512u);
  CHECK(parse_size("4k") == 4096u);
  CHECK(parse_size("64K") == 65536u);
  CHECK(parse_size("16M") == 16u << 20);
  CHECK(parse_size("10G") == 10ull << 30);
  CHECK(parse_size("1T") == 1ull << 40);
  CHECK(parse_size("2GiB") == 2ull << 30);
  CHECK(parse_size("3MB") == 3u << 20);
  for (const char* bad : {"", "k", "12Q", "1.5G", "-1", "16384P", "4kk"}) {
    INFO(bad);
    CHECK_FALSE(parse_size(bad).has_value());
  }
}

}  // namespace
}  // namespace vsnapd::img
