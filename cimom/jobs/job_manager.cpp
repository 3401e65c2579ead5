#include "cimom/jobs/job_manager.hpp"

#include "cimom/indications/indication_bus.hpp"
#include "cimom/jobs/worker_pool.hpp"
#include "cimom/name.hpp"
#include "cimom/persistence/instance_store.hpp"
#include "common/assert.hpp"
#include "common/log.hpp"
#include "common/uuid.hpp"

#include <algorithm>
#include <exception>

namespace vsnapd::cim::jobs {
namespace {

constexpr std::string_view log_channel = "cimom.jobs";
// Job records live in a namespace of their own: InstanceIDs are unique across namespaces, and
// recovery can enumerate every job with one query.
constexpr std::string_view record_ns = "vsnapd/jobs";

// MessageIDs of the CIM_Error instances this manager writes (OwningEntity "vsnapd").
constexpr std::string_view msg_daemon_stopped = "VSNAPD_JOB0001";
constexpr std::string_view msg_terminated = "VSNAPD_JOB0002";
constexpr std::string_view msg_killed = "VSNAPD_JOB0003";
constexpr std::string_view msg_failed = "VSNAPD_JOB0004";

// CIM_Error.PerceivedSeverity values used here.
constexpr std::uint16_t severity_information = 2;
constexpr std::uint16_t severity_major = 5;

std::int64_t micros_of(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
clock::time_point time_of(std::int64_t micros) {
  return clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::microseconds(micros)));
}
value timestamp(clock::time_point t) {
  return value(scalar(datetime::from_unix_micros(micros_of(t))));
}

value u16(std::uint16_t v) { return value(scalar(v)); }

object_path with_ns(object_path p, std::string_view ns) {
  if (p.ns().empty()) {
    p.set_ns(std::string(ns));
  }
  return p;
}

// The same object named two ways: equal keys (class-name keys case-insensitively), whatever
// class the path names. WS-Man clients name a job or a VM by a superclass (CIM_ConcreteJob,
// CIM_ComputerSystem under __cimnamespace), and Get already finds a job by its InstanceID
// alone; the associations of that job must be found the same way. Namespaces are compared by
// the caller (both paths carry the job's).
bool same_object(const object_path& a, const object_path& b) {
  if (!name_equal(normalize_namespace(a.ns()), normalize_namespace(b.ns())) ||
      a.keys().size() != b.keys().size()) {
    return false;
  }
  for (const auto& k : a.keys()) {
    const value* other = b.key(k.name);
    if (other == nullptr) {
      return false;
    }
    const auto* x = k.v.get_if<std::string>();
    const auto* y = other->get_if<std::string>();
    const bool class_key =
        name_equal(k.name, "CreationClassName") || name_equal(k.name, "SystemCreationClassName");
    if (class_key && x != nullptr && y != nullptr ? !name_equal(*x, *y) : !(k.v == *other)) {
      return false;
    }
  }
  return true;
}

// Where a job's record is stored.
object_path record_key(const std::string& id) {
  object_path key{std::string(record_ns), std::string(job_record_class)};
  key.set_key("InstanceID", value(std::string_view(id)));
  return key;
}

value ref(const object_path& p) { return value(scalar(std::make_shared<const object_path>(p))); }

}  // namespace

struct job_manager::job {
  std::string id;
  std::uint64_t seq = 0;
  object_path path;
  job_spec spec;
  job_work work;
  job_state state = job_state::new_job;
  std::uint16_t percent = 0;
  std::uint16_t error_code = 0;
  std::string error_description;
  std::shared_ptr<const instance> cim_error;
  clock::time_point submitted;
  clock::time_point last_change;
  std::optional<clock::time_point> started;
  std::optional<clock::time_point> finished;
  std::shared_ptr<stop_signal> stop = std::make_shared<stop_signal>();
  bool terminate_requested = false;
  bool removed = false;  ///< erased from jobs_; persist() must not write it back
};

