// chain_ops against qemu-img: overlays vsnapd creates are read by qemu-img compare/convert,
// commits and rebases give the guest content qemu-img commit/rebase give, qemu-img's chains are
// handled, and a cancelled job leaves a chain qemu-img check accepts and that reads as before.

#include "storage/chain_ops.hpp"
#include "storage/errc.hpp"
#include "tests/storage/chain_test_util.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace vsnapd::storage {
namespace {

using test::ok;
using test::q;
using test::qemu_check;
using test::qemu_compare;
using test::scratch_dir;
using test::sh;

constexpr std::uint64_t MiB = 1u << 20;

void qcreate(const std::string& path, const std::string& size, const std::string& backing = {}) {
  const std::string b = backing.empty() ? "" : " -b " + q(backing) + " -F qcow2";
  REQUIRE(sh("qemu-img create -q -f qcow2" + b + " " + q(path) + " " + size) == 0);
}

void qemu_io(const std::string& path, const std::string& cmd) {
  std::string out;
  INFO(out);
  REQUIRE(sh("qemu-io -f qcow2 -c " + q(cmd) + " " + q(path), &out) == 0);
}

// base <- mid <- top, 16 MiB, each layer with its own data (overlapping the layer below),
// a zero range hiding data below, and holes, so the guest view mixes every layer.
std::vector<std::string> make_chain(const scratch_dir& d, const std::string& prefix, int depth = 3) {
  std::vector<std::string> paths;
  for (int i = 0; i < depth; ++i) {
    const std::string p = d / (prefix + std::to_string(i) + ".qcow2");
    qcreate(p, "16M", i == 0 ? std::string() : paths.back());
    qemu_io(p, "write -P " + std::to_string(0x10 + i) + " " + std::to_string(i * 768 * 1024) + " 1M");
    qemu_io(p, "write -P " + std::to_string(0x40 + i) + " " + std::to_string(8 * MiB + i * 200 * 1024) + " 64k");
    qemu_io(p, "write -z " + std::to_string(12 * MiB + i * 64 * 1024) + " 128k");
    paths.push_back(p);
  }
  return paths;
}

std::string to_raw(const scratch_dir& d, const std::string& img, const std::string& name) {
  const std::string raw = d / name;
  REQUIRE(sh("qemu-img convert -O raw " + q(img) + " " + q(raw)) == 0);
  return raw;
}

std::string backing_of(const std::string& img) {
  std::string out;
  REQUIRE(sh("qemu-img info " + q(img) + " | sed -n 's/^backing file: //p' | sed 's/ (actual path: .*)$//'", &out) == 0);
  while (!out.empty() && out.back() == '\n') {
    out.pop_back();
  }
  return out;
}

// Bytes of `img` stored in the image itself (qemu-img map depth 0, data).
std::string own_data_map(const std::string& img) {
  std::string out;
  REQUIRE(sh("qemu-img map --output=json " + q(img) + " | grep '\"depth\": 0' | grep '\"data\": true' || true", &out) == 0);
  return out;
}

TEST_CASE("chain_ops: an overlay reads as its backing file and qemu-img accepts it", "[storage][chain_ops]") {
  scratch_dir d;
  const std::string base = d / "base.qcow2";
  const std::string top = d / "top.qcow2";
  qcreate(base, "64M");
  qemu_io(base, "write -P 0x5a 1M 3M");
  REQUIRE(ok(create_overlay(top, base)));
  CHECK(qemu_check(top) == 0);
  CHECK(qemu_compare(top, base) == 0);
  CHECK(backing_of(top) == base);
  std::string info;
  REQUIRE(sh("qemu-img info --output=json " + q(top), &info) == 0);
  CHECK(info.find("\"virtual-size\": 67108864") != std::string::npos);
  CHECK(info.find("\"backing-filename-format\": \"qcow2\"") != std::string::npos);

  // A raw backing file is probed and recorded as raw.
  const std::string raw = to_raw(d, base, "base.raw");
  const std::string over_raw = d / "over-raw.qcow2";
  REQUIRE(ok(create_overlay(over_raw, raw)));
  CHECK(qemu_check(over_raw) == 0);
  CHECK(qemu_compare(over_raw, base) == 0);
}

TEST_CASE("chain_ops: overlay creation does not grow with the disk size", "[storage][chain_ops]") {
  scratch_dir d;
  for (const char* size : {"1G", "1T"}) {
    const std::string base = d / (std::string("base-") + size + ".qcow2");
    const std::string top = d / (std::string("top-") + size + ".qcow2");
    qcreate(base, size);
    REQUIRE(ok(create_overlay(top, base)));
    CHECK(qemu_check(top) == 0);
    // Header, L1 table (16 KiB for 1 TiB) and the first refcount structures: a few clusters.
    CHECK(std::filesystem::file_size(top) <= 512 * 1024);
  }
}

TEST_CASE("chain_ops: relative backing names resolve against the overlay's folder", "[storage][chain_ops]") {
  scratch_dir d;
  const std::string base = d / "base.qcow2";
  qcreate(base, "8M");
  qemu_io(base, "write -P 7 0 1M");
  const std::string top = d / "top.qcow2";
  REQUIRE(ok(create_overlay(top, "base.qcow2")));
  CHECK(backing_of(top) == "base.qcow2");
  CHECK(qemu_compare(top, base) == 0);
  // A chain qemu-img created with relative names commits through them.
  REQUIRE(sh("cd " + q(d.path().string()) + " && qemu-img create -q -f qcow2 -b top.qcow2 -F qcow2 top2.qcow2") == 0);
  qemu_io(d / "top2.qcow2", "write -P 9 512k 1M");
  const std::string before = to_raw(d, d / "top2.qcow2", "before.raw");
  REQUIRE(ok(commit(d / "top2.qcow2", {})));
  CHECK(qemu_compare(top, before) == 0);
  CHECK(qemu_check(top) == 0);
}

TEST_CASE("chain_ops: commit gives the guest content qemu-img commit gives", "[storage][chain_ops]") {
  scratch_dir d;
  const auto ours = make_chain(d, "v");
  const auto theirs = make_chain(d, "q");
  const std::string before = to_raw(d, ours[2], "before.raw");

  SECTION("into the direct backing file, emptying the top") {
    auto r = commit(ours[2], {});
    REQUIRE(ok(r));
    CHECK(r->top_emptied);
    CHECK(r->bytes_copied > 0);
    REQUIRE(sh("qemu-img commit -q " + q(theirs[2])) == 0);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(qemu_check(ours[i]) == 0);
      CHECK(qemu_compare(ours[i], theirs[i]) == 0);
    }
    CHECK(qemu_compare(ours[1], before) == 0);
    CHECK(own_data_map(ours[2]).empty());
    CHECK(backing_of(ours[2]) == ours[1]);
  }
  SECTION("through O_DIRECT files (vsnapd-img -t none), still emptying the top") {
    commit_options o;
    o.open.opener = posix_opener(true);
    auto r = commit(ours[2], o);
    REQUIRE(ok(r));
    CHECK(r->top_emptied);
    REQUIRE(sh("qemu-img commit -q " + q(theirs[2])) == 0);
    CHECK(qemu_check(ours[1]) == 0);
    CHECK(qemu_compare(ours[1], theirs[1]) == 0);
    CHECK(own_data_map(ours[2]).empty());
  }
  SECTION("with -d the top keeps its data") {
    commit_options o;
    o.keep_top = true;
    auto r = commit(ours[2], o);
    REQUIRE(ok(r));
    CHECK_FALSE(r->top_emptied);
    CHECK_FALSE(own_data_map(ours[2]).empty());
    CHECK(qemu_compare(ours[1], before) == 0);
    CHECK(qemu_compare(ours[2], before) == 0);
  }
  SECTION("into a deeper base (-b), which implies -d") {
    commit_options o;
    o.base = ours[0];
    REQUIRE(ok(commit(ours[2], o)));
    REQUIRE(sh("qemu-img commit -q -b " + q(theirs[0]) + " " + q(theirs[2])) == 0);
    CHECK(qemu_check(ours[0]) == 0);
    CHECK(qemu_compare(ours[0], theirs[0]) == 0);
    CHECK(qemu_compare(ours[0], before) == 0);
  }
}

