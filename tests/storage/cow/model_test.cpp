// Randomized model-based test: random writes, discards, zeroing and internal snapshot
// create/apply/delete against an in-memory reference, checking the contents and
// `qemu-img check` after every step. The seed is printed on failure and can be forced with
// VSNAPD_MODEL_SEED=<n>.

#include <cstring>
#include <map>
#include <random>

#include "storage/cow/image.hpp"
#include "tests/storage/cow/test_util.hpp"

using namespace vsnapd::storage;
using namespace vsnapd::storage::test;

namespace {

struct model {
  std::vector<std::byte> disk;
  std::map<std::string, std::vector<std::byte>> snaps;
};

void run_model(std::uint64_t seed, std::uint32_t cluster, bool by_qemu, int steps) {
  INFO("seed=" << seed << " cluster=" << cluster << " by_qemu=" << by_qemu
               << " (rerun with VSNAPD_MODEL_SEED=" << seed << ")");
  temp_dir d;
  std::string p = d.file("m.qcow2");
  const std::uint64_t size = 3ull << 20;
  if (by_qemu) {
    REQUIRE(run("qemu-img create -q -f qcow2 -o cluster_size=" + std::to_string(cluster) + " '" +
                p + "' " + std::to_string(size)) == 0);
  } else {
    create_options o;
    o.virtual_size = size;
    o.cluster_size = cluster;
    must(image::create(p, o));
  }
  std::mt19937_64 rng(seed);
  model m;
  m.disk.assign(size, std::byte{0});
  open_options oo;
  oo.writable = true;
  oo.l2_cache_bytes = cluster * 4;  // tiny caches force evictions and write-backs
  oo.refcount_cache_bytes = cluster * 2;
  auto img = must(image::open(p, oo));
  int next_name = 0;
  for (int step = 0; step < steps; ++step) {
    int op = static_cast<int>(rng() % 100);
    std::uint64_t off = rng() % size;
    std::uint64_t len = 1 + rng() % std::min<std::uint64_t>(size - off, 4 * cluster + 5000);
    std::string what;
    if (op < 45) {
      what = "write " + std::to_string(off) + "+" + std::to_string(len);
      auto data = make_pattern(seed * 1000 + step, off, len);
      must(img->write(off, data));
      std::memcpy(m.disk.data() + off, data.data(), len);
    } else if (op < 55) {
      what = "discard " + std::to_string(off) + "+" + std::to_string(len);
      must(img->discard(off, len));
      std::uint64_t a = (off + cluster - 1) / cluster * cluster;
      std::uint64_t b = (off + len) / cluster * cluster;
      if (b > a) {
        std::memset(m.disk.data() + a, 0, b - a);
      }
    } else if (op < 63) {
      what = "write_zeroes " + std::to_string(off) + "+" + std::to_string(len);
      must(img->write_zeroes(off, len));
      std::memset(m.disk.data() + off, 0, len);
    } else if (op < 75) {
      std::string name = "s" + std::to_string(next_name++);
      what = "create_snapshot " + name;
      must(img->create_snapshot(name));
      m.snaps[name] = m.disk;
    } else if (op < 85 && !m.snaps.empty()) {
      auto it = std::next(m.snaps.begin(), static_cast<long>(rng() % m.snaps.size()));
      what = "apply_snapshot " + it->first;
      must(img->apply_snapshot(it->first));
      m.disk = it->second;
    } else if (op < 93 && !m.snaps.empty()) {
      auto it = std::next(m.snaps.begin(), static_cast<long>(rng() % m.snaps.size()));
      what = "delete_snapshot " + it->first;
      must(img->delete_snapshot(it->first));
      m.snaps.erase(it);
    } else {
      what = "reopen";
      must(img->close());
      img = must(image::open(p, oo));
    }
    INFO("step " << step << ": " << what);
    std::vector<std::byte> back(size);
    must(img->read(0, back));
    REQUIRE(back == m.disk);
    must(img->flush());
    std::string out;
    int rc = run("qemu-img check -U -f qcow2 '" + p + "'", &out);
    INFO(out);
    REQUIRE(rc == 0);
    auto rep = must(img->check(check_mode::report));
    INFO(rep.to_text());
    REQUIRE(rep.clean());
  }
  must(img->close());
  // Every snapshot still holds what the model says.
  auto ro = open_rw(p);
  for (const auto& [name, content] : m.snaps) {
    must(ro->apply_snapshot(name));
    std::vector<std::byte> back(size);
    must(ro->read(0, back));
    INFO("snapshot " << name);
    REQUIRE(back == content);
  }
}

std::uint64_t base_seed() {
  const char* s = std::getenv("VSNAPD_MODEL_SEED");
  return s != nullptr ? std::strtoull(s, nullptr, 10) : 20261124;
}

}  // namespace

TEST_CASE("image model: random operations match the reference and pass qemu-img check",
          "[storage][model]") {
  std::uint64_t seed = base_seed();
  SECTION("vsnapd image, 64 KiB clusters") {
    run_model(seed, 65536, false, 40);
  }
  SECTION("vsnapd image, 4 KiB clusters") {
    run_model(seed + 1, 4096, false, 40);
  }
  SECTION("qemu-img image, 64 KiB clusters") {
    run_model(seed + 2, 65536, true, 40);
  }
}
