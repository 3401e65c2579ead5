// Internal snapshot scenarios (qemu-iotests style) and interoperability with qemu-img.

#include <cstring>
#include <fstream>

#include "storage/cow/image.hpp"
#include "tests/storage/cow/test_util.hpp"

using namespace vsnapd::storage;
using namespace vsnapd::storage::test;

namespace {

constexpr std::uint64_t mib = 1ull << 20;

void make_image(const std::string& path, bool by_qemu, std::uint64_t size) {
  if (by_qemu) {
    REQUIRE(run("qemu-img create -q -f qcow2 '" + path + "' " + std::to_string(size)) == 0);
  } else {
    create_options o;
    o.virtual_size = size;
    must(image::create(path, o));
  }
}

std::vector<std::byte> read_all(image& img) {
  std::vector<std::byte> v(img.virtual_size());
  must(img.read(0, v));
  return v;
}

void write_raw_file(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("snapshot: write, snapshot, overwrite, revert, verify, check", "[storage][snapshot]") {
  temp_dir d;
  for (bool by_qemu : {false, true}) {
    DYNAMIC_SECTION("by_qemu=" << by_qemu) {
      std::string p = d.file("s.qcow2");
      make_image(p, by_qemu, 4 * mib);
      std::vector<std::byte> v1;
      std::vector<std::byte> v2;
      {
        auto img = open_rw(p);
        must(img->write(0, make_pattern(1, 0, 2 * mib)));
        v1 = read_all(*img);
        auto s = must(img->create_snapshot("one"));
        CHECK(s.id == "1");
        CHECK(s.disk_size == 4 * mib);
        must(img->write(65536 + 17, make_pattern(2, 0, mib)));  // COW of shared clusters
        must(img->write(3 * mib, make_pattern(3, 0, 4096)));    // fresh cluster
        must(img->discard(0, 65536));
        v2 = read_all(*img);
        must(img->create_snapshot("two"));
        must(img->write(0, make_pattern(4, 0, 4 * mib)));
        must(img->apply_snapshot("one"));
        CHECK(read_all(*img) == v1);
        must(img->apply_snapshot("2"));
        CHECK(read_all(*img) == v2);
        auto list = must(img->snapshots());
        REQUIRE(list.size() == 2);
        CHECK(list[0].name == "one");
        CHECK(list[1].name == "two");
        must(img->close());
      }
      std::string out;
      CHECK(qemu_check(p, &out) == 0);
      INFO(out);
      {
        auto img = open_rw(p);
        auto rep = must(img->check(check_mode::report));
        CHECK(rep.clean());
        must(img->delete_snapshot("one"));
        CHECK(read_all(*img) == v2);
        must(img->apply_snapshot("two"));
        CHECK(read_all(*img) == v2);
        must(img->delete_snapshot("two"));
        CHECK(read_all(*img) == v2);
        CHECK(must(img->snapshots()).empty());
        CHECK(img->delete_snapshot("two").error() == make_error_code(errc::not_found));
        must(img->close());
      }
      CHECK(qemu_check(p, &out) == 0);
      write_raw_file(d.file("v2.raw"), v2);
      CHECK(run("qemu-img compare -q -F raw '" + p + "' '" + d.file("v2.raw") + "'", &out) == 0);
    }
  }
}

TEST_CASE("snapshot: snapshots made by qemu-img are read and applied by vsnapd",
          "[storage][snapshot]") {
  temp_dir d;
  std::string p = d.file("q.qcow2");
  make_image(p, true, 2 * mib);
  std::string out;
  REQUIRE(run("qemu-io -f qcow2 -c 'write -P 0x11 0 1M' '" + p + "'", &out) == 0);
  REQUIRE(run("qemu-img snapshot -c base '" + p + "'", &out) == 0);
  REQUIRE(run("qemu-io -f qcow2 -c 'write -P 0x22 65536 64k' '" + p + "'", &out) == 0);
  auto img = open_rw(p);
  auto list = must(img->snapshots());
  REQUIRE(list.size() == 1);
  CHECK(list[0].name == "base");
  std::vector<std::byte> b(1);
  must(img->read(65536, b));
  CHECK(b[0] == std::byte{0x22});
  must(img->apply_snapshot("base"));
  must(img->read(65536, b));
  CHECK(b[0] == std::byte{0x11});
  must(img->close());
  CHECK(qemu_check(p, &out) == 0);
  INFO(out);
}

TEST_CASE("snapshot: vsnapd snapshots are listed, read and applied by qemu-img",
          "[storage][snapshot]") {
  temp_dir d;
  std::string p = d.file("v.qcow2");
  make_image(p, false, 2 * mib);
  {
    auto img = open_rw(p);
    must(img->write(0, std::vector<std::byte>(mib, std::byte{0x33})));
    must(img->create_snapshot("mine"));
    must(img->write(0, std::vector<std::byte>(65536, std::byte{0x44})));
  }
  std::string out;
  REQUIRE(run("qemu-img snapshot -l '" + p + "'", &out) == 0);
  CHECK(out.find("mine") != std::string::npos);
  REQUIRE(run("qemu-io -f qcow2 -c 'read -P 0x44 0 64k' '" + p + "'", &out) == 0);
  CHECK(out.find("Pattern verification failed") == std::string::npos);
  REQUIRE(run("qemu-img snapshot -a mine '" + p + "'", &out) == 0);
  REQUIRE(run("qemu-io -f qcow2 -c 'read -P 0x33 0 1M' '" + p + "'", &out) == 0);
  CHECK(out.find("Pattern verification failed") == std::string::npos);
  REQUIRE(run("qemu-img snapshot -d mine '" + p + "'", &out) == 0);
  CHECK(qemu_check(p, &out) == 0);
}

TEST_CASE("snapshot: VM state is stored where QEMU's loadvm looks for it", "[storage][snapshot]") {
  temp_dir d;
  std::string p = d.file("vm.qcow2");
  make_image(p, false, 3 * mib + 512);
  auto state = make_pattern(9, 0, 300000);
  {
    auto img = open_rw(p);
    must(img->write(0, make_pattern(8, 0, mib)));
    snapshot_options so;
    so.vm_state = state;
    so.vm_clock_nsec = 123456789;
    auto s = must(img->create_snapshot("with-ram", so));
    CHECK(s.vm_state_size == state.size());
    must(img->write(0, make_pattern(10, 0, mib)));
    must(img->create_snapshot("later"));
    must(img->delete_snapshot("later"));
    std::vector<std::byte> back(state.size());
    must(img->read_vm_state("with-ram", 0, back));
    CHECK(back == state);
  }
  std::string out;
  CHECK(qemu_check(p, &out) == 0);
  INFO(out);
  REQUIRE(run("qemu-img snapshot -l '" + p + "'", &out) == 0);
  CHECK(out.find("with-ram") != std::string::npos);
  CHECK(out.find("293 KiB") != std::string::npos);  // QEMU prints the VM state size
  auto img = open_ro(p);
  std::vector<std::byte> back(1000);
  must(img->read_vm_state("with-ram", 299000, back));
  CHECK(std::equal(back.begin(), back.end(), state.begin() + 299000));
}

namespace {
// Runs a stopped TCG guest with one disk and feeds monitor commands; returns QEMU's output.
int run_qemu(const std::string& disk, const std::string& monitor, const std::string& extra,
             std::string* out) {
  std::string cmd = "printf '" + monitor +
                    "' | timeout 60 qemu-system-x86_64 -nodefaults -nographic -machine pc "
                    "-accel tcg -m 16 -S -monitor stdio -serial none -drive file='" +
                    disk + "',format=qcow2,if=none,id=d0 -device virtio-blk-pci,drive=d0 " + extra;
  return run(cmd, out);
}
}  // namespace

TEST_CASE("snapshot: a QEMU savevm snapshot still loads after vsnapd changes the image",
          "[storage][snapshot][integration]") {
  temp_dir d;
  std::string p = d.file("guest.qcow2");
  make_image(p, true, 64 * mib);
  std::string out;
  REQUIRE(run_qemu(p, "savevm s1\\nquit\\n", "", &out) == 0);
  INFO(out);
  std::uint64_t vm_size = 0;
  {
    auto img = open_rw(p);
    auto list = must(img->snapshots());
    REQUIRE(list.size() == 1);
    vm_size = list[0].vm_state_size;
    CHECK(vm_size > 0);
    std::vector<std::byte> before(vm_size);
    must(img->read_vm_state("s1", 0, before));
    // Manipulate: new data, a snapshot of our own with its own VM state, a second snapshot
    // deleted again, and a revert to ours.
    must(img->write(0, make_pattern(5, 0, 3 * mib)));
    snapshot_options so;
    auto blob = make_pattern(6, 0, 200000);
    so.vm_state = blob;
    must(img->create_snapshot("ours", so));
    must(img->write(mib, make_pattern(7, 0, 4 * mib)));
    must(img->create_snapshot("tmp"));
    must(img->delete_snapshot("tmp"));
    must(img->apply_snapshot("ours"));
    std::vector<std::byte> after(vm_size);
    must(img->read_vm_state("s1", 0, after));
    CHECK(after == before);
    must(img->close());
  }
  CHECK(qemu_check(p, &out) == 0);
  // QEMU restores the VM state (it fails with "Error ... while loading VM state" if it is
  // damaged) and we see the guest stopped at the restored point.
  REQUIRE(run_qemu(p, "info status\\nquit\\n", "-loadvm s1", &out) == 0);
  CHECK(out.find("rror") == std::string::npos);
  CHECK(out.find("VM status: paused") != std::string::npos);
}
