// Randomized model-based test of backing chains (sibling of the core's model test): seeded,
// bounded sequences of writes, zero writes, overlay creation, commit (to the direct backing file
// and to a deeper base), stream and rebase. After every step the top reads exactly as an
// in-memory model of the guest disk, qemu-img reads the same bytes (compare against a raw dump
// of the model) and qemu-img check accepts every image of the chain.

#include "storage/chain_ops.hpp"
#include "storage/cow/image.hpp"
#include "tests/storage/chain_test_util.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace vsnapd::storage {
namespace {

using test::ok;
using test::q;
using test::qemu_check;
using test::qemu_compare;
using test::scratch_dir;

constexpr std::uint64_t disk_size = 4u << 20;

struct chain_model {
  const scratch_dir& dir;
  std::map<std::string, int>& seen;  // how often each kind of step ran, over all seeds
  std::mt19937_64 rng;
  std::vector<std::byte> guest = std::vector<std::byte>(disk_size);  // what the top must read
  std::vector<std::string> chain;  // bottom first
  int next_name = 0;
  std::string log;                 // the steps so far, printed on failure

  std::uint64_t pick(std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  }
  std::string fresh_name() { return dir / ("l" + std::to_string(next_name++) + ".qcow2"); }

  // A random range biased to cluster edges, so partial-cluster copy-on-write is exercised.
  std::pair<std::uint64_t, std::uint64_t> range() {
    const std::uint64_t unit = pick(0, 1) != 0 ? 65536 : 512;
    const std::uint64_t off = pick(0, disk_size / unit - 1) * unit;
    // One draw per statement: operand evaluation order is unspecified, and the same seed must
    // give the same steps in every build.
    const std::uint64_t units = pick(1, 6);
    const std::uint64_t times = pick(1, 8);
    const std::uint64_t len = std::min<std::uint64_t>(units * unit * times, disk_size - off);
    return {off, len};
  }

  void write_step(bool zeroes) {
    const auto [off, len] = range();
    open_options o;
    o.writable = true;
    auto img = image::open(chain.back(), o);
    REQUIRE(ok(img));
    if (zeroes) {
      REQUIRE(ok((*img)->write_zeroes(off, len)));
      std::fill_n(guest.begin() + static_cast<std::ptrdiff_t>(off), len, std::byte{0});
    } else {
      std::vector<std::byte> buf(len);
      const auto pattern = static_cast<std::byte>(pick(1, 255));
      for (std::uint64_t i = 0; i < len; ++i) {
        buf[i] = static_cast<std::byte>(static_cast<std::uint8_t>(pattern) ^ static_cast<std::uint8_t>(i / 512));
      }
      REQUIRE(ok((*img)->write(off, buf)));
      std::copy(buf.begin(), buf.end(), guest.begin() + static_cast<std::ptrdiff_t>(off));
    }
    REQUIRE(ok((*img)->close()));
    ++seen[zeroes ? "zero" : "write"];
    log += (zeroes ? "zero " : "write ") + std::to_string(off) + "+" + std::to_string(len) + "; ";
  }

  // Even steps write random data or zeros at random places; odd steps run the next chain
  // operation of a fixed cycle that reaches every kind (the seed varies the data, the places
  // and whether an emptied top is dropped). An operation that needs more depth than the chain
  // has grows the chain instead.
  void step(int index) {
    static constexpr int cycle[] = {4, 4, 6, 4, 7, 4, 4, 8, 4, 4, 8, 4, 4, 9};
    const int op = index % 2 == 0 ? static_cast<int>(pick(0, 3))
                                  : cycle[(index / 2) % std::size(cycle)];
    const std::size_t depth = chain.size();
    if (op <= 2) {
      write_step(false);
    } else if (op == 3) {
      write_step(true);
    } else if ((op == 4 && depth < 6) || (op > 4 && depth < 3)) {
      const std::string top = fresh_name();
      REQUIRE(ok(create_overlay(top, chain.back())));
      chain.push_back(top);
      log += "overlay; ";
      ++seen["overlay"];
    } else if (op == 6 && depth >= 2) {
      auto r = commit(chain.back(), {});
      REQUIRE(ok(r));
      CHECK(r->top_emptied);
      ++seen["commit"];
      if (pick(0, 1) != 0) {
        chain.pop_back();  // the emptied top is dropped, as after a block-commit
        log += "commit+drop; ";
      } else {
        log += "commit; ";
      }
    } else if (op == 7 && depth >= 3) {
      commit_options o;
      o.base = chain.front();
      REQUIRE(ok(commit(chain.back(), o)));
      chain.resize(1);  // the images between are no longer valid views
      log += "commit -b base; ";
      ++seen["commit -b"];
    } else if (op == 8 && depth >= 2) {
      stream_options o;
      // Alternate the two kinds so both run whatever the seed.
      const bool keep_base = depth >= 3 && seen["stream"] > seen["stream -b"];
      if (keep_base) {
        o.base = chain.front();
      }
      REQUIRE(ok(stream(chain.back(), o)));
      chain = keep_base ? std::vector<std::string>{chain.front(), chain.back()}
                        : std::vector<std::string>{chain.back()};
      log += keep_base ? "stream -b base; " : "stream; ";
      ++seen[keep_base ? "stream -b" : "stream"];
    } else if (op == 9 && depth >= 3) {
      rebase_options o;
      o.backing_file = chain.front();
      REQUIRE(ok(rebase(chain.back(), o)));
      chain = {chain.front(), chain.back()};
      log += "rebase onto base; ";
      ++seen["rebase"];
    } else {
      write_step(false);
    }
  }

  void verify() {
    INFO(log);
    auto img = image::open(chain.back(), open_options{});
    REQUIRE(ok(img));
    std::vector<std::byte> got(disk_size);
    REQUIRE(ok((*img)->read(0, got)));
    const auto diff = std::mismatch(got.begin(), got.end(), guest.begin());
    INFO("first difference at guest offset " << (diff.first - got.begin()));
    CHECK(diff.first == got.end());
    const std::string raw = dir / "model.raw";
    {
      std::ofstream f(raw, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(guest.data()), static_cast<std::streamsize>(guest.size()));
    }
    std::string out;
    CHECK(qemu_compare(chain.back(), raw, &out) == 0);
    for (const auto& p : chain) {
      INFO(p << ": " << out);
      CHECK(qemu_check(p, &out) == 0);
    }
  }
};

TEST_CASE("chain_model: random overlay, commit, stream and rebase steps keep the guest view",
          "[storage][chain_model]") {
  std::map<std::string, int> seen;
  for (const std::uint64_t seed : {1u, 2u}) {
    INFO("seed " << seed);
    scratch_dir d;
    chain_model m{d, seen, std::mt19937_64(seed)};
    m.chain.push_back(m.fresh_name());
    create_options c;
    c.virtual_size = disk_size;
    REQUIRE(ok(image::create(m.chain.back(), c)));
    for (int i = 0; i < 28; ++i) {
      m.step(i);
      m.verify();
    }
  }
  for (const auto& [kind, n] : seen) {
    UNSCOPED_INFO(kind << ": " << n);
  }
  // The seeds must keep covering every kind of step, or the test silently weakens.
  for (const char* kind : {"write", "zero", "overlay", "commit", "commit -b", "stream", "stream -b", "rebase"}) {
    INFO(kind);
    CHECK(seen[kind] > 0);
  }
}

}  // namespace
}  // namespace vsnapd::storage
