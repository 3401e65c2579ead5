#include "cimom/providers/virtualization/register.hpp"

#include "cimom/providers/virtualization/model.hpp"
#include "cimom/providers/virtualization/provider_state.hpp"
#include "cimom/providers/virtualization/virtualization_provider.hpp"
#include "cimom/runtime.hpp"

namespace vsnapd::cim::providers::virtualization {
namespace {

// Registered on the CIM_ classes so that CIM_ paths, CIM_ enumerations (through polymorphism)
// and the Msvm_ subclasses all reach the provider.
constexpr const char* instance_classes[] = {
    "CIM_ComputerSystem",
    "CIM_VirtualSystemSettingData",
    "CIM_ResourceAllocationSettingData",
    "CIM_VirtualSystemSnapshotService",
    "CIM_VirtualSystemManagementService",
    "CIM_VirtualSystemSnapshotServiceCapabilities",
    "CIM_VirtualSystemManagementCapabilities",
    "CIM_VirtualSystemSnapshotCapabilities",
};
constexpr const char* association_classes[] = {
    "CIM_HostedService",
    "CIM_ElementCapabilities",
    "CIM_SettingsDefineState",
    "CIM_VirtualSystemSettingDataComponent",
    "CIM_SnapshotOfVirtualSystem",
    "CIM_MostCurrentSnapshotInBranch",
    "CIM_LastAppliedSnapshot",
    "Msvm_ParentChildSettingData",  // no DMTF counterpart
};
constexpr const char* method_classes[] = {
    "CIM_ComputerSystem",
    "CIM_VirtualSystemSnapshotService",
    "CIM_VirtualSystemManagementService",
};

result<void> register_conformance(object_manager& om, std::string_view profile_id,
                                  const object_path& element) {
  object_path profile(std::string(names::interop_ns), "CIM_RegisteredProfile");
  profile.set_key("InstanceID", value(profile_id));
  instance ectp("CIM_ElementConformsToProfile");
  ectp.set("ConformantStandard", ref(profile)).set("ManagedElement", ref(element));
  operation_context ctx;
  ctx.ns = std::string(names::interop_ns);
  VSNAPD_TRY_VOID(om.create_instance(ctx, ectp));
  return {};
}

}  // namespace

virtualization_registration::virtualization_registration() = default;
virtualization_registration::~virtualization_registration() = default;

result<std::unique_ptr<virtualization_registration>> register_virtualization(
    runtime& rt, hv::hypervisor& hv, const host_facts& facts) {
  std::unique_ptr<virtualization_registration> reg(new virtualization_registration());
  reg->state_ = VSNAPD_TRY(provider_state::open(facts.state_dir));
  const std::string host = facts.host_name.empty() ? "localhost" : facts.host_name;
  reg->provider_ =
      std::make_unique<virtualization_provider>(hv, rt.jobs(), *reg->state_, host);
  object_manager& om = rt.om();
  virtualization_provider& p = *reg->provider_;
  for (const char* cls : instance_classes) {
    VSNAPD_TRY_VOID(om.register_instance_provider(names::ns, cls, p));
  }
  for (const char* cls : association_classes) {
    VSNAPD_TRY_VOID(om.register_association_provider(names::ns, cls, p));
  }
  for (const char* cls : method_classes) {
    VSNAPD_TRY_VOID(om.register_method_provider(names::ns, cls, p));
  }
  VSNAPD_TRY_VOID(
      register_conformance(om, names::dsp1044_profile_id, snapshot_service_path(host)));
  VSNAPD_TRY_VOID(register_conformance(om, "vsnapd:DSP1042-1.0.0", host_path(host)));
  return reg;
}

}  // namespace vsnapd::cim::providers::virtualization