instance make_cim_error(errc code, std::string_view message_id, std::string_view message,
                        const object_path* source, std::uint16_t perceived_severity) {
  // CIM_Error.ErrorType: 4 Software Error unless the status says more.
  std::uint16_t type = 4;
  switch (code) {
    case errc::access_denied:
      type = 7;
      break;  // Security Error
    case errc::not_supported:
    case errc::method_not_available:
      type = 10;
      break;  // Unsupported Operation Error
    case errc::server_limits_exceeded:
      type = 8;
      break;  // Oversubscription Error
    default:
      break;
  }
  instance e("CIM_Error");
  e.set("ErrorType", u16(type));
  e.set("OwningEntity", value("vsnapd"));
  e.set("MessageID", value(message_id));
  e.set("Message", value(message));
  e.set("MessageArguments", value::array(cim_type::string, {}));
  e.set("PerceivedSeverity", u16(perceived_severity));
  e.set("ProbableCause", u16(0));
  if (source != nullptr) {
    e.set("ErrorSource", value(std::string_view(source->to_string())));
    e.set("ErrorSourceFormat", u16(2));  // CIMObjectPath
  } else {
    e.set("ErrorSource", value::null(cim_type::string));
    e.set("ErrorSourceFormat", u16(0));
  }
  e.set("CIMStatusCode", value(scalar(static_cast<std::uint32_t>(code))));
  e.set("CIMStatusCodeDescription", value(to_string(code)));
  return e;
}

// job_context

void job_context::report_progress(std::uint16_t percent) {
  std::lock_guard lock(manager_->mutex_);
  const auto it = manager_->jobs_.find(id_);
  if (it != manager_->jobs_.end()) {
    auto& j = *it->second;
    j.percent = std::max(j.percent, std::min<std::uint16_t>(percent, 100));
  }
}

void job_context::add_affected_element(affected_element element) {
  std::shared_ptr<job_manager::job> j;
  {
    std::lock_guard lock(manager_->mutex_);
    const auto it = manager_->jobs_.find(id_);
    if (it == manager_->jobs_.end()) {
      return;
    }
    j = it->second;
    element.path = with_ns(std::move(element.path), j->spec.ns);
    j->spec.affected.push_back(std::move(element));
  }
  // A link to what the job created must survive a restart as much as the job does.
  manager_->persist(j);
}

// job_manager

job_manager::job_manager(job_manager_options options)
    : options_(std::move(options)),
      time_(options_.time != nullptr ? options_.time : &system_clock::instance()) {}

result<std::unique_ptr<job_manager>> job_manager::open(job_manager_options options) {
  std::unique_ptr<job_manager> m(new job_manager(std::move(options)));
  VSNAPD_TRY_VOID(m->recover());
  m->pool_ = std::make_unique<worker_pool>(m->options_.workers, m->options_.max_queued);
  return m;
}

job_manager::~job_manager() {
  std::vector<std::shared_ptr<job>> touched;
  std::vector<std::shared_ptr<stop_signal>> to_stop;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [id, j] : jobs_) {
      if (is_final(j->state)) {
        continue;
      }
      to_stop.push_back(j->stop);
      // Queued jobs will never run: say so now. Running ones are finished by run() when their
      // work returns (it sees stop_requested()).
      if (j->state == job_state::new_job) {
        fail_locked(*j, errc::server_is_shutting_down, msg_daemon_stopped,
                    "the daemon stopped before the job started");
        touched.push_back(j);
      }
    }
  }
  for (const auto& stop : to_stop) {
    stop->request();  // outside the mutex: stop callbacks may take the backend's locks
  }
  for (const auto& j : touched) {
    persist(j);
  }
  if (pool_) {
    (void)pool_->stop();
  }
}

