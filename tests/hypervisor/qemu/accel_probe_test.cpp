#include "hypervisor/qemu/accel_probe.hpp"

#include <catch2/catch.hpp>

using namespace vsnapd::hv;
using namespace std::chrono_literals;

TEST_CASE("accel_probe: the trial guest prints its marker under TCG", "[hypervisor][accel_probe]") {
  auto sector = qemu::probe_boot_sector();
  REQUIRE(sector.size() == 512);
  CHECK(static_cast<unsigned char>(sector[510]) == 0x55);
  auto out = qemu::run_probe_guest("qemu-system-x86_64", accel::tcg, 10s);
  CHECK(out.find("KVM\n") != std::string::npos);
}

TEST_CASE("accel_probe: chooses KVM only when the trial ran under it", "[hypervisor][accel_probe]") {
  auto r = qemu::probe_accelerator("qemu-system-x86_64");
  INFO(r.reason);
  CHECK(!r.reason.empty());
  if (r.chosen == accel::kvm) {
    CHECK(r.reason == "trial guest ran under KVM");
  } else {
    CHECK(r.chosen == accel::tcg);
  }
}
