// qcow2 image I/O scenarios in the qemu-iotests spirit: write patterns, read back, verify with
// qemu-img check/compare, on images made by vsnapd and by qemu-img.

#include "storage/cow/image.hpp"

#include <cstring>
#include <fstream>
#include <thread>

#include "tests/fakes/storage/mem_file.hpp"
#include "tests/storage/cow/test_util.hpp"

using namespace vsnapd::storage;
using namespace vsnapd::storage::test;

namespace {

constexpr std::uint64_t mib = 1ull << 20;

// Creates an empty image either with vsnapd or with qemu-img.
void make_image(const std::string& path, bool by_qemu, std::uint64_t size,
                std::uint32_t cluster = 65536, const std::string& backing = "",
                const std::string& backing_fmt = "") {
  if (by_qemu) {
    std::string cmd = "qemu-img create -q -f qcow2 -o cluster_size=" + std::to_string(cluster);
    if (!backing.empty()) {
      cmd += " -b '" + backing + "' -F " + backing_fmt;
    }
    cmd += " '" + path + "' " + std::to_string(size);
    std::string out;
    REQUIRE(run(cmd, &out) == 0);
  } else {
    create_options o;
    o.virtual_size = size;
    o.cluster_size = cluster;
    o.backing_file = backing;
    o.backing_format = backing_fmt;
    must(image::create(path, o));
  }
}

void write_raw_file(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("image: created image is accepted by qemu-img check and info", "[storage][image]") {
  temp_dir d;
  for (std::uint32_t cs : {4096u, 65536u, 2u << 20}) {
    std::string p = d.file("c" + std::to_string(cs) + ".qcow2");
    make_image(p, false, 64 * mib + 512, cs);
    std::string out;
    INFO(out);
    CHECK(qemu_check(p, &out) == 0);
    REQUIRE(run("qemu-img info --output=json '" + p + "'", &out) == 0);
    CHECK(out.find("\"virtual-size\": " + std::to_string(64 * mib + 512)) != std::string::npos);
    CHECK(out.find("\"cluster-size\": " + std::to_string(cs)) != std::string::npos);
    auto img = open_ro(p);
    CHECK(img->cluster_size() == cs);
    CHECK(img->virtual_size() == 64 * mib + 512);
  }
}

TEST_CASE("image: a 64 TiB image can be created, written at its end and checked",
          "[storage][image]") {
  temp_dir d;
  std::string p = d.file("big.qcow2");
  make_image(p, false, 64ull << 40);
  {
    auto img = open_rw(p);
    auto data = make_pattern(1, (64ull << 40) - 8192, 8192);
    must(img->write((64ull << 40) - 8192, data));
    must(img->close());
  }
  std::string out;
  CHECK(qemu_check(p, &out) == 0);
  auto img = open_ro(p);
  std::vector<std::byte> back(8192);
  must(img->read((64ull << 40) - 8192, back));
  CHECK(back == make_pattern(1, (64ull << 40) - 8192, 8192));
}

TEST_CASE("image: write patterns at odd offsets, read back, and qemu-img agrees",
          "[storage][image]") {
  temp_dir d;
  for (bool by_qemu : {false, true}) {
    for (std::uint32_t cs : {4096u, 65536u}) {
      DYNAMIC_SECTION("by_qemu=" << by_qemu << " cluster=" << cs) {
        std::string p = d.file("p.qcow2");
        std::string raw = d.file("p.raw");
        make_image(p, by_qemu, 8 * mib, cs);
        std::vector<std::byte> expect(8 * mib);
        struct w {
          std::uint64_t off, len, seed;
        };
        const w writes[] = {{0, 512, 1},
                            {1000, 70000, 2},
                            {4095, 2, 3},
                            {3 * mib - 7, 300000, 4},
                            {8 * mib - 4096, 4096, 5},
                            {65536, 65536, 6},
                            {2000, 100, 7}};
        {
          auto img = open_rw(p);
          for (const auto& x : writes) {
            auto data = make_pattern(x.seed, x.off, x.len);
            must(img->write(x.off, data));
            std::memcpy(expect.data() + x.off, data.data(), x.len);
          }
          std::vector<std::byte> back(8 * mib);
          must(img->read(0, back));
          CHECK(back == expect);
          must(img->close());
        }
        write_raw_file(raw, expect);
        std::string out;
        CHECK(qemu_check(p, &out) == 0);
        INFO(out);
        CHECK(run("qemu-img compare -q -f qcow2 -F raw '" + p + "' '" + raw + "'", &out) == 0);
      }
    }
  }
}

TEST_CASE("image: reads through a backing chain and copy-on-write keeps the base intact",
          "[storage][image]") {
  temp_dir d;
  for (bool by_qemu : {false, true}) {
    DYNAMIC_SECTION("by_qemu=" << by_qemu) {
      std::string base = d.file("base.qcow2");
      std::string mid = d.file("mid.qcow2");
      std::string top = d.file("top.qcow2");
      std::string raw = d.file("expect.raw");
      make_image(base, by_qemu, 4 * mib);
      std::vector<std::byte> expect(4 * mib);
      {
        auto img = open_rw(base);
        auto data = make_pattern(10, 0, 4 * mib);
        must(img->write(0, data));
        expect = data;
      }
      std::vector<std::byte> base_content = expect;
      make_image(mid, by_qemu, 4 * mib, 65536, "base.qcow2", "qcow2");
      {
        auto img = open_rw(mid);
        auto data = make_pattern(11, 100000, 1000);
        must(img->write(100000, data));
        std::memcpy(expect.data() + 100000, data.data(), data.size());
        must(img->write_zeroes(mib, 2 * mib));  // whole clusters become zero clusters
        std::memset(expect.data() + mib, 0, 2 * mib);
      }
      make_image(top, by_qemu, 4 * mib, 65536, "mid.qcow2", "qcow2");
      {
        auto img = open_rw(top);
        REQUIRE(img->backing() != nullptr);
        REQUIRE(img->backing()->backing() != nullptr);
        auto data = make_pattern(12, 99000, 3000);  // partial clusters over mid and base
        must(img->write(99000, data));
        std::memcpy(expect.data() + 99000, data.data(), data.size());
        std::vector<std::byte> back(4 * mib);
        must(img->read(0, back));
        CHECK(back == expect);
        // block_status names the layer that holds each run.
        auto x = must(img->block_status(99000, 4 * mib, true));
        CHECK(x.state == block_state::data);
        CHECK(x.depth == 0);
        x = must(img->block_status(200000, 4 * mib, true));
        CHECK(x.state == block_state::data);
        CHECK(x.depth == 2);
        x = must(img->block_status(mib + 4096, 4 * mib, true));
        CHECK(x.state == block_state::zero);
        CHECK(x.depth == 1);
        CHECK(x.offset + x.length == 3 * mib);
        x = must(img->block_status(mib, 4 * mib, false));
        CHECK(x.state == block_state::unallocated);
      }
      write_raw_file(raw, expect);
      std::string out;
      CHECK(qemu_check(top, &out) == 0);
      CHECK(qemu_check(mid, &out) == 0);
      CHECK(run("qemu-img compare -q -F raw '" + top + "' '" + raw + "'", &out) == 0);
      auto b = open_ro(base);
      std::vector<std::byte> back(4 * mib);
      must(b->read(0, back));
      CHECK(back == base_content);
    }
  }
}

TEST_CASE("image: raw backing files and backing files shorter than the overlay",
          "[storage][image]") {
  temp_dir d;
  std::string raw = d.file("base.raw");
  auto base = make_pattern(20, 0, mib);
  write_raw_file(raw, base);
  std::string top = d.file("top.qcow2");
  make_image(top, false, 3 * mib, 65536, "base.raw", "raw");
  auto img = open_rw(top);
  std::vector<std::byte> back(3 * mib);
  must(img->read(0, back));
  CHECK(std::equal(base.begin(), base.end(), back.begin()));
  CHECK(std::all_of(back.begin() + mib, back.end(), [](std::byte b) { return b == std::byte{0}; }));
  auto x = must(img->block_status(0, 3 * mib, true));
  CHECK(x.state == block_state::data);
  CHECK(x.depth == 1);
  CHECK(x.length == mib);
  x = must(img->block_status(mib, 3 * mib, true));
  CHECK(x.state == block_state::zero);
  // A partial write past the base's end copies zeros, not garbage.
  must(img->write(mib + 10, make_pattern(21, 0, 10)));
  must(img->read(mib, {back.data(), 65536}));
  CHECK(back[0] == std::byte{0});
  CHECK(back[10] == pattern(21, 0));
}

TEST_CASE("image: discard, write_zeroes and reuse of freed clusters", "[storage][image]") {
  temp_dir d;
  for (bool by_qemu : {false, true}) {
    DYNAMIC_SECTION("by_qemu=" << by_qemu) {
      std::string p = d.file("z.qcow2");
      make_image(p, by_qemu, 16 * mib);
      {
        auto img = open_rw(p);
        must(img->write(0, make_pattern(30, 0, 8 * mib)));
        must(img->flush());
        must(img->discard(mib + 100, 2 * mib));  // whole clusters inside are released
        must(img->write_zeroes(5 * mib + 3, 100));
        std::vector<std::byte> back(8 * mib);
        must(img->read(0, back));
        auto expect = make_pattern(30, 0, 8 * mib);
        std::uint64_t first = (mib + 100 + 65535) / 65536 * 65536;
        std::uint64_t last = (3 * mib + 100) / 65536 * 65536;
        std::memset(expect.data() + first, 0, last - first);
        std::memset(expect.data() + 5 * mib + 3, 0, 100);
        CHECK(back == expect);
        must(img->close());
      }
      std::string out;
      CHECK(qemu_check(p, &out) == 0);
      std::uint64_t size_before = std::filesystem::file_size(p);
      {
        auto img = open_rw(p);
        must(img->write(10 * mib, make_pattern(31, 0, 2 * mib - 65536)));
        must(img->close());
      }
      // The discarded 2 MiB were reused, so the file did not grow.
      CHECK(std::filesystem::file_size(p) <= size_before);
      CHECK(qemu_check(p, &out) == 0);
    }
  }
}

TEST_CASE("image: compressed clusters written by qemu-img are read and rewritten",
          "[storage][image]") {
  temp_dir d;
  std::string raw = d.file("src.raw");
  std::vector<std::byte> content(2 * mib);
  for (std::size_t i = 0; i < content.size(); ++i) {
    content[i] = static_cast<std::byte>((i / 1000) & 0xff);  // compressible
  }
  write_raw_file(raw, content);
  std::string p = d.file("c.qcow2");
  std::string out;
  REQUIRE(run("qemu-img convert -c -O qcow2 '" + raw + "' '" + p + "'", &out) == 0);
  {
    auto img = open_rw(p);
    auto x = must(img->block_status(0, 2 * mib, false));
    CHECK(x.compressed);
    std::vector<std::byte> back(2 * mib);
    must(img->read(0, back));
    CHECK(back == content);
    must(img->write(70000, make_pattern(40, 0, 100)));  // rewrites one compressed cluster
    std::memcpy(content.data() + 70000, make_pattern(40, 0, 100).data(), 100);
    must(img->read(0, back));
    CHECK(back == content);
    must(img->close());
  }
  write_raw_file(raw, content);
  CHECK(qemu_check(p, &out) == 0);
  CHECK(run("qemu-img compare -q -F raw '" + p + "' '" + raw + "'", &out) == 0);
}

TEST_CASE("image: resize grows the disk and the new part reads as zero", "[storage][image]") {
  temp_dir d;
  for (bool by_qemu : {false, true}) {
    DYNAMIC_SECTION("by_qemu=" << by_qemu) {
      std::string p = d.file("r.qcow2");
      make_image(p, by_qemu, mib, 4096);
      {
        auto img = open_rw(p);
        must(img->write(mib - 512, make_pattern(50, 0, 512)));
        must(img->resize(5ull << 30));  // needs a larger L1 with 4 KiB clusters
        CHECK(img->virtual_size() == 5ull << 30);
        must(img->write((5ull << 30) - 4096, make_pattern(51, 0, 4096)));
        std::vector<std::byte> back(4096);
        must(img->read(mib, back));
        CHECK(std::all_of(back.begin(), back.end(), [](std::byte b) { return b == std::byte{0}; }));
        CHECK(img->resize(mib).error() == make_error_code(errc::invalid_argument));
        must(img->close());
      }
      std::string out;
      CHECK(qemu_check(p, &out) == 0);
      REQUIRE(run("qemu-img info --output=json '" + p + "'", &out) == 0);
      CHECK(out.find("\"virtual-size\": " + std::to_string(5ull << 30)) != std::string::npos);
    }
  }
}

TEST_CASE("image: refcount table grows with 4 KiB clusters", "[storage][image]") {
  temp_dir d;
  std::string p = d.file("g.qcow2");
  make_image(p, false, 64 * mib, 4096);
  {
    auto img = open_rw(p);
    // 4 KiB clusters: one refcount block covers 8 MiB and the table 512 blocks, so 40 MiB
    // of data needs several new blocks.
    auto data = make_pattern(60, 0, 40 * mib);
    must(img->write(0, data));
    must(img->close());
  }
  std::string out;
  CHECK(qemu_check(p, &out) == 0);
  auto img = open_ro(p);
  std::vector<std::byte> back(40 * mib);
  must(img->read(0, back));
  CHECK(back == make_pattern(60, 0, 40 * mib));
}

TEST_CASE("image: preallocation=metadata allocates every cluster", "[storage][image]") {
  temp_dir d;
  std::string p = d.file("pre.qcow2");
  create_options o;
  o.virtual_size = 8 * mib;
  o.prealloc = preallocation::metadata;
  must(image::create(p, o));
  std::string out;
  CHECK(qemu_check(p, &out) == 0);
  auto img = open_rw(p);
  auto x = must(img->block_status(0, 8 * mib, false));
  CHECK(x.state == block_state::data);
  CHECK(x.length == 8 * mib);
  std::vector<std::byte> back(8 * mib);
  must(img->read(0, back));
  CHECK(std::all_of(back.begin(), back.end(), [](std::byte b) { return b == std::byte{0}; }));
}

TEST_CASE("image: set_backing rewrites the header and reopens the chain", "[storage][image]") {
  temp_dir d;
  std::string a = d.file("a.qcow2");
  std::string b = d.file("b.qcow2");
  std::string top = d.file("top.qcow2");
  make_image(a, false, mib);
  make_image(b, false, mib);
  {
    auto img = open_rw(b);
    must(img->write(0, make_pattern(70, 0, 4096)));
  }
  make_image(top, false, mib, 65536, "a.qcow2", "qcow2");
  {
    auto img = open_rw(top);
    must(img->set_backing("b.qcow2", "qcow2"));
    CHECK(img->backing_file() == "b.qcow2");
    std::vector<std::byte> back(4096);
    must(img->read(0, back));
    CHECK(back == make_pattern(70, 0, 4096));
  }
  std::string out;
  REQUIRE(run("qemu-img info --output=json '" + top + "'", &out) == 0);
  CHECK(out.find("\"backing-filename\": \"b.qcow2\"") != std::string::npos);
  CHECK(out.find("\"backing-filename-format\": \"qcow2\"") != std::string::npos);
  CHECK(qemu_check(top, &out) == 0);
}

TEST_CASE("image: concurrent writers and readers on allocated clusters", "[storage][image]") {
  temp_dir d;
  std::string p = d.file("t.qcow2");
  make_image(p, false, 32 * mib);
  auto img = open_rw(p);
  constexpr int threads = 4;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      // Each thread owns an 8 MiB stripe: first writes allocate, rewrites take the fast path.
      std::uint64_t base = std::uint64_t(t) * 8 * mib;
      for (int round = 0; round < 3; ++round) {
        for (std::uint64_t off = 0; off < 8 * mib; off += 256 * 1024) {
          auto data = make_pattern(100 + t * 10 + round, base + off, 4096 * 3);
          if (!img->write(base + off, data)) {
            ++failures;
          }
          std::vector<std::byte> back(data.size());
          if (!img->read(base + off, back) || back != data) {
            ++failures;
          }
        }
      }
    });
  }
  for (auto& t : ts) {
    t.join();
  }
  CHECK(failures == 0);
  must(img->close());
  std::string out;
  CHECK(qemu_check(p, &out) == 0);
}