result<void> job_manager::recover() {
  if (options_.store == nullptr) {
    return {};
  }
  auto cur = VSNAPD_TRY(options_.store->enumerate(record_ns, job_record_class));
  std::vector<instance> batch;
  std::vector<std::shared_ptr<job>> failed;
  for (bool more = true; more;) {
    batch.clear();
    more = VSNAPD_TRY(cur->next(batch, 256));
    for (const auto& r : batch) {
      auto j = std::make_shared<job>();
      const auto str = [&](std::string_view n) -> std::string {
        const value* v = r.get(n);
        const auto* s = v != nullptr ? v->get_if<std::string>() : nullptr;
        return s != nullptr ? *s : std::string();
      };
      const auto num = [&](std::string_view n) -> std::optional<std::int64_t> {
        const value* v = r.get(n);
        const auto* i = v != nullptr ? v->get_if<std::int64_t>() : nullptr;
        return i != nullptr ? std::optional<std::int64_t>(*i) : std::nullopt;
      };
      const auto flag = [&](std::string_view n) {
        const value* v = r.get(n);
        return v != nullptr && v->get_if<bool>() != nullptr && *v->get_if<bool>();
      };
      j->id = str("InstanceID");
      if (j->id.empty()) {
        return fail(errc::failed, "a stored job record has no InstanceID");
      }
      j->spec.ns = str("Namespace");
      j->spec.class_name = str("ClassName");
      j->spec.name = str("Name");
      j->spec.element_name = str("ElementName");
      j->spec.description = str("Description");
      j->spec.owning_association = str("OwningAssociation");
      j->spec.affected_association = str("AffectedAssociation");
      j->spec.cancellable = flag("Cancellable");
      j->spec.delete_on_completion = flag("DeleteOnCompletion");
      j->spec.time_before_removal = std::chrono::microseconds(num("TimeBeforeRemoval").value_or(0));
      if (const value* v = r.get("OwningElement");
          v != nullptr && v->get_if<reference>() != nullptr && *v->get_if<reference>() != nullptr) {
        j->spec.owning_element = **v->get_if<reference>();
      }
      if (const value* v = r.get("Affected"); v != nullptr && v->is_array() && !v->is_null()) {
        for (const auto& e : v->as_array()) {
          const auto* inst = std::get_if<embedded_instance>(&e);
          if (inst == nullptr || *inst == nullptr) {
            continue;
          }
          const value* el = (*inst)->get("Element");
          const value* fx = (*inst)->get("ElementEffects");
          if (el == nullptr || el->get_if<reference>() == nullptr ||
              *el->get_if<reference>() == nullptr) {
            continue;
          }
          affected_element a{**el->get_if<reference>(), {}};
          if (fx != nullptr && fx->is_array() && !fx->is_null()) {
            for (const auto& x : fx->as_array()) {
              a.effects.push_back(std::get<std::uint16_t>(x));
            }
          }
          j->spec.affected.push_back(std::move(a));
        }
      }
      if (const value* v = r.get("Extra"); v != nullptr &&
                                           v->get_if<embedded_instance>() != nullptr &&
                                           *v->get_if<embedded_instance>() != nullptr) {
        j->spec.extra_properties = (*v->get_if<embedded_instance>())->properties();
      }
      const auto state = job_state_from(static_cast<std::uint16_t>(num("JobState").value_or(0)));
      if (!state) {
        return fail(errc::failed, "stored job " + j->id + " has an invalid JobState");
      }
      j->state = *state;
      j->percent = static_cast<std::uint16_t>(num("PercentComplete").value_or(0));
      j->error_code = static_cast<std::uint16_t>(num("ErrorCode").value_or(0));
      j->error_description = str("ErrorDescription");
      if (const value* v = r.get("CimError");
          v != nullptr && v->get_if<embedded_instance>() != nullptr) {
        j->cim_error = *v->get_if<embedded_instance>();
      }
      j->seq = static_cast<std::uint64_t>(num("Seq").value_or(0));
      j->submitted = time_of(num("TimeSubmitted").value_or(0));
      j->last_change = time_of(num("TimeOfLastStateChange").value_or(0));
      if (const auto t = num("StartTime")) {
        j->started = time_of(*t);
      }
      if (const auto t = num("FinishTime")) {
        j->finished = time_of(*t);
      }
      j->path = object_path(j->spec.ns, j->spec.class_name);
      j->path.set_key("InstanceID", value(std::string_view(j->id)));
      next_seq_ = std::max(next_seq_, j->seq + 1);
      if (!is_final(j->state)) {
        // The work function died with the previous process: nothing can resume it, so the
        // client polling this job must learn that it failed and why.
        fail_locked(*j, errc::failed, msg_daemon_stopped, std::string(daemon_stopped_message));
        failed.push_back(j);
      }
      jobs_.emplace(j->id, std::move(j));
    }
  }
  for (const auto& j : failed) {
    log::write(log::level::warning, log_channel,
               "job " + j->id + " (" + j->spec.name + ") was running when the daemon stopped");
    persist(j);
  }
  return {};
}

