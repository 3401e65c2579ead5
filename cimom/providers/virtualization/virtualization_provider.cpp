#include "cimom/providers/virtualization/virtualization_provider.hpp"

#include "cimom/name.hpp"
#include "cimom/providers/virtualization/model.hpp"
#include "common/log.hpp"

#include <chrono>

namespace vsnapd::cim::providers::virtualization {
namespace {

constexpr std::string_view log_channel = "cimom.virtualization";

// Which ValueMap the invoked declaration uses (see return_code.hpp).
code_set code_set_for(const class_decl& cls, std::string_view method) {
  if (name_equal(method, "DestroySnapshotTree") || name_equal(method, "ClearSnapshotState")) {
    return code_set::msvm;
  }
  if (name_equal(method, "RequestStateChange")) {
    return name_equal(cls.name, names::computer_system) ? code_set::msvm
                                                        : code_set::dmtf_state_change;
  }
  return code_set::dmtf;
}

// A service target must be ours: the keys a client sent (WS-Man clients often send only
// CreationClassName, or CreationClassName and Name) must match the singleton.
bool is_our_service(const object_path& target, const object_path& service) {
  for (const auto& k : target.keys()) {
    const value* mine = service.key(k.name);
    const auto* theirs = k.v.get_if<std::string>();
    if (mine == nullptr || theirs == nullptr || !name_equal(*mine->get_if<std::string>(), *theirs)) {
      return false;
    }
  }
  return true;
}

}  // namespace

error hv_error(const boost::system::error_code& ec, std::string_view what) {
  errc code = errc::failed;
  if (ec == hv::errc::no_such_system || ec == hv::errc::no_such_snapshot) {
    code = errc::not_found;
  } else if (ec == hv::errc::not_supported) {
    code = errc::not_supported;
  } else if (ec == hv::errc::invalid_argument) {
    code = errc::invalid_parameter;
  }
  return fail(code, std::string(what) + ": " + ec.message());
}

virtualization_provider::virtualization_provider(hv::hypervisor& hv, jobs::job_manager& jobs,
                                                 provider_state& state, std::string host)
    : hv_(hv), jobs_(jobs), state_(state), host_(std::move(host)) {}

virtualization_provider::~virtualization_provider() {
  std::vector<tracked_job> pending;
  {
    std::lock_guard lock(mutex_);
    pending.swap(started_jobs_);
  }
  // Our jobs call back into this object and the hypervisor: stop them and wait, so none runs
  // after we are gone. Apply cannot be cancelled; waiting for it is the only safe choice.
  for (const auto& j : pending) {
    (void)jobs_.request_state_change(j.path, static_cast<std::uint16_t>(jobs::requested_state::terminate),
                                     std::nullopt);
  }
  for (const auto& j : pending) {
    (void)jobs_.wait_until_final(j.path, std::chrono::hours(1));
  }
}

std::string virtualization_provider::last_refusal_for_test() const {
  std::lock_guard lock(mutex_);
  return last_refusal_;
}

virtualization_provider::outcome virtualization_provider::refuse(status st, std::string why) {
  outcome o;
  o.st = st;
  o.why = std::move(why);
  return o;
}

virtualization_provider::outcome virtualization_provider::refuse(
    const boost::system::error_code& ec, std::string what) {
  status st = status::failed;
  if (ec == hv::errc::no_such_system || ec == hv::errc::no_such_snapshot ||
      ec == hv::errc::invalid_argument || ec == hv::errc::already_exists) {
    st = status::invalid_parameter;
  } else if (ec == hv::errc::invalid_state) {
    st = status::invalid_state;
  } else if (ec == hv::errc::not_supported) {
    st = status::not_supported;
  } else if (ec == hv::errc::timed_out) {
    st = status::timeout;
  }
  return refuse(st, what + ": " + ec.message());
}

void virtualization_provider::prune_jobs() {
  std::vector<tracked_job> done;
  {
    std::lock_guard lock(mutex_);
    for (auto it = started_jobs_.begin(); it != started_jobs_.end();) {
      const auto st = jobs_.wait_until_final(it->path, std::chrono::milliseconds(0));
      if (!st || jobs::is_final(*st)) {
        done.push_back(std::move(*it));
        it = started_jobs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& j : done) {
    std::lock_guard lock(j.held->mutex);
    if (!j.held->started) {
      j.held->lease.reset();  // terminated while queued: its work will never release the VM
    }
  }
}

virtualization_provider::outcome virtualization_provider::start_job(
    std::string name, std::string element_name, const object_path& owner,
    std::vector<jobs::affected_element> affected, bool cancellable, vm_locks::lease lease,
    std::function<result<void>(jobs::job_context&, const hv::op_control&)> work) {
  jobs::job_spec spec;
  spec.ns = std::string(names::ns);
  spec.class_name = std::string(names::job);
  spec.name = std::move(name);
  spec.element_name = std::move(element_name);
  spec.owning_element = owner;
  spec.owning_association = "Msvm_OwningJobElement";
  spec.affected = std::move(affected);
  spec.affected_association = "Msvm_AffectedJobElement";
  spec.cancellable = cancellable;
  // Msvm_ConcreteJob publishes the flag (Hyper-V clients read it before offering a cancel).
  spec.extra_properties.push_back(property_value{"Cancellable", value(scalar(cancellable))});
  auto held = std::make_shared<job_lease>();
  held->lease = std::move(lease);
  auto path = jobs_.submit(
      std::move(spec), [held, work = std::move(work)](jobs::job_context& ctx) -> result<void> {
        {
          std::lock_guard lock(held->mutex);
          held->started = true;
        }
        hv::op_control ctl;
        ctl.progress = [&ctx](unsigned percent) {
          ctx.report_progress(static_cast<std::uint16_t>(percent));
        };
        ctl.stop = ctx.stop_token();
        auto r = work(ctx, ctl);
        // Release the VM before the job turns final, so a client that saw it finish can start
        // the next operation at once.
        std::lock_guard lock(held->mutex);
        held->lease.reset();
        return r;
      });
  if (!path) {
    return refuse(status::failed, "cannot start the job: " + path.error().description);
  }
  {
    std::lock_guard lock(mutex_);
    started_jobs_.push_back(tracked_job{*path, held});
  }
  outcome o;
  o.st = status::job_started;
  o.out.push_back(param_value{"Job", ref(*path)});
  return o;
}

result<method_result> virtualization_provider::invoke(const operation_context& ctx,
                                                      const class_decl& cls,
                                                      const object_path& target,
                                                      const method_decl& method,
                                                      std::vector<param_value> in) {
  (void)ctx;
  prune_jobs();
  const std::string& m = method.name;
  outcome o;
  const bool snapshot_method = name_equal(m, "CreateSnapshot") ||
                               name_equal(m, "DestroySnapshot") ||
                               name_equal(m, "ApplySnapshot") ||
                               name_equal(m, "DestroySnapshotTree") ||
                               name_equal(m, "ClearSnapshotState");
  const bool management_method = name_equal(m, "DefineSystem") ||
                                 name_equal(m, "DestroySystem") ||
                                 name_equal(m, "ModifySystemSettings");
  if (snapshot_method || management_method) {
    const object_path service =
        snapshot_method ? snapshot_service_path(host_) : management_service_path(host_);
    if (!is_our_service(target, service)) {
      return fail(errc::not_found, "no service " + target.to_string() + " on this host");
    }
  }
  if (name_equal(m, "CreateSnapshot")) {
    o = create_snapshot(in);
  } else if (name_equal(m, "DestroySnapshot")) {
    o = destroy_snapshot(in, false);
  } else if (name_equal(m, "DestroySnapshotTree")) {
    o = destroy_snapshot(in, true);
  } else if (name_equal(m, "ApplySnapshot")) {
    o = apply_snapshot(in);
  } else if (name_equal(m, "ClearSnapshotState")) {
    o = clear_snapshot_state(in);
  } else if (name_equal(m, "DefineSystem")) {
    o = define_system(in);
  } else if (name_equal(m, "DestroySystem")) {
    o = destroy_system(in);
  } else if (name_equal(m, "ModifySystemSettings")) {
    o = modify_system_settings(in);
  } else if (name_equal(m, "RequestStateChange")) {
    o = request_state_change(target, in);
  } else {
    // Declared (AddResourceSettings, StartService, ...) but not implemented here.
    return fail(errc::method_not_available, "vsnapd does not implement " + cls.name + "." + m);
  }
  const code_set set = code_set_for(cls, m);
  if (o.st != status::completed && o.st != status::job_started) {
    const std::string line = cls.name + "." + m + " returns " +
                             std::to_string(wire_code(set, o.st)) + " (" +
                             std::string(to_string(o.st)) + "): " + o.why;
    log::write(log::level::info, log_channel, line);
    std::lock_guard lock(mutex_);
    last_refusal_ = line;
  }
  method_result r;
  r.return_value = value(scalar(wire_code(set, o.st)));
  r.out = std::move(o.out);
  return r;
}

}  // namespace vsnapd::cim::providers::virtualization
