// Table-driven negative tests (STYLE rule 35): damaged headers and tables, hostile sizes,
// backing chain loops. Each must give a precise error and never crash or read out of bounds
// (this executable runs under AddressSanitizer in CI).

#include <functional>
#include <random>

#include "storage/cow/format.hpp"
#include "storage/cow/image.hpp"
#include "tests/fakes/storage/mem_file.hpp"
#include "tests/storage/cow/test_util.hpp"

using namespace vsnapd::storage;
using namespace vsnapd::storage::test;
using namespace vsnapd::storage::qcow2;
using vsnapd::storage::fakes::mem_disk;
using vsnapd::storage::fakes::mem_file;

namespace {

constexpr std::uint64_t cs = 65536;

// A small valid image with one allocated cluster and one snapshot, as bytes.
std::vector<std::byte> good_image() {
  auto disk = std::make_shared<mem_disk>("good");
  {
    mem_file f(disk);
    create_options o;
    o.virtual_size = 4ull << 20;
    must(image::create(f, o));
  }
  {
    open_options oo;
    oo.writable = true;
    auto img = must(image::open(std::make_unique<mem_file>(disk), "good", oo));
    must(img->write(0, make_pattern(1, 0, 1000)));
    must(img->create_snapshot("s"));
    must(img->write(0, make_pattern(2, 0, 1000)));
    must(img->close());
  }
  return disk->contents();
}

vsnapd::result<void> open_and_read(const std::vector<std::byte>& bytes, bool writable) {
  auto disk = std::make_shared<mem_disk>("bad");
  disk->reset(bytes);
  open_options o;
  o.writable = writable;
  o.repair_dirty = false;
  auto img = image::open(std::make_unique<mem_file>(disk, writable), "bad", o);
  if (!img) {
    return img.error();
  }
  std::vector<std::byte> buf((*img)->virtual_size() > (1u << 20) ? (1u << 20)
                                                                 : (*img)->virtual_size());
  auto r = (*img)->read(0, buf);
  if (!r) {
    return r.error();
  }
  auto list = (*img)->snapshots();
  if (!list) {
    return list.error();
  }
  return {};
}

std::uint64_t be64_at(const std::vector<std::byte>& b, std::size_t off) {
  return load_be64(b.data() + off);
}

}  // namespace