TEST_CASE("chain_ops: a sparse 1 TiB chain costs block-status calls, not a pass over the disk",
          "[storage][chain_ops]") {
  scratch_dir d;
  const std::string base = d / "base.qcow2";
  const std::string top = d / "top.qcow2";
  qcreate(base, "1T");
  qcreate(top, "1T", base);
  qemu_io(top, "write -P 0x3c 512G 3M");
  qemu_io(top, "write -P 0x3d 1023G 64k");
  int calls = 0;
  std::uint64_t last = 0;
  job_control job;
  job.progress = [&](std::uint64_t done, std::uint64_t) {
    ++calls;
    last = done;
  };
  auto r = commit(top, {}, job);
  REQUIRE(ok(r));
  CHECK(r->bytes_copied == 3 * MiB + 64 * 1024);
  CHECK(last == (1ull << 40));
  CHECK(calls < 64);  // one per chunk copied (4), plus the first and the last
  qemu_io(base, "read -P 0x3c 512G 3M");
  qemu_io(base, "read -P 0x3d 1023G 64k");
  qemu_io(base, "read -P 0 511G 1M");
  CHECK(qemu_check(base) == 0);
}

TEST_CASE("chain_ops: commit grows a smaller base to the top's size", "[storage][chain_ops]") {
  scratch_dir d;
  const std::string base = d / "base.qcow2";
  const std::string top = d / "top.qcow2";
  qcreate(base, "4M");
  qemu_io(base, "write -P 1 0 4M");
  qcreate(top, "8M", base);
  qemu_io(top, "write -P 2 6M 1M");
  const std::string before = to_raw(d, top, "before.raw");
  REQUIRE(ok(commit(top, {})));
  CHECK(qemu_check(base) == 0);
  CHECK(qemu_compare(base, before) == 0);
}