result<object_path> job_manager::submit(job_spec spec, job_work work) {
  if (spec.ns.empty() || spec.class_name.empty() || !work) {
    return fail(errc::invalid_parameter, "a job needs a namespace, a class and a work function");
  }
  spec.ns = normalize_namespace(spec.ns);
  if (spec.owning_element) {
    spec.owning_element = with_ns(std::move(*spec.owning_element), spec.ns);
  }
  for (auto& a : spec.affected) {
    a.path = with_ns(std::move(a.path), spec.ns);
  }
  auto j = std::make_shared<job>();
  std::vector<std::shared_ptr<job>> removed;
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) {
      return fail(errc::server_is_shutting_down, "the daemon is stopping; no new jobs");
    }
    expire_locked(removed);
    do {
      j->id = random_uuid(uuid_case::upper);  // Hyper-V's GUID form
    } while (jobs_.count(j->id) != 0);
    j->seq = next_seq_++;
    j->spec = std::move(spec);
    j->work = std::move(work);
    j->path = object_path(j->spec.ns, j->spec.class_name);
    j->path.set_key("InstanceID", value(std::string_view(j->id)));
    j->submitted = j->last_change = now();
    jobs_.emplace(j->id, j);
    if (options_.bus != nullptr) {
      options_.bus->publish(indications::make_inst_creation(
          j->path, to_instance_locked(*j), datetime::from_unix_micros(micros_of(now()))));
    }
  }
  unpersist(removed);
  // Persisted before it can start, so a crash at any later moment finds it.
  persist(j);
  if (!pool_->post([this, j] { run(j); })) {
    {
      std::lock_guard lock(mutex_);
      remove_locked(j);
    }
    unpersist({j});
    return fail(errc::server_limits_exceeded,
                "too many queued jobs (" + std::to_string(options_.max_queued) + ")");
  }
  return j->path;
}

void job_manager::run(const std::shared_ptr<job>& j) {
  job_work work;
  {
    std::lock_guard lock(mutex_);
    if (j->state != job_state::new_job) {
      return;  // terminated or killed while queued
    }
    set_state_locked(*j, job_state::starting);
  }
  // Starting is not persisted on its own: Running follows at once, and a crash in between
  // recovers the New record as failed just the same. One fsync'd commit fewer per job.
  {
    std::lock_guard lock(mutex_);
    if (j->state != job_state::starting) {
      return;  // killed between the two steps
    }
    j->started = now();
    set_state_locked(*j, job_state::running);
    work = std::move(j->work);
  }
  persist(j);

  job_context ctx(this, j->id, j->stop);
  result<void> r;
  // The worker's top frame: a throwing work function must fail its job, not the daemon.
  try {
    r = work(ctx);
  } catch (const std::exception& e) {
    r = fail(errc::failed, std::string("the job's work threw: ") + e.what());
  } catch (...) {
    r = fail(errc::failed, "the job's work threw a non-standard exception");
  }

  {
    std::lock_guard lock(mutex_);
    if (is_final(j->state)) {
      return;  // killed: the outcome of the work no longer matters
    }
    // terminate_requested is set under this mutex before the stop signal fires (outside it), so
    // it is checked too: a Terminate that raced the work's return still ends as Terminated.
    if (j->terminate_requested || j->stop->requested()) {
      if (j->terminate_requested) {
        j->finished = now();
        j->error_description = "the job was terminated at a client's request";
        j->cim_error = std::make_shared<const instance>(make_cim_error(
            errc::failed, msg_terminated, j->error_description, &j->path, severity_information));
        set_state_locked(*j, job_state::terminated);
      } else {
        fail_locked(*j, errc::server_is_shutting_down, msg_daemon_stopped,
                    std::string(daemon_stopped_message));
      }
    } else if (!r) {
      const error& e = r.error();
      fail_locked(*j, e.code, msg_failed, e.description);
      if (e.cim_error) {
        j->cim_error = e.cim_error;
      }
    } else {
      j->finished = now();
      j->percent = 100;
      set_state_locked(*j, job_state::completed);
    }
  }
  persist(j);
}

void job_manager::set_state_locked(job& j, job_state s) {
  if (j.state == s) {
    return;
  }
  const instance before = options_.bus != nullptr ? to_instance_locked(j) : instance();
  j.state = s;
  j.last_change = now();
  if (is_final(s) && !j.finished) {
    j.finished = j.last_change;
  }
  if (options_.bus != nullptr) {
    options_.bus->publish(
        indications::make_inst_modification(j.path, before, to_instance_locked(j),
                                            datetime::from_unix_micros(micros_of(j.last_change))));
  }
  changed_.notify_all();
}