TEST_CASE("image negative: damaged headers and tables give precise errors", "[storage][negative]") {
  const auto good = good_image();
  REQUIRE(open_and_read(good, true).has_value());
  const std::uint64_t l1 = be64_at(good, off_l1_table_offset);
  const std::uint64_t rt = be64_at(good, off_refcount_table_offset);
  const std::uint64_t l2 = be64_at(good, l1) & l1_offset_mask;
  struct row {
    const char* name;
    std::function<void(std::vector<std::byte>&)> damage;
    errc want;
    bool writable = false;
  };
  const row rows[] = {
      {"truncated header", [](auto& b) { b.resize(50); }, errc::corrupt_image},
      {"truncated v3 header", [](auto& b) { b.resize(90); }, errc::corrupt_image},
      {"empty file", [](auto& b) { b.clear(); }, errc::corrupt_image},
      {"bad magic", [](auto& b) { b[0] = std::byte{0}; }, errc::corrupt_image},
      {"version 4", [](auto& b) { store_be32(b.data() + 4, 4); }, errc::unsupported_feature},
      {"cluster bits 30", [](auto& b) { store_be32(b.data() + 20, 30); }, errc::corrupt_image},
      {"cluster bits 9", [](auto& b) { store_be32(b.data() + 20, 9); }, errc::corrupt_image},
      {"encryption", [](auto& b) { store_be32(b.data() + 32, 1); }, errc::unsupported_feature},
      {"external data file", [](auto& b) { store_be64(b.data() + 72, incompat_data_file); },
       errc::unsupported_feature},
      {"extended L2", [](auto& b) { store_be64(b.data() + 72, incompat_extl2); },
       errc::unsupported_feature},
      {"zstd compression",
       [](auto& b) {
         store_be64(b.data() + 72, incompat_compression);
         b[104] = std::byte{1};
       },
       errc::unsupported_feature},
      {"unknown incompatible bit", [](auto& b) { store_be64(b.data() + 72, 1ull << 20); },
       errc::unsupported_feature},
      {"corrupt bit, writable", [](auto& b) { store_be64(b.data() + 72, incompat_corrupt); },
       errc::corrupt_image, true},
      {"refcount order 7", [](auto& b) { store_be32(b.data() + 96, 7); }, errc::corrupt_image},
      {"header length past the cluster", [](auto& b) { store_be32(b.data() + 100, 1u << 20); },
       errc::corrupt_image},
      {"huge virtual size", [](auto& b) { store_be64(b.data() + off_size, 1ull << 62); },
       errc::corrupt_image},
      {"size larger than the L1 covers",
       [](auto& b) { store_be64(b.data() + off_size, 1ull << 40); }, errc::corrupt_image},
      {"huge L1 size", [](auto& b) { store_be32(b.data() + off_l1_size, 0x10000000); },
       errc::corrupt_image},
      {"L1 beyond the file",
       [](auto& b) { store_be64(b.data() + off_l1_table_offset, 1ull << 40); },
       errc::corrupt_image},
      {"L1 overlaps the header", [](auto& b) { store_be64(b.data() + off_l1_table_offset, 0); },
       errc::corrupt_image},
      {"L1 overlaps the refcount table",
       [rt](auto& b) { store_be64(b.data() + off_l1_table_offset, rt); }, errc::corrupt_image},
      {"L1 unaligned", [l1](auto& b) { store_be64(b.data() + off_l1_table_offset, l1 + 512); },
       errc::corrupt_image},
      {"refcount table beyond the file",
       [](auto& b) { store_be64(b.data() + off_refcount_table_offset, 1ull << 40); },
       errc::corrupt_image},
      {"refcount table of zero clusters", [](auto& b) { store_be32(b.data() + 56, 0); },
       errc::corrupt_image},
      {"refcount table of huge size", [](auto& b) { store_be32(b.data() + 56, 1u << 30); },
       errc::corrupt_image},
      {"refcount block beyond the file", [rt](auto& b) { store_be64(b.data() + rt, 1ull << 40); },
       errc::corrupt_image},
      {"L1 entry beyond the file",
       [l1](auto& b) { store_be64(b.data() + l1, (1ull << 40) | oflag_copied); },
       errc::corrupt_image},
      {"L1 entry unaligned",
       [l1, l2](auto& b) { store_be64(b.data() + l1, (l2 + 4096) | oflag_copied); },
       errc::corrupt_image},
      {"L2 entry beyond the file",
       [l2](auto& b) { store_be64(b.data() + l2, (1ull << 40) | oflag_copied); },
       errc::corrupt_image},
      {"L2 entry unaligned",
       [l2](auto& b) {
         store_be64(b.data() + l2, ((be64_at(b, l2) & l2_offset_mask) + 512) | oflag_copied);
       },
       errc::corrupt_image},
      {"compressed cluster beyond the file",
       [l2](auto& b) { store_be64(b.data() + l2, oflag_compressed | (1ull << 40)); },
       errc::corrupt_image},
      {"compressed cluster that does not inflate",
       [l2](auto& b) { store_be64(b.data() + l2, oflag_compressed | cs * 2); },
       errc::corrupt_image},
      {"snapshot table beyond the file",
       [](auto& b) { store_be64(b.data() + off_snapshots_offset, 1ull << 40); },
       errc::corrupt_image},
      {"too many snapshots", [](auto& b) { store_be32(b.data() + off_nb_snapshots, 1u << 30); },
       errc::corrupt_image},
      {"snapshot count past the table",
       [](auto& b) { store_be32(b.data() + off_nb_snapshots, 60000); }, errc::corrupt_image},
      {"snapshot L1 of huge size",
       [](auto& b) {
         std::uint64_t st = be64_at(b, off_snapshots_offset);
         store_be32(b.data() + st + 8, 0x40000000);
       },
       errc::corrupt_image},
      {"snapshot extra data of huge size",
       [](auto& b) {
         std::uint64_t st = be64_at(b, off_snapshots_offset);
         store_be32(b.data() + st + 36, 0x40000000);
       },
       errc::corrupt_image},
      {"backing name outside the header cluster",
       [](auto& b) {
         store_be64(b.data() + 8, cs - 4);
         store_be32(b.data() + 16, 100);
       },
       errc::corrupt_image},
      {"header extension overruns the cluster",
       [](auto& b) {
         store_be32(b.data() + 112, 0x99999999);
         store_be32(b.data() + 116, 0x7fffffff);
       },
       errc::corrupt_image},
      {"encryption header extension",
       [](auto& b) {
         store_be32(b.data() + 112, ext_crypto);
         store_be32(b.data() + 116, 16);
       },
       errc::unsupported_feature},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto bytes = good;
    r.damage(bytes);
    auto res = open_and_read(bytes, r.writable);
    REQUIRE(!res);
    INFO(last_error_detail());
    CHECK(res.error() == make_error_code(r.want));
    CHECK(!last_error_detail().empty());
  }
}