TEST_CASE("image: O_DIRECT files read and write aligned and unaligned requests",
          "[storage][image]") {
  temp_dir d;
  std::string p = d.file("direct.qcow2");
  make_image(p, false, 4 * mib);
  open_options o;
  o.writable = true;
  o.opener = posix_opener(true);
  auto r = image::open(p, o);
  if (!r && r.error() == make_error_code(errc::unsupported_feature)) {
    WARN("O_DIRECT not supported on /tmp: " << last_error_detail());
    return;
  }
  auto img = must(std::move(r));
  must(img->write(0, make_pattern(80, 0, 65536)));
  must(img->write(4096, make_pattern(81, 0, 4096)));  // aligned, fast path
  must(img->write(100, make_pattern(82, 0, 10)));     // unaligned: bounce buffer
  std::vector<std::byte> back(65536);
  must(img->read(0, back));
  auto expect = make_pattern(80, 0, 65536);
  std::memcpy(expect.data() + 4096, make_pattern(81, 0, 4096).data(), 4096);
  std::memcpy(expect.data() + 100, make_pattern(82, 0, 10).data(), 10);
  CHECK(back == expect);
  must(img->close());
  std::string out;
  CHECK(qemu_check(p, &out) == 0);
}

TEST_CASE("image: qemu-img images with other refcount widths and version 2", "[storage][image]") {
  temp_dir d;
  for (const char* opts : {"refcount_bits=1", "refcount_bits=8", "refcount_bits=64", "compat=0.10",
                           "cluster_size=2M", "refcount_bits=2,cluster_size=4k"}) {
    DYNAMIC_SECTION(opts) {
      std::string p = d.file("w.qcow2");
      std::string out;
      REQUIRE(run(std::string("qemu-img create -q -f qcow2 -o ") + opts + " '" + p + "' 16M",
                  &out) == 0);
      auto expect = std::vector<std::byte>(16 * mib);
      {
        auto img = open_rw(p);
        for (std::uint64_t off : {std::uint64_t{0}, 5 * mib + 3, 12 * mib}) {
          auto data = make_pattern(off, off, 300000);
          must(img->write(off, data));
          std::memcpy(expect.data() + off, data.data(), data.size());
        }
        if (std::string(opts) == "refcount_bits=1") {
          // A shared cluster needs a refcount of 2, which one bit cannot hold (QEMU refuses
          // too); the image turns read-only and a reopen repairs the half-done snapshot.
          CHECK(img->create_snapshot("a").error() == make_error_code(errc::unsupported_feature));
          CHECK(!img->writable());
          img.reset();
          img = open_rw(p);
        } else {
          must(img->create_snapshot("a"));
          must(img->write(0, make_pattern(9, 0, 100000)));
          must(img->apply_snapshot("a"));
        }
        must(img->discard(6 * mib, 4 * mib));
        std::memset(expect.data() + 6 * mib, 0, 4 * mib);
        std::vector<std::byte> back(16 * mib);
        must(img->read(0, back));
        CHECK(back == expect);
        must(img->close());
      }
      INFO(out);
      CHECK(qemu_check(p, &out) == 0);
      write_raw_file(d.file("w.raw"), expect);
      CHECK(run("qemu-img compare -q -F raw '" + p + "' '" + d.file("w.raw") + "'", &out) == 0);
    }
  }
}