void job_manager::fail_locked(job& j, errc code, std::string_view message_id,
                              std::string description) {
  j.finished = now();
  j.error_code = static_cast<std::uint16_t>(code);
  j.error_description = std::move(description);
  j.cim_error = std::make_shared<const instance>(
      make_cim_error(code, message_id, j.error_description, &j.path, severity_major));
  set_state_locked(j, job_state::exception);
}

void job_manager::remove_locked(const std::shared_ptr<job>& j) {
  if (j->removed) {
    return;
  }
  j->removed = true;
  jobs_.erase(j->id);
  if (options_.bus != nullptr) {
    options_.bus->publish(indications::make_inst_deletion(
        j->path, to_instance_locked(*j), datetime::from_unix_micros(micros_of(now()))));
  }
  changed_.notify_all();
}

std::size_t job_manager::expire_locked(std::vector<std::shared_ptr<job>>& removed) {
  const auto t = now();
  std::vector<std::shared_ptr<job>> due;
  for (const auto& [id, j] : jobs_) {
    if (j->finished && is_final(j->state) && j->spec.delete_on_completion &&
        t >= *j->finished + j->spec.time_before_removal) {
      due.push_back(j);
    }
  }
  for (const auto& j : due) {
    remove_locked(j);
    removed.push_back(j);
  }
  return due.size();
}

std::size_t job_manager::collect_expired() {
  std::vector<std::shared_ptr<job>> removed;
  {
    std::lock_guard lock(mutex_);
    expire_locked(removed);
  }
  unpersist(removed);
  return removed.size();
}

std::shared_ptr<job_manager::job> job_manager::find_locked(const object_path& path) {
  const value* id = path.key("InstanceID");
  const auto* s = id != nullptr ? id->get_if<std::string>() : nullptr;
  if (s == nullptr) {
    return nullptr;
  }
  const auto it = jobs_.find(*s);
  if (it == jobs_.end() || !name_equal(normalize_namespace(path.ns()), it->second->spec.ns)) {
    return nullptr;
  }
  return it->second;
}

namespace {
error no_job(const object_path& path) {
  return fail(errc::not_found, "no job " + path.to_string());
}
}  // namespace

result<instance> job_manager::get(const object_path& path) {
  std::vector<std::shared_ptr<job>> removed;
  result<instance> out = no_job(path);
  {
    std::lock_guard lock(mutex_);
    expire_locked(removed);
    if (const auto j = find_locked(path)) {
      out = to_instance_locked(*j);
    }
  }
  unpersist(removed);
  return out;
}

std::vector<instance> job_manager::list(std::string_view ns, std::string_view class_name) {
  std::vector<std::shared_ptr<job>> removed;
  std::vector<std::pair<std::uint64_t, instance>> found;
  {
    std::lock_guard lock(mutex_);
    expire_locked(removed);
    const std::string want_ns = normalize_namespace(ns);
    for (const auto& [id, j] : jobs_) {
      if (name_equal(j->spec.ns, want_ns) && name_equal(j->spec.class_name, class_name)) {
        found.emplace_back(j->seq, to_instance_locked(*j));
      }
    }
  }
  unpersist(removed);
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<instance> out;
  out.reserve(found.size());
  for (auto& f : found) {
    out.push_back(std::move(f.second));
  }
  return out;
}

