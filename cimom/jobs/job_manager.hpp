#pragma once
// The job manager: long-running operations (snapshot create/apply/destroy) run as
// CIM_ConcreteJob instances (or Msvm_ConcreteJob, or any subclass the caller names) on a bounded
// worker pool. It tracks JobState (DMTF ValueMap numbers), PercentComplete, errors (ErrorCode,
// ErrorDescription and a CIM_Error for GetError), the CIM datetimes, expiry TimeBeforeRemoval
// after completion, Terminate/Kill through RequestStateChange, and the OwningJobElement /
// AffectedJobElement links. With an instance store every state change is persisted, and a job
// found unfinished when the daemon starts is reported as Exception ("the daemon stopped while the
// job was running"), never lost. With an indication bus it publishes CIM_InstCreation on submit,
// CIM_InstModification (with PreviousInstance) on every state change and CIM_InstDeletion on
// removal; progress updates alone do not publish.
//
// Expiry is lazy: every read first removes the jobs whose time is up, and collect_expired() lets
// the composition root do the same from a timer, so no thread sleeps on the clock and tests drive
// expiry with a manual clock.
//
// Thread safety: every public member may be called from any thread, except that the destructor
// must not run on a worker (a job's own work function).

#include "cimom/error.hpp"
#include "cimom/instance.hpp"
#include "cimom/jobs/clock.hpp"
#include "cimom/jobs/job_state.hpp"
#include "cimom/object_path.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::cim::persistence {
class instance_store;
}
namespace vsnapd::cim::indications {
class indication_bus;
}

namespace vsnapd::cim::jobs {

class worker_pool;

/// An element a job affects, with CIM_AffectedJobElement.ElementEffects
/// (0 Unknown, 1 Other, 2 Exclusive Use, 3 Performance Impact, 4 Element Integrity, 5 Create).
struct affected_element {
  object_path path;
  std::vector<std::uint16_t> effects;
};

/// What the caller decides about a new job.
struct job_spec {
  std::string ns;                              ///< namespace the job lives in
  std::string class_name = "CIM_ConcreteJob";  ///< or Msvm_ConcreteJob, or a subclass
  std::string name;                            ///< Name (required by the schema)
  std::string element_name;                    ///< ElementName (optional)
  std::string description;                     ///< Description (optional)
  std::optional<object_path> owning_element;   ///< e.g. the snapshot service
  std::string owning_association = "CIM_OwningJobElement";
  std::vector<affected_element> affected;  ///< e.g. the VM; more may be added while running
  std::string affected_association = "CIM_AffectedJobElement";
  bool cancellable = true;           ///< Terminate/Kill allowed
  bool delete_on_completion = true;  ///< removed TimeBeforeRemoval after finishing
  std::chrono::microseconds time_before_removal = std::chrono::minutes(5);  ///< as Hyper-V
  std::vector<property_value> extra_properties;  ///< class-specific constants (Msvm: JobType...)
};

/// A job's cancellation signal: set once by Terminate, Kill or shutdown; waitable.
class stop_signal {
 public:
  /// True once a stop was requested.
  bool requested() const { return flag_.load(std::memory_order_acquire); }
  /// Requests the stop and wakes every waiter. Idempotent.
  void request() {
    std::lock_guard lock(mutex_);
    flag_.store(true, std::memory_order_release);
    cv_.notify_all();
    source_.request_stop();
  }
  /// The same signal as a std::stop_token, for work that hands cancellation to another layer
  /// (hv::op_control::stop) instead of polling requested().
  std::stop_token token() const { return source_.get_token(); }
  /// Waits until a stop is requested or `timeout` passes. @return requested().
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return requested(); });
  }

 private:
  std::atomic<bool> flag_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::stop_source source_;
};

/// Handed to a job's work function on its worker thread.
class job_context {
 public:
  /// True once Terminate or Kill was requested or the daemon is stopping: return soon.
  bool stop_requested() const { return stop_->requested(); }
  /// Blocks until a stop is requested or `timeout` passes (for work that waits on something
  /// external, e.g. a QEMU job, and must still react to Terminate at once).
  /// @return true when a stop was requested.
  bool wait_for_stop(std::chrono::milliseconds timeout) { return stop_->wait_for(timeout); }
  /// The stop request as a std::stop_token (requested exactly when stop_requested() is true).
  std::stop_token stop_token() const { return stop_->token(); }
  /// Sets PercentComplete (clamped to 100; never goes down). Cheap: no persistence, no event.
  void report_progress(std::uint16_t percent);
  /// Adds an affected element once it exists (e.g. the snapshot this job created).
  void add_affected_element(affected_element element);
  /// The job's InstanceID.
  const std::string& instance_id() const { return id_; }

 private:
  friend class job_manager;
  job_context(class job_manager* m, std::string id, std::shared_ptr<stop_signal> stop)
      : manager_(m), id_(std::move(id)), stop_(std::move(stop)) {}
  class job_manager* manager_;
  std::string id_;
  std::shared_ptr<stop_signal> stop_;
};

/// A job's work. Return success, or the error that becomes ErrorCode / ErrorDescription /
/// CIM_Error (the error's cim_error is used as is when set). When a stop was requested, any
/// return ends the job as Terminated (or Killed, or Exception if the daemon is stopping).
using job_work = std::function<result<void>(job_context&)>;