TEST_CASE("chain_ops: stream merges the chain up into the top", "[storage][chain_ops]") {
  scratch_dir d;
  const auto c = make_chain(d, "s");
  const std::string before = to_raw(d, c[2], "before.raw");
  SECTION("the whole chain: the top stands alone") {
    auto r = stream(c[2], {});
    REQUIRE(ok(r));
    CHECK(*r > 0);
    CHECK(backing_of(c[2]).empty());
    CHECK(qemu_check(c[2]) == 0);
    CHECK(qemu_compare(c[2], before) == 0);
  }
  SECTION("down to a base, which stays as the backing file") {
    stream_options o;
    o.base = c[0];
    REQUIRE(ok(stream(c[2], o)));
    CHECK(backing_of(c[2]) == c[0]);
    CHECK(qemu_check(c[2]) == 0);
    CHECK(qemu_compare(c[2], before) == 0);
  }
}

TEST_CASE("chain_ops: safe rebase keeps the guest content as qemu-img rebase does", "[storage][chain_ops]") {
  scratch_dir d;
  const auto ours = make_chain(d, "v");
  const auto theirs = make_chain(d, "q");
  const std::string before = to_raw(d, ours[2], "before.raw");
  SECTION("onto an ancestor") {
    rebase_options o;
    o.backing_file = ours[0];
    o.backing_format = "qcow2";
    REQUIRE(ok(rebase(ours[2], o)));
    REQUIRE(sh("qemu-img rebase -q -b " + q(theirs[0]) + " -F qcow2 " + q(theirs[2])) == 0);
    CHECK(backing_of(ours[2]) == ours[0]);
    CHECK(qemu_check(ours[2]) == 0);
    CHECK(qemu_compare(ours[2], before) == 0);
    CHECK(qemu_compare(ours[2], theirs[2]) == 0);
  }
  SECTION("onto an unrelated image") {
    const std::string other = d / "other.qcow2";
    qcreate(other, "8M");  // shorter than the top: the rest reads as zero from it
    qemu_io(other, "write -P 0x77 0 8M");
    rebase_options o;
    o.backing_file = other;
    REQUIRE(ok(rebase(ours[2], o)));
    CHECK(backing_of(ours[2]) == other);
    CHECK(qemu_check(ours[2]) == 0);
    CHECK(qemu_compare(ours[2], before) == 0);
  }
  SECTION("onto nothing") {
    REQUIRE(ok(rebase(ours[2], rebase_options{})));
    CHECK(backing_of(ours[2]).empty());
    CHECK(qemu_compare(ours[2], before) == 0);
  }
}

TEST_CASE("chain_ops: unsafe rebase rewrites only the name", "[storage][chain_ops]") {
  scratch_dir d;
  const auto c = make_chain(d, "u", 2);
  const std::string moved = d / "moved.qcow2";
  std::filesystem::copy_file(c[0], moved);
  const std::string own_before = own_data_map(c[1]);
  rebase_options o;
  o.backing_file = moved;
  o.backing_format = "qcow2";
  o.unsafe = true;
  auto r = rebase(c[1], o);
  REQUIRE(ok(r));
  CHECK(*r == 0);
  CHECK(backing_of(c[1]) == moved);
  CHECK(own_data_map(c[1]) == own_before);
  CHECK(qemu_check(c[1]) == 0);
  // The new backing file need not exist for -u.
  o.backing_file = d / "not-there.qcow2";
  REQUIRE(ok(rebase(c[1], o)));
  CHECK(backing_of(c[1]) == o.backing_file);
}