// RequestStateChange, per CIM_ConcreteJob 2.41:
//   RequestedState outside Start..Service            -> 5 Invalid Parameter
//   TimeoutPeriod given (other than a zero interval)  -> 4098 Timeout Not Supported
//   Suspend (3), Service (6)                          -> 1 Not Supported (no job here suspends)
//   Start (2)                                         -> 4097: only a Suspended job can be
//                                                        started, and none ever is
//   Terminate/Kill on a finished job                  -> 4097 Invalid State Transition
//   Terminate/Kill on a job that is not Cancellable   -> 1 Not Supported
//   Terminate on New                                  -> Terminated at once, 0
//   Terminate on Starting/Running                     -> Shutting Down, 4096 (Terminated when
//                                                        the work returns)
//   Terminate on Shutting Down                        -> 4096 (already under way)
//   Kill on any unfinished job                        -> Killed at once, 0 (the work is told to
//                                                        stop; its outcome is discarded)
result<rsc_status> job_manager::request_state_change(const object_path& path,
                                                     std::uint16_t requested,
                                                     const std::optional<datetime>& timeout) {
  if (requested < static_cast<std::uint16_t>(requested_state::start) ||
      requested > static_cast<std::uint16_t>(requested_state::service)) {
    return rsc_status::invalid_parameter;
  }
  if (timeout && !(timeout->is_interval() && timeout->interval_micros() == 0u)) {
    return rsc_status::timeout_not_supported;
  }
  const auto req = static_cast<requested_state>(requested);
  std::vector<std::shared_ptr<job>> removed;
  std::shared_ptr<job> changed;
  rsc_status status = rsc_status::completed;
  std::shared_ptr<stop_signal> to_stop;
  {
    std::lock_guard lock(mutex_);
    expire_locked(removed);
    const auto j = find_locked(path);
    if (!j) {
      return no_job(path);
    }
    if (req == requested_state::suspend || req == requested_state::service) {
      status = rsc_status::not_supported;
    } else if (req == requested_state::start || is_final(j->state)) {
      status = rsc_status::invalid_state_transition;
    } else if (!j->spec.cancellable) {
      status = rsc_status::not_supported;
    } else if (req == requested_state::kill) {
      to_stop = j->stop;
      j->finished = now();
      j->error_description = "the job was killed at a client's request";
      j->cim_error = std::make_shared<const instance>(make_cim_error(
          errc::failed, msg_killed, j->error_description, &j->path, severity_information));
      set_state_locked(*j, job_state::killed);
      changed = j;
    } else if (j->state == job_state::new_job) {
      to_stop = j->stop;
      j->terminate_requested = true;
      j->finished = now();
      j->error_description = "the job was terminated at a client's request";
      j->cim_error = std::make_shared<const instance>(make_cim_error(
          errc::failed, msg_terminated, j->error_description, &j->path, severity_information));
      set_state_locked(*j, job_state::terminated);
      changed = j;
    } else {
      to_stop = j->stop;
      j->terminate_requested = true;
      set_state_locked(*j, job_state::shutting_down);
      status = rsc_status::transition_started;
      changed = j;
    }
  }
  // Outside the mutex: the signal runs stop callbacks of whatever layer the work handed its
  // token to (a backend cancelling a QEMU job), and those may take their own locks.
  if (to_stop) {
    to_stop->request();
  }
  unpersist(removed);
  if (changed) {
    persist(changed);
  }
  return status;
}

result<kill_status> job_manager::kill_job(const object_path& path, bool delete_on_kill) {
  std::vector<std::shared_ptr<job>> removed;
  std::shared_ptr<job> changed;
  std::shared_ptr<stop_signal> to_stop;
  {
    std::lock_guard lock(mutex_);
    expire_locked(removed);
    const auto j = find_locked(path);
    if (!j) {
      return kill_status::not_found;
    }
    if (is_final(j->state)) {
      return kill_status::failed;
    }
    if (!j->spec.cancellable) {
      return kill_status::not_supported;
    }
    to_stop = j->stop;
    j->finished = now();
    j->error_description = "the job was killed at a client's request";
    j->cim_error = std::make_shared<const instance>(make_cim_error(
        errc::failed, msg_killed, j->error_description, &j->path, severity_information));
    set_state_locked(*j, job_state::killed);
    if (delete_on_kill) {
      remove_locked(j);
      removed.push_back(j);
    } else {
      changed = j;
    }
  }
  if (to_stop) {
    to_stop->request();  // outside the mutex, as in request_state_change
  }
  unpersist(removed);
  if (changed) {
    persist(changed);
  }
  return kill_status::success;
}

result<std::shared_ptr<const instance>> job_manager::get_error(const object_path& path) {
  std::lock_guard lock(mutex_);
  const auto j = find_locked(path);
  if (!j) {
    return no_job(path);
  }
  if (j->state == job_state::completed || !is_final(j->state)) {
    return std::shared_ptr<const instance>();
  }
  return j->cim_error;
}

result<void> job_manager::remove(const object_path& path) {
  std::shared_ptr<job> j;
  {
    std::lock_guard lock(mutex_);
    j = find_locked(path);
    if (!j) {
      return no_job(path);
    }
    if (!is_final(j->state)) {
      return fail(errc::failed, "job " + j->id + " is still " + std::string(to_string(j->state)) +
                                    "; terminate it before deleting it");
    }
    remove_locked(j);
  }
  unpersist({j});
  return {};
}

