#include "cimom/jobs/job_provider.hpp"

#include "cimom/jobs/job_manager.hpp"
#include "cimom/name.hpp"

namespace vsnapd::cim::jobs {
namespace {

// The path with the operation's namespace when the client left it out.
object_path in_ns(const object_path& p, const operation_context& ctx) {
  if (!p.ns().empty()) {
    return p;
  }
  object_path out = p;
  out.set_ns(ctx.ns);
  return out;
}

const value* param(const std::vector<param_value>& in, std::string_view name) {
  for (const auto& p : in) {
    if (name_equal(p.name, name)) {
      return &p.v;
    }
  }
  return nullptr;
}

method_result returns(std::uint32_t code) { return method_result{value(scalar(code)), {}}; }

}  // namespace

// cim::instance_provider

result<instance> job_provider::get_instance(const operation_context& ctx, const class_decl&,
                                            const object_path& path) {
  return manager_.get(in_ns(path, ctx));
}

result<std::unique_ptr<instance_cursor>> job_provider::enumerate_instances(
    const operation_context& ctx, const class_decl& cls) {
  return std::unique_ptr<instance_cursor>(
      std::make_unique<vector_cursor>(manager_.list(ctx.ns, cls.name)));
}

result<void> job_provider::delete_instance(const operation_context& ctx, const class_decl&,
                                           const object_path& path) {
  return manager_.remove(in_ns(path, ctx));
}

// cim::method_provider

result<method_result> job_provider::invoke(const operation_context& ctx, const class_decl& cls,
                                           const object_path& target, const method_decl& method,
                                           std::vector<param_value> in) {
  const object_path path = in_ns(target, ctx);
  if (name_equal(method.name, "RequestStateChange")) {
    const value* rs = param(in, "RequestedState");
    const auto* state = rs != nullptr ? rs->get_if<std::uint16_t>() : nullptr;
    if (state == nullptr) {
      // A missing or NULL RequestedState is the method's own "Invalid Parameter" (5), not a
      // CIM error: the schema declares it as a return value.
      return returns(static_cast<std::uint32_t>(rsc_status::invalid_parameter));
    }
    std::optional<datetime> timeout;
    if (const value* t = param(in, "TimeoutPeriod"); t != nullptr && t->get_if<datetime>()) {
      timeout = *t->get_if<datetime>();
    }
    const auto status = VSNAPD_TRY(manager_.request_state_change(path, *state, timeout));
    return returns(static_cast<std::uint32_t>(status));
  }
  if (name_equal(method.name, "GetError") || name_equal(method.name, "GetErrors")) {
    const auto err = VSNAPD_TRY(manager_.get_error(path));
    method_result out = returns(0);  // Success
    if (name_equal(method.name, "GetError")) {
      out.out.push_back({"Error", err ? value(scalar(err)) : value::null(cim_type::object)});
    } else {
      std::vector<scalar> all;
      if (err) {
        all.emplace_back(err);
      }
      out.out.push_back({"Errors", value::array(cim_type::object, std::move(all))});
    }
    return out;
  }
  if (name_equal(method.name, "KillJob")) {
    const value* d = param(in, "DeleteOnKill");
    const bool del = d != nullptr && d->get_if<bool>() != nullptr && *d->get_if<bool>();
    const auto status = VSNAPD_TRY(manager_.kill_job(path, del));
    return returns(static_cast<std::uint32_t>(status));
  }
  return fail(errc::method_not_found, "class " + cls.name + " has no method " + method.name);
}

// cim::association_provider

result<std::unique_ptr<instance_cursor>> job_association_provider::references(
    const operation_context& ctx, const class_decl& assoc_class, const object_path& source,
    std::string_view role) {
  return std::unique_ptr<instance_cursor>(std::make_unique<vector_cursor>(
      manager_.associations(ctx.ns, assoc_class.name, in_ns(source, ctx), role)));
}

}  // namespace vsnapd::cim::jobs
