#pragma once
// The virtualization providers of root/virtualization/v2 over one hv::hypervisor: instances,
// associations and methods of the host, its virtual machines, their settings and snapshots, the
// snapshot service (DSP1044, Msvm_VirtualSystemSnapshotService "vssnapsvc") and the management
// service (DSP1042, Msvm_VirtualSystemManagementService "vmms"). One object serves every class
// (they share the hypervisor, the per-VM lease table and the persisted state); the composition
// root registers it for the CIM_ classes, so the Msvm_ subclasses and CIM_ paths both reach it.
// Instances are always of the Msvm_ classes (CIM_VirtualSystemSnapshotCapabilities excepted);
// a CIM_ client sees them through polymorphism and invokes methods on them through CIM_ paths.
//
// Long operations (CreateSnapshot, ApplySnapshot, DestroySnapshot, DestroySnapshotTree,
// DestroySystem, RequestStateChange start/shutdown/save) return 4096 and an Msvm_ConcreteJob
// owned by the service (Msvm_OwningJobElement), whose PercentComplete follows the hypervisor's
// progress and whose Terminate/Kill reaches the hypervisor as op_control::stop. A finished
// CreateSnapshot job's Msvm_AffectedJobElement names the new snapshot with ElementEffects 5.
//
// Thread-safety: every member may be called concurrently (the object manager's rule); the
// destructor terminates and waits for the jobs this provider started, so the hypervisor and the
// job manager must outlive it.

#include "cimom/jobs/job_manager.hpp"
#include "cimom/provider.hpp"
#include "cimom/providers/virtualization/return_code.hpp"
#include "cimom/providers/virtualization/vm_locks.hpp"
#include "hypervisor/hypervisor.hpp"

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vsnapd::cim::providers::virtualization {

class provider_state;

class virtualization_provider final : public instance_provider,
                                      public association_provider,
                                      public method_provider {
 public:
  /// @param hv the hypervisor; @param jobs the runtime's job manager; @param state persisted
  /// facts; @param host the host's name (Msvm_ComputerSystem.Name of the host, SystemName of
  /// the services). All must outlive the provider.
  virtualization_provider(hv::hypervisor& hv, jobs::job_manager& jobs, provider_state& state,
                          std::string host);
  ~virtualization_provider() override;
  virtualization_provider(const virtualization_provider&) = delete;
  virtualization_provider& operator=(const virtualization_provider&) = delete;

  // cim::instance_provider
  result<instance> get_instance(const operation_context& ctx, const class_decl& cls,
                                const object_path& path) override;
  result<std::unique_ptr<instance_cursor>> enumerate_instances(const operation_context& ctx,
                                                               const class_decl& cls) override;

  // cim::association_provider
  result<std::unique_ptr<instance_cursor>> references(const operation_context& ctx,
                                                      const class_decl& assoc_class,
                                                      const object_path& source,
                                                      std::string_view role) override;

  // cim::method_provider
  /// The snapshot service's CreateSnapshot, DestroySnapshot, ApplySnapshot,
  /// DestroySnapshotTree, ClearSnapshotState; the management service's DefineSystem,
  /// DestroySystem, ModifySystemSettings; the computer system's RequestStateChange. Refusals
  /// are return values (see return_code.hpp), not CIM errors, and are logged with their reason.
  /// @return errc::method_not_available for the other methods of the served classes.
  result<method_result> invoke(const operation_context& ctx, const class_decl& cls,
                               const object_path& target, const method_decl& method,
                               std::vector<param_value> in) override;

  /// The reason of the latest refused call (tests check that refusals say why).
  std::string last_refusal_for_test() const;

 private:
  struct located_snapshot {
    std::string vm;
    hv::vm_config cfg;
    hv::snapshot_info info;
  };
  /// What a method decided: its status, OUT parameters and, for refusals, why.
  struct outcome {
    status st = status::completed;
    std::vector<param_value> out;
    std::string why;
  };

  // instances.cpp
  /// Every instance of exactly the served class `class_name` (empty for classes not served).
  result<std::vector<instance>> instances_of(std::string_view class_name);
  /// Every served instance whose class is `class_name` or one of its served subclasses.
  result<std::vector<instance>> family_of(std::string_view class_name);
  /// The snapshot with id `id` on any VM, or nullopt.
  result<std::optional<located_snapshot>> find_snapshot(const std::string& id);

  // associations.cpp
  /// Every association instance of exactly `assoc_class`.
  result<std::vector<instance>> associations_of(std::string_view assoc_class);

  // snapshot_methods.cpp
  /// The snapshot that the reference parameter `name` names, or the refusal: Invalid
  /// Parameter when it is absent, not a snapshot path or unknown; Failed when the lookup fails.
  std::variant<located_snapshot, outcome> snapshot_param(const std::vector<param_value>& in,
                                                         std::string_view name);
  outcome create_snapshot(const std::vector<param_value>& in);
  outcome destroy_snapshot(const std::vector<param_value>& in, bool tree);
  outcome apply_snapshot(const std::vector<param_value>& in);
  outcome clear_snapshot_state(const std::vector<param_value>& in);

  // system_methods.cpp
  outcome request_state_change(const object_path& target, const std::vector<param_value>& in);
  outcome define_system(const std::vector<param_value>& in);
  outcome destroy_system(const std::vector<param_value>& in);
  outcome modify_system_settings(const std::vector<param_value>& in);

  // virtualization_provider.cpp
  /// A refusal with its reason.
  static outcome refuse(status st, std::string why);
  /// The refusal for a hypervisor error of the synchronous part of a call.
  static outcome refuse(const boost::system::error_code& ec, std::string what);
  /// Queues `work` as an Msvm_ConcreteJob owned by `owner`, holding `lease` until it ends.
  outcome start_job(std::string name, std::string element_name, const object_path& owner,
                    std::vector<jobs::affected_element> affected, bool cancellable,
                    vm_locks::lease lease,
                    std::function<result<void>(jobs::job_context&, const hv::op_control&)> work);

  hv::hypervisor& hv_;
  jobs::job_manager& jobs_;
  provider_state& state_;
  std::string host_;
  vm_locks locks_;

  /// A job this provider started and its VM lease. The work releases the lease when it returns;
  /// a job terminated while still queued never runs, so prune_jobs() releases it instead.
  struct job_lease {
    std::mutex mutex;
    vm_locks::lease lease;
    bool started = false;
  };
  struct tracked_job {
    object_path path;
    std::shared_ptr<job_lease> held;
  };
  /// Forgets final jobs, releasing the leases of those that never ran.
  void prune_jobs();

  mutable std::mutex mutex_;
  std::vector<tracked_job> started_jobs_;  ///< not yet seen final; waited for on destruction
  std::string last_refusal_;
};

/// A cim::error for a hypervisor error code, with context ("CreateSnapshot of vm 'x': ...").
error hv_error(const boost::system::error_code& ec, std::string_view what);

}  // namespace vsnapd::cim::providers::virtualization