std::vector<instance> job_manager::associations(std::string_view ns, std::string_view assoc_class,
                                                const object_path& source, std::string_view role) {
  std::vector<std::shared_ptr<job>> removed;
  std::vector<std::pair<std::uint64_t, instance>> found;
  const std::string want_ns = normalize_namespace(ns);
  const object_path src = with_ns(source, want_ns);
  const auto role_ok = [&](std::string_view r) { return role.empty() || name_equal(role, r); };
  {
    std::lock_guard lock(mutex_);
    expire_locked(removed);
    for (const auto& [id, j] : jobs_) {
      if (!name_equal(j->spec.ns, want_ns)) {
        continue;
      }
      const bool is_job = same_object(src, j->path);
      if (name_equal(assoc_class, j->spec.owning_association) && j->spec.owning_element) {
        if ((is_job && role_ok("OwnedElement")) ||
            (same_object(src, with_ns(*j->spec.owning_element, want_ns)) &&
             role_ok("OwningElement"))) {
          instance a(j->spec.owning_association);
          a.set("OwningElement", ref(*j->spec.owning_element));
          a.set("OwnedElement", ref(j->path));
          found.emplace_back(j->seq, std::move(a));
        }
      }
      if (name_equal(assoc_class, j->spec.affected_association)) {
        for (const auto& e : j->spec.affected) {
          if ((is_job && role_ok("AffectingElement")) ||
              (same_object(src, with_ns(e.path, want_ns)) && role_ok("AffectedElement"))) {
            instance a(j->spec.affected_association);
            a.set("AffectedElement", ref(e.path));
            a.set("AffectingElement", ref(j->path));
            std::vector<scalar> fx(e.effects.begin(), e.effects.end());
            a.set("ElementEffects", value::array(cim_type::uint16, std::move(fx)));
            found.emplace_back(j->seq, std::move(a));
          }
        }
      }
    }
  }
  unpersist(removed);
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<instance> out;
  for (auto& f : found) {
    out.push_back(std::move(f.second));
  }
  return out;
}

std::optional<job_state> job_manager::wait_until_final(const object_path& path,
                                                       std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<job_state> out;
  changed_.wait_for(lock, timeout, [&] {
    const auto j = find_locked(path);
    out = j ? std::optional<job_state>(j->state) : std::nullopt;
    return !out || is_final(*out);
  });
  return out;
}

std::size_t job_manager::size() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

instance job_manager::to_instance_locked(const job& j) const {
  instance out(j.spec.class_name);
  out.set("InstanceID", value(std::string_view(j.id)));
  out.set("Name", value(std::string_view(j.spec.name)));
  if (!j.spec.element_name.empty()) {
    out.set("ElementName", value(std::string_view(j.spec.element_name)));
  }
  if (!j.spec.description.empty()) {
    out.set("Description", value(std::string_view(j.spec.description)));
  }
  out.set("JobState", u16(static_cast<std::uint16_t>(j.state)));
  out.set("JobStatus", value(to_string(j.state)));
  out.set("PercentComplete", u16(j.percent));
  out.set("ErrorCode", u16(j.error_code));
  out.set("ErrorDescription", j.error_description.empty()
                                  ? value::null(cim_type::string)
                                  : value(std::string_view(j.error_description)));
  out.set("TimeSubmitted", timestamp(j.submitted));
  out.set("StartTime", j.started ? timestamp(*j.started) : value::null(cim_type::datetime));
  // ElapsedTime: "the time interval that the Job has been executing or the total execution
  // time if the Job is complete" - zero before it starts.
  const auto end = j.finished ? *j.finished : now();
  out.set("ElapsedTime",
          value(scalar(datetime::from_duration(
              j.started ? end - *j.started : std::chrono::system_clock::duration::zero()))));
  out.set("TimeOfLastStateChange", timestamp(j.last_change));
  out.set("TimeBeforeRemoval", value(scalar(datetime::from_duration(j.spec.time_before_removal))));
  out.set("DeleteOnCompletion", value(scalar(j.spec.delete_on_completion)));
  // OperationalStatus: 2 OK while healthy, 6 Error on failure, 10 Stopped when terminated or
  // killed, plus 17 Completed once final (CIM_ConcreteJob's documented combinations).
  std::vector<scalar> op;
  switch (j.state) {
    case job_state::exception:
      op = {std::uint16_t{6}, std::uint16_t{17}};
      break;
    case job_state::terminated:
    case job_state::killed:
      op = {std::uint16_t{10}, std::uint16_t{17}};
      break;
    case job_state::completed:
      op = {std::uint16_t{2}, std::uint16_t{17}};
      break;
    default:
      op = {std::uint16_t{2}};
      break;
  }
  out.set("OperationalStatus", value::array(cim_type::uint16, std::move(op)));
  for (const auto& p : j.spec.extra_properties) {
    out.set(p.name, p.v);
  }
  return out;
}