TEST_CASE("image negative: random damage to metadata never crashes", "[storage][negative]") {
  const auto good = good_image();
  std::mt19937_64 rng(99);
  const std::uint64_t meta_end = std::min<std::uint64_t>(good.size(), 12 * cs);
  int errors = 0;
  for (int i = 0; i < 150; ++i) {
    auto bytes = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      // Hit the first bytes of a cluster (where headers and table entries live) most often.
      std::uint64_t c = rng() % (meta_end / cs);
      std::uint64_t off = c * cs + (rng() % 2 ? rng() % 256 : rng() % cs);
      bytes[off] ^= static_cast<std::byte>(1u << (rng() % 8));
    }
    auto res = open_and_read(bytes, i % 2 == 0);
    errors += res ? 0 : 1;
    // Whatever happened, a writable open that got this far can be checked without crashing.
    auto disk = std::make_shared<mem_disk>("fuzz");
    disk->reset(bytes);
    auto img = image::open(std::make_unique<mem_file>(disk, false), "fuzz", open_options{});
    if (img) {
      auto rep = (*img)->check(check_mode::report);
      (void)rep;
    }
  }
  INFO(errors << " of 150 damaged images were refused");
  CHECK(errors > 0);
}

TEST_CASE("image negative: backing chain loops and missing backing files", "[storage][negative]") {
  temp_dir d;
  create_options o;
  o.virtual_size = 1 << 20;
  SECTION("an image that is its own backing file") {
    o.backing_file = "self.qcow2";
    must(image::create(d.file("self.qcow2"), o));
    auto r = image::open(d.file("self.qcow2"), open_options{});
    REQUIRE(!r);
    CHECK(r.error() == make_error_code(errc::backing_chain_loop));
  }
  SECTION("a two-image loop") {
    o.backing_file = "b.qcow2";
    must(image::create(d.file("a.qcow2"), o));
    o.backing_file = "a.qcow2";
    must(image::create(d.file("b.qcow2"), o));
    auto r = image::open(d.file("a.qcow2"), open_options{});
    REQUIRE(!r);
    CHECK(r.error() == make_error_code(errc::backing_chain_loop));
    CHECK(last_error_detail().find("a.qcow2") != std::string::npos);
  }
  SECTION("a loop through a differently spelled path") {
    o.backing_file = "./sub/../x.qcow2";
    must(image::create(d.file("x.qcow2"), o));
    auto r = image::open(d.file("x.qcow2"), open_options{});
    REQUIRE(!r);
    CHECK(r.error() == make_error_code(errc::backing_chain_loop));
  }
  SECTION("a missing backing file") {
    o.backing_file = "gone.qcow2";
    o.backing_format = "qcow2";
    must(image::create(d.file("orphan.qcow2"), o));
    auto r = image::open(d.file("orphan.qcow2"), open_options{});
    REQUIRE(!r);
    CHECK(r.error() == make_error_code(errc::not_found));
    CHECK(last_error_detail().find("gone.qcow2") != std::string::npos);
    open_options no_chain;
    no_chain.open_backing = false;
    CHECK(image::open(d.file("orphan.qcow2"), no_chain).has_value());
  }
}

TEST_CASE("image negative: requests outside the disk and writes to read-only images",
          "[storage][negative]") {
  temp_dir d;
  create_options o;
  o.virtual_size = 1 << 20;
  must(image::create(d.file("i.qcow2"), o));
  auto ro = open_ro(d.file("i.qcow2"));
  std::vector<std::byte> buf(4096);
  CHECK(ro->read((1 << 20) - 100, buf).error() == make_error_code(errc::invalid_argument));
  CHECK(ro->read(~0ull - 10, buf).error() == make_error_code(errc::invalid_argument));
  CHECK(ro->write(0, buf).error() == make_error_code(errc::read_only));
  CHECK(ro->create_snapshot("x").error() == make_error_code(errc::read_only));
  auto rw = open_rw(d.file("i.qcow2"));
  CHECK(rw->write(1 << 20, buf).error() == make_error_code(errc::invalid_argument));
  CHECK(rw->discard(0, 2 << 20).error() == make_error_code(errc::invalid_argument));
  CHECK(rw->apply_snapshot("nope").error() == make_error_code(errc::not_found));
  must(rw->create_snapshot("x"));
  CHECK(rw->create_snapshot("x").error() == make_error_code(errc::invalid_argument));
  create_options bad;
  bad.virtual_size = 1 << 20;
  bad.cluster_size = 3000;
  CHECK(image::create(d.file("bad.qcow2"), bad).error() == make_error_code(errc::invalid_argument));
  bad.cluster_size = 4096;
  bad.virtual_size = 1ull << 50;  // needs a 2 GiB L1 with 4 KiB clusters
  CHECK(image::create(d.file("bad.qcow2"), bad).error() == make_error_code(errc::invalid_argument));
}

TEST_CASE("image negative: injected EIO on reads surfaces as io_error", "[storage][negative]") {
  auto disk = std::make_shared<mem_disk>("eio");
  disk->reset(good_image());
  auto img = must(image::open(std::make_unique<mem_file>(disk, false), "eio", open_options{}));
  disk->fail_reads(true);
  std::vector<std::byte> buf(4096);
  CHECK(img->read(0, buf).error() == make_error_code(errc::io_error));
}