TEST_CASE("image: check reports and repairs leaks and refcounts that are too low",
          "[storage][image][check]") {
  temp_dir d;
  std::string p = d.file("chk.qcow2");
  make_image(p, false, 4 * mib);
  {
    auto img = open_rw(p);
    must(img->write(0, make_pattern(1, 0, 3 * 65536)));
    must(img->write(3 * 65536, make_pattern(2, 0, 3 * 65536)));
    must(img->discard(3 * 65536, 3 * 65536));  // host clusters 8..10 become free
    must(img->close());
  }
  std::string out;
  REQUIRE(run("qemu-img check --output=json '" + p + "'", &out) == 0);
  // Damage refcounts with qemu-io's raw view of the file: cluster 4 (data) to 0 (too low),
  // and cluster 10 (free) to 1 (a leak). The refcount block is the third cluster.
  auto poke = [&](std::uint64_t cluster, int value) {
    std::uint64_t off = 2 * 65536 + cluster * 2;
    char cmd[256];
    std::snprintf(cmd, sizeof cmd,
                  "qemu-io -f raw -c 'write -P %d %llu 1' -c 'write -P 0 %llu 1' '%s'", value,
                  static_cast<unsigned long long>(off + 1), static_cast<unsigned long long>(off),
                  p.c_str());
    REQUIRE(run(cmd, &out) == 0);
  };
  poke(4, 0);
  poke(10, 1);
  CHECK(qemu_check(p, &out) == 2);
  {
    auto img = open_ro(p);
    auto rep = must(img->check(check_mode::report));
    CHECK(rep.leaks == 1);
    CHECK(rep.corruptions >= 1);
    CHECK(rep.to_json().find("\"leaks\": 1") != std::string::npos);
    CHECK(rep.to_text().find("Leaked cluster 10 refcount=1 reference=0") != std::string::npos);
    CHECK(rep.to_text().find("ERROR cluster 4 refcount=0 reference=1") != std::string::npos);
    CHECK(img->check(check_mode::repair_all).error() == make_error_code(errc::read_only));
  }
  {
    open_options o;
    o.writable = true;
    auto img = must(image::open(p, o));
    auto rep = must(img->check(check_mode::repair_all));
    CHECK(rep.leaks_fixed == 1);
    CHECK(rep.corruptions_fixed >= 1);
    CHECK(rep.clean());
    auto again = must(img->check(check_mode::report));
    CHECK(again.clean());
    must(img->close());
  }
  CHECK(qemu_check(p, &out) == 0);
  INFO(out);
  auto img = open_ro(p);
  std::vector<std::byte> back(3 * 65536);
  must(img->read(0, back));
  CHECK(back == make_pattern(1, 0, 3 * 65536));
}

