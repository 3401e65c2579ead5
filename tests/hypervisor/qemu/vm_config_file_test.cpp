#include "hypervisor/qemu/vm_config_file.hpp"
#include "hypervisor/errc.hpp"

#include <catch2/catch.hpp>

#include "qmp_test_util.hpp"

using namespace vsnapd::hv;
using namespace vsnapd::hv::qemu;

TEST_CASE("vm_config_file: render and parse round-trip", "[hypervisor][vm_config_file]") {
  vm_config c;
  c.name = "demo \"quoted\"";
  c.uuid = "0b4c3a52-8e34-4c1e-9d1c-3f0f5d5a6b7c";
  c.memory_mib = 256;
  c.vcpus = 2;
  c.net = network::user;
  c.accelerator = accel::tcg;
  c.kernel = "/k";
  c.initrd = "/i";
  c.append = "console=ttyS0 quiet";
  c.disks = {{"/d0.qcow2", 1 << 30}, {"/d1.qcow2", 0}};
  std::string why;
  auto back = parse_vm_config(render_vm_config(c), &why);
  INFO(why);
  REQUIRE(back);
  CHECK(back->name == c.name);
  CHECK(back->uuid == c.uuid);
  CHECK(back->memory_mib == 256);
  CHECK(back->vcpus == 2);
  CHECK(back->net == network::user);
  CHECK(back->accelerator == accel::tcg);
  CHECK(back->append == c.append);
  REQUIRE(back->disks.size() == 2);
  CHECK(back->disks[0].size_bytes == 1u << 30);
  CHECK(back->disks[1].path == "/d1.qcow2");
}

TEST_CASE("vm_config_file: rejects bad definitions", "[hypervisor][vm_config_file]") {
  struct row {
    const char* text;
    const char* why;
  };
  const row rows[] = {
      {"", "name is required"},
      {"name = 3", "name must be"},
      {"name = \"a\"\nmemory_mib = 0", "memory_mib"},
      {"name = \"a\"\nmemory_mib = \"x\"", "memory_mib"},
      {"name = \"a\"\nvcpus = 65", "vcpus"},
      {"name = \"a\"\nnetwork = \"bridge\"", "network"},
      {"name = \"a\"\naccel = \"xen\"", "accel"},
      {"name = \"a\"\nuuid = \"short\"", "uuid"},
      {"name = \"a\"\ncolour = \"red\"", "unknown key 'colour'"},
      {"name = \"a\"\nboot = 1", "boot must be a table"},
      {"name = \"a\"\n[boot]\nbios = \"x\"", "boot.bios"},
      {"name = \"a\"\n[[disk]]\nsize = 512", "disk.path is required"},
      {"name = \"a\"\n[[disk]]\npath = \"d\"\nsize = 100", "multiple of 512"},
      {"name = \"a\"\n[[disk]]\npath = \"d\"\nformat = \"raw\"", "disk.format"},
      {"name = \"a\"\nname = \"b\"", "line 2"},
  };
  for (const auto& r : rows) {
    std::string why;
    auto c = parse_vm_config(r.text, &why);
    INFO(r.text);
    CHECK(c.error() == make_error_code(errc::invalid_argument));
    CHECK(why.find(r.why) != std::string::npos);
  }
}
