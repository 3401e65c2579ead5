#pragma once
// Registration of the virtualization providers (STYLE rule 3): the composition root calls
// register_virtualization once, before the server accepts requests, and keeps the returned
// handle until the listeners have drained (it must be destroyed before the runtime).

#include "cimom/error.hpp"

#include <memory>
#include <string>

namespace vsnapd::hv {
class hypervisor;
}
namespace vsnapd::cim {
class runtime;
}

namespace vsnapd::cim::providers::virtualization {

class provider_state;
class virtualization_provider;

/// What the providers need to know about the host.
struct host_facts {
  std::string host_name;  ///< Msvm_ComputerSystem.Name of the host, SystemName of the services
  std::string state_dir;  ///< holds virtualization.sqlite; empty keeps provider state in memory
};

/// Owns the providers and their persisted state. Destroying it terminates and waits for the
/// jobs the providers started.
class virtualization_registration {
 public:
  ~virtualization_registration();
  virtualization_registration(const virtualization_registration&) = delete;
  virtualization_registration& operator=(const virtualization_registration&) = delete;

  virtualization_provider& provider() { return *provider_; }

 private:
  friend result<std::unique_ptr<virtualization_registration>> register_virtualization(
      runtime&, hv::hypervisor&, const host_facts&);
  virtualization_registration();
  // Declaration order is destruction order in reverse: the provider (and its jobs) goes first.
  std::unique_ptr<provider_state> state_;
  std::unique_ptr<virtualization_provider> provider_;
};

/// Registers instances, associations and methods of root/virtualization/v2 (see
/// virtualization_provider.hpp for the classes) on `rt`'s object manager, and the DSP1044
/// (snapshot service) and DSP1042 (host) conformance in root/interop.
/// @param hv must outlive the returned handle.
/// @return the handle; errc::failed when the provider state cannot be opened, or the object
/// manager's error when a class is missing from the schema or already served.
[[nodiscard]] result<std::unique_ptr<virtualization_registration>> register_virtualization(
    runtime& rt, hv::hypervisor& hv, const host_facts& facts);

}  // namespace vsnapd::cim::providers::virtualization
