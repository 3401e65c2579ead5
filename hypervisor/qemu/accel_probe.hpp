#pragma once
// Finds out whether KVM really works on this host. /dev/kvm and QMP query-kvm are not enough:
// nested or paravirtual hosts expose both yet cannot run a stock guest. The probe checks the
// CPU's virtualization flags, then boots a 512-byte boot sector under `-accel kvm` that writes
// a marker to the serial port and exits through isa-debug-exit; only that marker on the serial
// line within the time limit counts as "KVM works".

#include "hypervisor/vm.hpp"

#include <chrono>
#include <string>

namespace vsnapd::hv::qemu {

/// What the probe found, with the reason for logs and the VM state.
struct accel_probe_result {
  accel chosen = accel::tcg;
  std::string reason;
};

/// Runs the probe (blocking, at most about `limit` plus process start-up).
/// @param qemu_binary the qemu-system-x86_64 to try
[[nodiscard]] accel_probe_result probe_accelerator(
    const std::string& qemu_binary,
    std::chrono::milliseconds limit = std::chrono::milliseconds(2000));

/// The 512-byte boot sector the probe boots (exposed for its unit test under TCG).
[[nodiscard]] std::string probe_boot_sector();

/// Boots the probe sector under `accelerator` and returns what it wrote to the serial line.
[[nodiscard]] std::string run_probe_guest(const std::string& qemu_binary, accel accelerator,
                                          std::chrono::milliseconds limit);

}  // namespace vsnapd::hv::qemu