instance job_manager::to_record_locked(const job& j) const {
  const auto i64 = [](std::int64_t v) { return value(scalar(v)); };
  instance r{std::string(job_record_class)};
  r.set("InstanceID", value(std::string_view(j.id)));
  r.set("Namespace", value(std::string_view(j.spec.ns)));
  r.set("ClassName", value(std::string_view(j.spec.class_name)));
  r.set("Name", value(std::string_view(j.spec.name)));
  r.set("ElementName", value(std::string_view(j.spec.element_name)));
  r.set("Description", value(std::string_view(j.spec.description)));
  r.set("OwningAssociation", value(std::string_view(j.spec.owning_association)));
  r.set("AffectedAssociation", value(std::string_view(j.spec.affected_association)));
  r.set("OwningElement",
        j.spec.owning_element ? ref(*j.spec.owning_element) : value::null(cim_type::reference));
  std::vector<scalar> affected;
  for (const auto& e : j.spec.affected) {
    auto a = std::make_shared<instance>("VSNAPD_AffectedElement");
    a->set("Element", ref(e.path));
    std::vector<scalar> fx(e.effects.begin(), e.effects.end());
    a->set("ElementEffects", value::array(cim_type::uint16, std::move(fx)));
    affected.emplace_back(embedded_instance(std::move(a)));
  }
  r.set("Affected", value::array(cim_type::object, std::move(affected)));
  r.set("Cancellable", value(scalar(j.spec.cancellable)));
  r.set("DeleteOnCompletion", value(scalar(j.spec.delete_on_completion)));
  r.set("TimeBeforeRemoval", i64(j.spec.time_before_removal.count()));
  auto extra = std::make_shared<instance>("VSNAPD_JobExtra");
  extra->properties() = j.spec.extra_properties;
  r.set("Extra", value(scalar(embedded_instance(std::move(extra)))));
  r.set("JobState", i64(static_cast<std::int64_t>(j.state)));
  r.set("PercentComplete", i64(j.percent));
  r.set("ErrorCode", i64(j.error_code));
  r.set("ErrorDescription", value(std::string_view(j.error_description)));
  r.set("CimError", j.cim_error ? value(scalar(j.cim_error)) : value::null(cim_type::object));
  r.set("Seq", i64(static_cast<std::int64_t>(j.seq)));
  r.set("TimeSubmitted", i64(micros_of(j.submitted)));
  r.set("TimeOfLastStateChange", i64(micros_of(j.last_change)));
  r.set("StartTime", j.started ? i64(micros_of(*j.started)) : value::null(cim_type::sint64));
  r.set("FinishTime", j.finished ? i64(micros_of(*j.finished)) : value::null(cim_type::sint64));
  return r;
}

void job_manager::persist(const std::shared_ptr<job>& j) {
  if (options_.store == nullptr) {
    return;
  }
  // persist_mutex_ is held from the snapshot to the write, so records reach the store in the
  // order their snapshots were taken: a slow older write never overwrites a newer state.
  std::lock_guard plock(persist_mutex_);
  instance record;
  const object_path key = record_key(j->id);
  {
    std::lock_guard lock(mutex_);
    if (j->removed) {
      return;
    }
    record = to_record_locked(*j);
  }
  if (auto r = options_.store->put(key, record); !r) {
    // The job goes on in memory; only its survival across a restart is at risk.
    log::write(log::level::error, log_channel,
               "cannot persist job " + j->id + ": " + r.error().description);
  }
}

void job_manager::unpersist(const std::vector<std::shared_ptr<job>>& removed) {
  if (options_.store == nullptr || removed.empty()) {
    return;
  }
  std::lock_guard plock(persist_mutex_);
  for (const auto& j : removed) {
    if (auto r = options_.store->erase(record_key(j->id)); !r) {
      log::write(log::level::error, log_channel,
                 "cannot delete the record of job " + j->id + ": " + r.error().description);
    }
  }
}

}  // namespace vsnapd::cim::jobs