TEST_CASE("image: after a failed metadata write the image refuses writes and flushes",
          "[storage][image]") {
  auto disk = std::make_shared<vsnapd::storage::fakes::mem_disk>("p.qcow2");
  {
    vsnapd::storage::fakes::mem_file f(disk);
    create_options o;
    o.virtual_size = 4 * mib;
    must(image::create(f, o));
  }
  open_options oo;
  oo.writable = true;
  auto img =
      must(image::open(std::make_unique<vsnapd::storage::fakes::mem_file>(disk), "p.qcow2", oo));
  must(img->write(0, make_pattern(1, 0, 4096)));
  disk->inject(vsnapd::storage::fakes::fault::eio, 0);
  CHECK(!img->flush());
  CHECK(!img->writable());
  CHECK(img->write(0, make_pattern(2, 0, 4096)).error() == make_error_code(errc::read_only));
  CHECK(img->flush().error() == make_error_code(errc::io_error));
  img.reset();
  // Reopening repairs through the dirty bit; the unflushed write may or may not be there.
  img = must(image::open(std::make_unique<vsnapd::storage::fakes::mem_file>(disk), "p.qcow2", oo));
  CHECK(must(img->check(check_mode::report)).clean());
}

TEST_CASE("image: a chain opened with writable backing lets a commit write into the base",
          "[storage][image]") {
  temp_dir d;
  make_image(d.file("base.qcow2"), false, mib);
  make_image(d.file("top.qcow2"), false, mib, 65536, "base.qcow2", "qcow2");
  open_options o;
  o.writable = true;
  o.backing_writable = true;
  auto top = must(image::open(d.file("top.qcow2"), o));
  REQUIRE(top->backing() != nullptr);
  CHECK(top->backing()->writable());
  must(top->backing()->write(0, make_pattern(3, 0, 8192)));
  std::vector<std::byte> back(8192);
  must(top->read(0, back));  // the chain sees the base's new data at once
  CHECK(back == make_pattern(3, 0, 8192));
  must(top->close());
  std::string out;
  CHECK(qemu_check(d.file("base.qcow2"), &out) == 0);
}

TEST_CASE("image: the refcount table itself grows (4 KiB clusters, 64-bit refcounts)",
          "[storage][image]") {
  temp_dir d;
  std::string p = d.file("rt.qcow2");
  create_options o;
  // One refcount block covers 512 clusters (2 MiB) and the first table 512 blocks (1 GiB):
  // preallocating 1.25 GiB of metadata must replace the table with a larger one.
  o.virtual_size = 1280 * mib;
  o.cluster_size = 4096;
  o.refcount_bits = 64;
  o.prealloc = preallocation::metadata;
  must(image::create(p, o));
  std::string out;
  CHECK(qemu_check(p, &out) == 0);
  INFO(out);
  REQUIRE(run("qemu-img info --output=json '" + p + "'", &out) == 0);
  CHECK(out.find("\"refcount-bits\": 64") != std::string::npos);
  auto img = open_rw(p);
  must(img->write(1200 * mib, make_pattern(4, 0, 8192)));
  std::vector<std::byte> back(8192);
  must(img->read(1200 * mib, back));
  CHECK(back == make_pattern(4, 0, 8192));
  must(img->close());
  CHECK(qemu_check(p, &out) == 0);
}
