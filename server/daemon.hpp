#pragma once
// The daemon's life: command line, configuration, state directory, object manager, listeners,
// signals and I/O threads. The composition roots (`server/main.cpp` for the product, test
// daemons under tests/) call daemon_main with the providers they want served; nothing else in
// the daemon knows which providers exist.

#include "cimom/error.hpp"
#include "common/embedded_file.hpp"
#include "server/config.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vsnapd::cim {
class runtime;
}

namespace vsnapd::server {

/// What the daemon knows when providers are registered.
struct startup_facts {
  std::string state_dir;  ///< the resolved state directory (exists, owned by us)
  std::string host_name;
  config::virtualization_config virtualization;  ///< the [virtualization] configuration
};

/// What a composition root adds to the daemon.
struct daemon_hooks {
  /// MOF compiled after the embedded schema (cim::runtime_options::extra_mof).
  std::vector<embedded_file> extra_mof;
  /// Registers providers on the runtime's object manager before any listener opens. The
  /// returned object owns the providers; it is destroyed after the listeners have drained and
  /// before the object manager. May be empty.
  std::function<cim::result<std::shared_ptr<void>>(cim::runtime&, const startup_facts&)>
      register_providers;
};

/// Runs the vsnapd command line (`vsnapd [options]`, `vsnapd user ...`, `vsnapd mof check`).
/// @return the process exit status.
int daemon_main(int argc, char** argv, const daemon_hooks& hooks);

}  // namespace vsnapd::server
