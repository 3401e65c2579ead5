#pragma once
// vm.toml: the definition of one VM in its directory (<state_dir>/vms/<uuid>/vm.toml), and the
// same format for VM definitions under conf/. Format code only (no files touched but the one
// named), so the parser is testable on strings.
//
//   name = "demo"            uuid = "..."        memory_mib = 128     vcpus = 1
//   network = "none"         # or "user"
//   accel = "auto"           # or "kvm", "tcg"
//   [boot]  kernel = "..."  initrd = "..."  append = "console=ttyS0"
//   [[disk]] path = "disk0.qcow2"  size = 1073741824

#include "common/error.hpp"
#include "hypervisor/vm.hpp"

#include <string>
#include <string_view>

namespace vsnapd::hv::qemu {

/// Parses a VM definition. Unknown keys, wrong types and bad values are errors
/// (errc::invalid_argument) with the line in `*why` when given.
[[nodiscard]] result<vm_config> parse_vm_config(std::string_view text, std::string* why = nullptr);

/// Renders a definition that parse_vm_config reads back unchanged.
[[nodiscard]] std::string render_vm_config(const vm_config& cfg);

}  // namespace vsnapd::hv::qemu
