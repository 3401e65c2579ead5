#pragma once
// The object manager as the daemon runs it: the schema compiled from the MOF embedded in the
// binary, the object manager, and the providers the CIM server itself owns - the interop
// registrations (profiles, namespaces, the object manager), and jobs with their SQLite store
// and the indication bus. Providers of live objects (hypervisors, snapshots) are registered on
// top of this by the composition root (server/main.cpp).

#include "cimom/class_repository.hpp"
#include "cimom/error.hpp"
#include "cimom/object_manager.hpp"

#include "common/embedded_file.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace vsnapd::cim {

class static_instance_provider;
namespace persistence {
class instance_store;
}
namespace indications {
class indication_bus;
}
namespace jobs {
class job_manager;
class job_provider;
class job_association_provider;
}  // namespace jobs

/// How the runtime starts.
struct runtime_options {
  std::string state_dir;        ///< holds cim.sqlite (jobs, stored instances); empty: no persistence
  std::string host_name;        ///< SystemName of the object manager's instances
  std::size_t job_workers = 2;  ///< threads running jobs (bounded; no thread per job)
  /// MOF compiled after the embedded schema, each file as its own unit (its `#pragma namespace`
  /// says where it goes; new namespaces are created). Test daemons add their fixture classes
  /// here; the product passes none. Instances it declares are served like the schema's.
  std::vector<embedded_file> extra_mof;
};

/// What start-up did, for the ready log line and the start-up benchmark.
struct runtime_stats {
  std::size_t namespaces = 0;
  std::size_t classes = 0;
  std::size_t static_instances = 0;
  std::size_t recovered_jobs = 0;
  std::chrono::microseconds schema_load{0};  ///< MOF compile of the embedded schema
  std::chrono::microseconds total{0};        ///< everything start() does
};

/// Owns the object manager and its built-in providers. After start() returns, every member
/// function may be called from any thread; registration of further providers must happen
/// before the server accepts requests (object_manager's rule).
class runtime {
 public:
  /// Compiles the embedded schema, opens the store, recovers jobs and registers the built-in
  /// providers. @return errc::failed with every MOF diagnostic or the store's error.
  [[nodiscard]] static result<std::unique_ptr<runtime>> start(const runtime_options& options);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  const class_repository& repository() const { return *repository_; }
  object_manager& om() { return *om_; }
  const object_manager& om() const { return *om_; }
  jobs::job_manager& jobs() { return *jobs_; }
  indications::indication_bus& bus() { return *bus_; }
  const runtime_stats& stats() const { return stats_; }

 private:
  runtime();

  // Declaration order is destruction order in reverse: providers die before what they use.
  std::unique_ptr<class_repository> repository_;
  std::unique_ptr<object_manager> om_;
  std::unique_ptr<static_instance_provider> statics_;
  std::unique_ptr<persistence::instance_store> store_;
  std::unique_ptr<indications::indication_bus> bus_;
  std::unique_ptr<jobs::job_manager> jobs_;
  std::unique_ptr<jobs::job_provider> job_instances_;
  std::unique_ptr<jobs::job_association_provider> job_associations_;
  runtime_stats stats_;
};

}  // namespace vsnapd::cim
