// vsnapd: the composition root (STYLE rule 4). It decides which providers the daemon serves and
// hands them to daemon_main; everything else about the daemon's life lives in server/daemon.cpp.

#include "cimom/providers/virtualization/register.hpp"
#include "common/log.hpp"
#include "server/daemon.hpp"

#if VSNAPD_WITH_KVM
#include "hypervisor/qemu/qemu_hypervisor.hpp"
#endif

#include <cstdlib>
#include <memory>
#include <string>

namespace {

using namespace vsnapd;

#if VSNAPD_WITH_KVM
// The hypervisor and the providers over it, torn down providers first (their jobs call the
// hypervisor until the registration has waited for them).
struct virtualization {
  std::unique_ptr<hv::qemu::qemu_hypervisor> hypervisor;
  std::unique_ptr<cim::providers::virtualization::virtualization_registration> providers;
  ~virtualization() { providers.reset(); }
};

// Where scripts/build-test-guest.sh puts the guest unless the configuration names a directory.
std::string test_guest_dir(const server::config::virtualization_config& c) {
  if (!c.demo_guest.empty()) {
    return c.demo_guest;
  }
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache != nullptr && *cache != '\0') {
    return std::string(cache) + "/vsnapd/test-guest";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.cache/vsnapd/test-guest";
}

cim::result<std::shared_ptr<void>> register_providers(cim::runtime& rt,
                                                      const server::startup_facts& facts) {
  auto v = std::make_shared<virtualization>();
  hv::qemu::qemu_options options;
  // The backend's files (hypervisor.sqlite, vms/) sit beside cim.sqlite: one state directory.
  options.state_dir = facts.state_dir;
  options.memory_copy_bytes_per_second =
      std::uint64_t{facts.virtualization.memory_copy_mib_per_second} << 20;
  auto opened = hv::qemu::qemu_hypervisor::open(options);
  if (!opened) {
    return cim::fail(cim::errc::failed,
                     "the QEMU hypervisor backend did not open in " + facts.state_dir + ": " +
                         opened.error().message());
  }
  v->hypervisor = std::move(*opened);
  const auto& conf = facts.virtualization;
  if (!conf.definitions.empty()) {
    auto loaded = v->hypervisor->load_definitions(conf.definitions);
    if (!loaded) {
      return cim::fail(cim::errc::failed, "loading the VM definitions in " + conf.definitions +
                                              " failed: " + loaded.error().message());
    }
    if (*loaded > 0) {
      log::write(log::level::info, "qemu",
                 "defined " + std::to_string(*loaded) + " VM(s) from " + conf.definitions);
    }
  }
  // First start: a stopped `demo` VM, so that a new user can snapshot something at once. Only
  // then: a user who destroyed it does not get it back on the next start.
  if (conf.demo_vm && v->hypervisor->first_open()) {
    auto demo = v->hypervisor->define_demo_if_empty(test_guest_dir(conf));
    if (!demo) {
      return cim::fail(cim::errc::failed,
                       "defining the demo VM failed: " + demo.error().message());
    }
    if (*demo) {
      log::write(log::level::info, "qemu", "defined the demo VM " + **demo);
    }
  }
  v->providers = VSNAPD_TRY(cim::providers::virtualization::register_virtualization(
      rt, *v->hypervisor, {facts.host_name, facts.state_dir}));
  return std::shared_ptr<void>(std::move(v));
}
#endif

}  // namespace

int main(int argc, char** argv) {
  vsnapd::server::daemon_hooks hooks;
#if VSNAPD_WITH_KVM
  hooks.register_providers = register_providers;
#endif
  return vsnapd::server::daemon_main(argc, argv, hooks);
}
