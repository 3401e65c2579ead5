// Manual benchmark of the QEMU backend ([.bench]: hidden, run with
// `vsnapd_hypervisor_tests "[.bench]"`; VSNAPD_BENCH_MEM_MIB sets the guest RAM, default 1024).
// Compares our live full snapshot (migration to a file with pause-before-switchover) with
// QEMU's own snapshot-save issued over QMP on the same VM, and our apply with snapshot-load.

#include "hypervisor/qemu/qemu_hypervisor.hpp"

#include <catch2/catch.hpp>

#include "qmp_test_util.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>

using namespace vsnapd::hv;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

double ms(std::chrono::microseconds us) { return us.count() / 1000.0; }

struct stats {
  std::vector<double> v;
  double pct(double p) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
  }
};

}  // namespace

TEST_CASE("qemu_hypervisor bench: snapshot, apply and destroy timings", "[.bench]") {
  std::uint32_t mem = 1024;
  if (const char* m = std::getenv("VSNAPD_BENCH_MEM_MIB")) {
    mem = static_cast<std::uint32_t>(std::atoi(m));
  }
  test::temp_dir dir;
  qemu::qemu_options o;
  o.state_dir = dir.path.string();
  auto hr = qemu::qemu_hypervisor::open(o);
  REQUIRE(hr);
  auto& h = **hr;
  for (std::uint64_t disk_gib : {1ull, 100ull}) {
    vm_config c;
    c.name = "bench";
    c.memory_mib = mem;
    c.accelerator = accel::tcg;
    c.disks = {{"", disk_gib << 30}};
    auto id = h.define_system(c);
    REQUIRE(id);
    REQUIRE(h.change_state(*id, state_change::start, {}));
    stats total;
    stats pause;
    std::vector<std::string> snaps;
    for (int i = 0; i < 20; ++i) {
      op_timing t;
      auto s = h.create_snapshot(*id, {snapshot_type::disk, "", true}, {}, &t);
      REQUIRE(s);
      snaps.push_back(s->id);
      total.v.push_back(ms(t.total));
      pause.v.push_back(ms(t.guest_pause));
    }
    std::cout << "bench: disk snapshot, running, " << disk_gib << " GiB disk, 20 runs: median "
              << total.pct(0.5) << " ms, p99 " << total.pct(0.99) << " ms; transaction (pause bound) median "
              << pause.pct(0.5) << " ms, p99 " << pause.pct(0.99) << " ms\n";
    stats destroy;
    for (auto& sid : snaps) {
      op_timing t;
      REQUIRE(h.destroy_snapshot(*id, sid, {}, &t));
      destroy.v.push_back(ms(t.total));
    }
    std::cout << "bench: destroy disk snapshot, running (block-stream), median " << destroy.pct(0.5)
              << " ms, p99 " << destroy.pct(0.99) << " ms\n";
    if (disk_gib == 1) {
      op_timing full;
      auto s = h.create_snapshot(*id, {snapshot_type::full, "", true}, {}, &full);
      REQUIRE(s);
      std::cout << "bench: full snapshot, " << mem << " MiB RAM, live migration to file: total "
                << ms(full.total) << " ms, guest pause " << ms(full.guest_pause) << " ms\n";
      // QEMU's own internal snapshot on the same VM, into the active qcow2 image.
      auto blocks = h.qmp_command_for_test(*id, "query-block", "{}");
      REQUIRE(blocks);
      auto node = std::string(json::parse(*blocks).as_array()[0].as_object().at("inserted").as_object().at("node-name").as_string());
      auto t0 = std::chrono::steady_clock::now();
      auto save = h.qmp_command_for_test(*id, "snapshot-save",
                                         R"({"job-id":"sv","tag":"b","vmstate":")" + node +
                                             R"(","devices":[")" + node + R"("]})");
      REQUIRE(save);
      REQUIRE(h.wait_jobs_for_test(*id, 600s));
      auto t1 = std::chrono::steady_clock::now();
      std::cout << "bench: QEMU snapshot-save (guest paused throughout): "
                << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms\n";
      auto t2 = std::chrono::steady_clock::now();
      auto load = h.qmp_command_for_test(*id, "snapshot-load",
                                         R"({"job-id":"ld","tag":"b","vmstate":")" + node +
                                             R"(","devices":[")" + node + R"("]})");
      REQUIRE(load);
      REQUIRE(h.wait_jobs_for_test(*id, 600s));
      auto t3 = std::chrono::steady_clock::now();
      std::cout << "bench: QEMU snapshot-load: "
                << std::chrono::duration<double, std::milli>(t3 - t2).count() << " ms\n";
      op_timing ap;
      REQUIRE(h.apply_snapshot(*id, s->id, {}, &ap));
      std::cout << "bench: apply full snapshot (stop, new overlay, restart, incoming migration): "
                << ms(ap.total) << " ms\n";
    }
    REQUIRE(h.change_state(*id, state_change::power_off, {}));
    REQUIRE(h.destroy_system(*id));
  }
}
