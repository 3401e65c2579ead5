#pragma once
// CIM providers over the job manager (STYLE rule 3: the composition root registers them for
// CIM_ConcreteJob, Msvm_ConcreteJob and the association classes it serves):
//   - job_provider: instances (Get, Enumerate, Delete) and methods (RequestStateChange,
//     GetError, GetErrors, KillJob) of the job classes;
//   - job_association_provider: CIM_OwningJobElement and CIM_AffectedJobElement (and the
//     subclasses a job spec names, e.g. Msvm_AffectedJobElement).
// Thread-safe, as the job manager is. The manager must outlive the providers.

#include "cimom/provider.hpp"

namespace vsnapd::cim::jobs {

class job_manager;

class job_provider final : public instance_provider, public method_provider {
 public:
  explicit job_provider(job_manager& manager) : manager_(manager) {}

  // cim::instance_provider
  result<instance> get_instance(const operation_context& ctx, const class_decl& cls,
                                const object_path& path) override;
  result<std::unique_ptr<instance_cursor>> enumerate_instances(const operation_context& ctx,
                                                               const class_decl& cls) override;
  /// DeleteInstance of a finished job; errc::failed while it is active.
  result<void> delete_instance(const operation_context& ctx, const class_decl& cls,
                               const object_path& path) override;

  // cim::method_provider
  /// RequestStateChange(RequestedState, TimeoutPeriod) -> uint32; GetError(OUT Error) -> uint32;
  /// GetErrors(OUT Errors[]) -> uint32; KillJob(DeleteOnKill) -> uint32.
  /// @return errc::method_not_found for other methods, errc::not_found for an unknown job.
  result<method_result> invoke(const operation_context& ctx, const class_decl& cls,
                               const object_path& target, const method_decl& method,
                               std::vector<param_value> in) override;

 private:
  job_manager& manager_;
};

class job_association_provider final : public association_provider {
 public:
  explicit job_association_provider(job_manager& manager) : manager_(manager) {}

  // cim::association_provider
  result<std::unique_ptr<instance_cursor>> references(const operation_context& ctx,
                                                      const class_decl& assoc_class,
                                                      const object_path& source,
                                                      std::string_view role) override;

 private:
  job_manager& manager_;
};

}  // namespace vsnapd::cim::jobs