/// Manager configuration.
struct job_manager_options {
  std::size_t workers = 2;                       ///< worker threads
  std::size_t max_queued = 1024;                 ///< jobs waiting for a worker, at most
  persistence::instance_store* store = nullptr;  ///< optional; must outlive the manager
  indications::indication_bus* bus = nullptr;    ///< optional; must outlive the manager
  const clock* time = nullptr;                   ///< null = system_clock; must outlive it
};

/// The class persisted job records are stored under (internal to the store).
inline constexpr std::string_view job_record_class = "VSNAPD_JobRecord";
/// ErrorDescription of a job found unfinished at start-up.
inline constexpr std::string_view daemon_stopped_message =
    "the daemon stopped while the job was running";

class job_manager {
 public:
  /// Creates the manager and, with a store, recovers persisted jobs: finished ones come back as
  /// they were, unfinished ones as Exception with daemon_stopped_message (persisted at once).
  /// @return errc::failed when the store cannot be read.
  [[nodiscard]] static result<std::unique_ptr<job_manager>> open(job_manager_options options);
  /// Stops: jobs not yet started and jobs still running when their work returns become
  /// Exception ("the daemon stopped ..."); waits for running work functions to return.
  ~job_manager();
  job_manager(const job_manager&) = delete;
  job_manager& operator=(const job_manager&) = delete;

  /// Queues a job. @return its path (ns, class, InstanceID); errc::invalid_parameter for a
  /// spec without namespace or class, errc::server_limits_exceeded when the queue is full,
  /// errc::server_is_shutting_down after shutdown began.
  [[nodiscard]] result<object_path> submit(job_spec spec, job_work work);

  /// The job instance at `path` (namespace and InstanceID decide; any job class).
  /// @return errc::not_found when there is no such job (or it expired).
  [[nodiscard]] result<instance> get(const object_path& path);
  /// Jobs of exactly `class_name` in `ns`, in submission order.
  std::vector<instance> list(std::string_view ns, std::string_view class_name);

  /// RequestStateChange (RequestedState, TimeoutPeriod). @return the method's return value;
  /// errc::not_found for an unknown job. See job_manager.cpp for the transition table.
  [[nodiscard]] result<rsc_status> request_state_change(const object_path& path,
                                                        std::uint16_t requested,
                                                        const std::optional<datetime>& timeout);
  /// KillJob(DeleteOnKill) of CIM_Job.
  [[nodiscard]] result<kill_status> kill_job(const object_path& path, bool delete_on_kill);
  /// GetError: the CIM_Error of a failed, terminated or killed job; nullptr while the job is
  /// unfinished or completed successfully.
  [[nodiscard]] result<std::shared_ptr<const instance>> get_error(const object_path& path);
  /// DeleteInstance: removes a finished job. errc::failed while it is still active.
  [[nodiscard]] result<void> remove(const object_path& path);

  /// CIM_OwningJobElement / CIM_AffectedJobElement instances (of exactly `assoc_class`) that
  /// refer to `source` in `role` (empty = any), for the association provider.
  std::vector<instance> associations(std::string_view ns, std::string_view assoc_class,
                                     const object_path& source, std::string_view role);

  /// Waits until the job is final or `timeout` passes. @return its state then (nullopt when
  /// there is no such job).
  std::optional<job_state> wait_until_final(const object_path& path,
                                            std::chrono::milliseconds timeout);
  /// Removes the jobs whose TimeBeforeRemoval has passed. @return how many.
  std::size_t collect_expired();
  /// Number of jobs held (any state).
  std::size_t size() const;

 private:
  friend class job_context;
  struct job;
  explicit job_manager(job_manager_options options);

  result<void> recover();
  void run(const std::shared_ptr<job>& j);
  std::shared_ptr<job> find_locked(const object_path& path);
  std::size_t expire_locked(std::vector<std::shared_ptr<job>>& removed);
  void set_state_locked(job& j, job_state s);
  void fail_locked(job& j, errc code, std::string_view message_id, std::string description);
  void remove_locked(const std::shared_ptr<job>& j);
  instance to_instance_locked(const job& j) const;
  instance to_record_locked(const job& j) const;
  void persist(const std::shared_ptr<job>& j);
  void unpersist(const std::vector<std::shared_ptr<job>>& removed);
  clock::time_point now() const { return time_->now(); }

  job_manager_options options_;
  const clock* time_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<job>> jobs_;  ///< by InstanceID
  std::uint64_t next_seq_ = 1;
  bool shutting_down_ = false;
  std::mutex persist_mutex_;  ///< orders store writes; taken before mutex_, never after
  std::unique_ptr<worker_pool> pool_;
};

/// A CIM_Error instance (DSP0223): ErrorType from the status code, OwningEntity "vsnapd",
/// MessageID, Message, PerceivedSeverity, ErrorSource (a CIM object path, when given),
/// CIMStatusCode and CIMStatusCodeDescription.
instance make_cim_error(errc code, std::string_view message_id, std::string_view message,
                        const object_path* source, std::uint16_t perceived_severity);

}  // namespace vsnapd::cim::jobs