TEST_CASE("chain_ops: progress never goes back and ends at the disk size", "[storage][chain_ops]") {
  scratch_dir d;
  const auto c = make_chain(d, "p");
  std::vector<std::uint64_t> seen;
  std::uint64_t total = 0;
  job_control job;
  job.chunk_bytes = 1 * MiB;
  job.progress = [&](std::uint64_t done, std::uint64_t t) {
    seen.push_back(done);
    total = t;
  };
  REQUIRE(ok(commit(c[2], {}, job)));
  REQUIRE(seen.size() >= 2);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(seen.back() == 16 * MiB);
  CHECK(total == 16 * MiB);
}

TEST_CASE("chain_ops: a cancelled job leaves a consistent chain that reads as before", "[storage][chain_ops]") {
  scratch_dir d;
  const auto c = make_chain(d, "c");
  const std::string before = to_raw(d, c[2], "before.raw");
  std::stop_source stop;
  int calls = 0;
  job_control job;
  job.chunk_bytes = 256 * 1024;
  job.stop = stop.get_token();
  // Cancel in the middle: after a few chunks have been copied.
  job.progress = [&](std::uint64_t done, std::uint64_t) {
    if (++calls == 6 || done >= 6 * MiB) {
      stop.request_stop();
    }
  };
  error_code ec;
  SECTION("commit") {
    auto r = commit(c[2], {}, job);
    REQUIRE_FALSE(r.has_value());
    ec = r.error();
    CHECK(backing_of(c[2]) == c[1]);
  }
  SECTION("stream") {
    auto r = stream(c[2], {}, job);
    REQUIRE_FALSE(r.has_value());
    ec = r.error();
    CHECK(backing_of(c[2]) == c[1]);
  }
  SECTION("rebase") {
    rebase_options o;
    o.backing_file = c[0];
    auto r = rebase(c[2], o, job);
    REQUIRE_FALSE(r.has_value());
    ec = r.error();
    CHECK(backing_of(c[2]) == c[1]);
  }
  CHECK(ec == errc::cancelled);
  for (const auto& p : c) {
    std::string out;
    INFO(p << ": " << out);
    CHECK(qemu_check(p, &out) == 0);
  }
  CHECK(qemu_compare(c[2], before) == 0);
}

TEST_CASE("chain_ops: invalid requests fail with a reason", "[storage][chain_ops]") {
  scratch_dir d;
  const auto c = make_chain(d, "n", 2);
  const std::string alone = d / "alone.qcow2";
  const std::string stranger = d / "stranger.qcow2";
  qcreate(alone, "1M");
  qcreate(stranger, "1M");
  struct row {
    const char* what;
    std::function<error_code()> run;
    errc expected;
  };
  const auto err = [](auto r) { return r ? error_code{} : r.error(); };
  const std::vector<row> rows = {
      {"commit without a backing file", [&] { return err(commit(alone, {})); }, errc::invalid_argument},
      {"commit into a non-ancestor", [&] {
         commit_options o;
         o.base = stranger;
         return err(commit(c[1], o));
       }, errc::invalid_argument},
      {"commit of a missing image", [&] { return err(commit(d / "nope.qcow2", {})); }, errc::not_found},
      {"overlay over a missing file", [&] { return err(create_overlay(d / "o.qcow2", d / "nope.qcow2")); },
       errc::not_found},
      {"overlay without a backing name", [&] { return err(create_overlay(d / "o.qcow2", "")); },
       errc::invalid_argument},
      {"stream to a non-ancestor", [&] {
         stream_options o;
         o.base = stranger;
         return err(stream(c[1], o));
       }, errc::invalid_argument},
      {"safe rebase onto a missing file", [&] {
         rebase_options o;
         o.backing_file = d / "nope.qcow2";
         return err(rebase(c[1], o));
       }, errc::not_found},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    const error_code ec = r.run();
    CHECK(ec == r.expected);
  }
  // Nothing above changed the chain.
  CHECK(qemu_check(c[1]) == 0);
  CHECK(backing_of(c[1]) == c[0]);
}

}  // namespace
}  // namespace vsnapd::storage
