#include "cimom/runtime.hpp"

#include "cimom/indications/indication_bus.hpp"
#include "cimom/jobs/job_manager.hpp"
#include "cimom/jobs/job_provider.hpp"
#include "cimom/mof/compiler.hpp"
#include "cimom/persistence/instance_store.hpp"
#include "cimom/static_instance_provider.hpp"
#include "schema/embedded_schema.hpp"

#include <span>
#include <string_view>
#include <unordered_map>

namespace vsnapd::cim {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::string_view interop_ns = "root/interop";
constexpr std::string_view object_manager_name = "vsnapd";

std::chrono::microseconds since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start);
}

// Compiles every namespace entry file of the embedded schema as its own unit.
result<std::vector<mof::compiled_instance>> compile_schema(class_repository& repo,
                                                           std::span<const embedded_file> extra) {
  std::unordered_map<std::string_view, std::string_view> files;
  for (const auto& f : schema::mof_files()) {
    files.emplace(f.path, f.text);
  }
  for (const auto& f : extra) {
    files.emplace(f.path, f.text);
  }
  mof::compile_options options;
  options.read_file = [&files](const std::string& path, std::string& text, std::string& why) {
    const auto it = files.find(path);
    if (it == files.end()) {
      why = "not in the schema embedded in this binary";
      return false;
    }
    text.assign(it->second);
    return true;
  };
  mof::compiler compiler(repo, options);
  std::vector<std::string_view> units;
  for (const auto& entry : schema::namespace_entry_files) {
    units.push_back(entry.file);
  }
  for (const auto& f : extra) {
    units.push_back(f.path);
  }
  for (const auto unit : units) {
    if (!compiler.compile_file(std::string(unit))) {
      std::string text = "the embedded schema does not compile:";
      for (const auto& d : compiler.diags().all()) {
        text += "\n  " + mof::format(d, compiler.sources());
      }
      return fail(errc::failed, std::move(text));
    }
  }
  return compiler.instances();
}

instance object_manager_instance(std::string_view host) {
  instance om("CIM_ObjectManager");
  om.set("SystemCreationClassName", value("CIM_ComputerSystem"))
      .set("SystemName", value(host))
      .set("CreationClassName", value("CIM_ObjectManager"))
      .set("Name", value(object_manager_name))
      .set("ElementName", value(object_manager_name))
      .set("Description", value("vsnapd CIM object manager"));
  return om;
}

instance namespace_instance(std::string_view host, std::string_view ns) {
  instance n("CIM_Namespace");
  n.set("SystemCreationClassName", value("CIM_ComputerSystem"))
      .set("SystemName", value(host))
      .set("ObjectManagerCreationClassName", value("CIM_ObjectManager"))
      .set("ObjectManagerName", value(object_manager_name))
      .set("CreationClassName", value("CIM_Namespace"))
      .set("Name", value(ns))
      .set("ClassInfo", value(scalar(std::uint16_t{0})));  // "Unknown": DSP1033 deprecates it
  return n;
}

value ref(const object_path& p) { return value(scalar(std::make_shared<const object_path>(p))); }

}  // namespace

runtime::runtime() = default;
runtime::~runtime() = default;

result<std::unique_ptr<runtime>> runtime::start(const runtime_options& options) {
  const auto started = clock_type::now();
  std::unique_ptr<runtime> rt(new runtime());
  rt->repository_ = std::make_unique<class_repository>();
  class_repository& repo = *rt->repository_;

  const auto mof_start = clock_type::now();
  auto declared = VSNAPD_TRY(compile_schema(repo, options.extra_mof));
  rt->stats_.schema_load = since(mof_start);
  rt->stats_.namespaces = repo.namespaces().size();
  for (const auto& ns : repo.namespaces()) {
    rt->stats_.classes += repo.classes(ns).size();
  }

  rt->om_ = std::make_unique<object_manager>(repo);
  object_manager& om = *rt->om_;

  // Interop: the MOF-declared profile registrations plus the instances that describe this
  // server (DSP1033): the object manager, one CIM_Namespace per namespace, and the
  // Profile Registration profile's conformance of the object manager.
  rt->statics_ = std::make_unique<static_instance_provider>(repo);
  static_instance_provider& statics = *rt->statics_;
  for (const auto& d : declared) {
    if (auto added = statics.add(d.ns, d.value); !added) {
      return fail(errc::failed, "embedded schema instance of " + d.value.class_name() + ": " +
                                    added.error().description);
    }
  }
  const std::string host = options.host_name.empty() ? "localhost" : options.host_name;
  const object_path om_path = VSNAPD_TRY(statics.add(interop_ns, object_manager_instance(host)));
  for (const auto& ns : repo.namespaces()) {
    VSNAPD_TRY_VOID(statics.add(interop_ns, namespace_instance(host, ns)));
  }
  object_path dsp1033("root/interop", "CIM_RegisteredProfile");
  dsp1033.set_key("InstanceID", value("vsnapd:DSP1033-1.0.0"));
  VSNAPD_TRY_VOID(statics.add(interop_ns, instance("CIM_ElementConformsToProfile")
                                              .set("ConformantStandard", ref(dsp1033))
                                              .set("ManagedElement", ref(om_path))));
  for (const char* cls : {"CIM_RegisteredSpecification", "CIM_ReferencedSpecification",
                          "CIM_ElementConformsToProfile", "CIM_WBEMService", "CIM_Namespace"}) {
    VSNAPD_TRY_VOID(om.register_instance_provider(interop_ns, cls, statics));
  }
  for (const char* cls : {"CIM_ReferencedSpecification", "CIM_ElementConformsToProfile"}) {
    VSNAPD_TRY_VOID(om.register_association_provider(interop_ns, cls, statics));
  }
  rt->stats_.static_instances = statics.size();

  // Jobs: one manager for every namespace's CIM_ConcreteJob view, persisted when there is a
  // state directory, so a restart reports interrupted jobs instead of losing them.
  if (!options.state_dir.empty()) {
    persistence::store_options store_options;
    store_options.file = options.state_dir + "/cim.sqlite";
    rt->store_ = VSNAPD_TRY(persistence::instance_store::open(store_options));
  }
  rt->bus_ = std::make_unique<indications::indication_bus>(&repo);
  jobs::job_manager_options job_options;
  job_options.workers = options.job_workers;
  job_options.store = rt->store_.get();
  job_options.bus = rt->bus_.get();
  rt->jobs_ = VSNAPD_TRY(jobs::job_manager::open(job_options));
  rt->job_instances_ = std::make_unique<jobs::job_provider>(*rt->jobs_);
  rt->job_associations_ = std::make_unique<jobs::job_association_provider>(*rt->jobs_);
  for (const auto& ns : repo.namespaces()) {
    if (repo.find_class(ns, "CIM_ConcreteJob") != nullptr) {
      VSNAPD_TRY_VOID(om.register_instance_provider(ns, "CIM_ConcreteJob", *rt->job_instances_));
      VSNAPD_TRY_VOID(om.register_method_provider(ns, "CIM_ConcreteJob", *rt->job_instances_));
    }
    for (const char* assoc : {"CIM_OwningJobElement", "CIM_AffectedJobElement"}) {
      if (repo.find_class(ns, assoc) != nullptr) {
        VSNAPD_TRY_VOID(om.register_association_provider(ns, assoc, *rt->job_associations_));
      }
    }
  }
  rt->stats_.recovered_jobs = rt->jobs_->size();
  rt->stats_.total = since(started);
  return rt;
}

}  // namespace vsnapd::cim
