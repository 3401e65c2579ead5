#include "server/wsman/resource_uri.hpp"

#include <catch2/catch.hpp>

#include "cimom/runtime.hpp"
#include "tests/fixtures/test_fixture.hpp"

using namespace vsnapd;
using namespace vsnapd::server::wsman;

namespace {

// The product schema (root/cimv2, root/interop, root/virtualization/v2) plus the fixture.
const cim::class_repository& repo() {
  static std::unique_ptr<cim::runtime> rt = [] {
    cim::runtime_options o;
    o.extra_mof = vsnapd::testing::fixture_mof();
    auto r = cim::runtime::start(o);
    REQUIRE(r);
    return std::move(*r);
  }();
  return rt->repository();
}

constexpr std::string_view dmtf = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
constexpr std::string_view wmi = "http://schemas.microsoft.com/wbem/wsman/1/wmi/";

}  // namespace

TEST_CASE("resource_uri: every accepted URI form resolves to namespace and class",
          "[server][wsman][resource_uri]") {
  struct row {
    std::string uri;
    std::optional<std::string_view> cimns;
    resource::kind kind;
    std::string_view ns;
    std::string_view cls;
    uri_style style;
  };
  const row rows[] = {
      {std::string(dmtf) + "Vsnapd_TestElement", std::nullopt, resource::kind::one_class,
       "root/vsnapd/test", "Vsnapd_TestElement", uri_style::dmtf},
      {std::string(dmtf) + "vsnapd_testelement", "root/vsnapd/test", resource::kind::one_class,
       "root/vsnapd/test", "Vsnapd_TestElement", uri_style::dmtf},
      {std::string(dmtf) + "CIM_RegisteredProfile", "ROOT\\interop", resource::kind::one_class,
       "root/interop", "CIM_RegisteredProfile", uri_style::dmtf},
      {std::string(wmi) + "root/virtualization/v2/Msvm_VirtualSystemSnapshotService", std::nullopt,
       resource::kind::one_class, "root/virtualization/v2", "Msvm_VirtualSystemSnapshotService",
       uri_style::microsoft},
      {std::string(wmi) + "root/vsnapd/test/Vsnapd_TestElement", "root/vsnapd/test",
       resource::kind::one_class, "root/vsnapd/test", "Vsnapd_TestElement", uri_style::microsoft},
      {std::string(wmi) + "root/vsnapd/test/*", std::nullopt, resource::kind::all_classes,
       "root/vsnapd/test", "", uri_style::microsoft},
      {"http://schemas.dmtf.org/wbem/wscim/1/*", std::nullopt, resource::kind::all_classes,
       "root/cimv2", "", uri_style::dmtf},
      {"http://schemas.dmtf.org/wbem/wscim/1/*", "root/vsnapd/test", resource::kind::all_classes,
       "root/vsnapd/test", "", uri_style::dmtf},
      {std::string(dmtf) + "*", std::nullopt, resource::kind::all_classes, "root/cimv2", "",
       uri_style::dmtf},
      {"http://sblim.sf.net/wbem/wscim/1/*", std::nullopt, resource::kind::all_classes,
       "root/cimv2", "", uri_style::dmtf},
      {"http://sblim.sf.net/wbem/wscim/1/cim-schema/2/Vsnapd_TestElement", std::nullopt,
       resource::kind::one_class, "root/vsnapd/test", "Vsnapd_TestElement", uri_style::dmtf},
      {"http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*", "root/interop",
       resource::kind::class_schema, "root/interop", "", uri_style::dmtf},
  };
  for (const row& r : rows) {
    INFO(r.uri);
    auto res = resolve(repo(), r.uri, r.cimns);
    REQUIRE(res.has_value());
    CHECK(res->what == r.kind);
    CHECK(res->ns == r.ns);
    CHECK(res->style == r.style);
    if (!r.cls.empty()) {
      REQUIRE(res->cls != nullptr);
      CHECK(res->cls->name == r.cls);
    }
  }
}

TEST_CASE("resource_uri: unknown forms, classes and namespaces are refused with their detail",
          "[server][wsman][resource_uri]") {
  using server::soap::fault_code;
  using server::soap::fault_detail;
  struct row {
    std::string uri;
    std::optional<std::string_view> cimns;
    fault_code code;
    fault_detail detail;
  };
  const row rows[] = {
      {"", std::nullopt, fault_code::destination_unreachable, fault_detail::invalid_resource_uri},
      {"http://example.com/x/Thing", std::nullopt, fault_code::destination_unreachable,
       fault_detail::invalid_resource_uri},
      {std::string(dmtf) + "CIM_NoSuchClass", std::nullopt, fault_code::destination_unreachable,
       fault_detail::invalid_resource_uri},
      {std::string(dmtf) + "Vsnapd_TestElement", "root/interop",
       fault_code::destination_unreachable, fault_detail::invalid_resource_uri},
      {std::string(dmtf) + "Vsnapd_TestElement", "root/nope", fault_code::destination_unreachable,
       fault_detail::invalid_namespace},
      {std::string(wmi) + "root/nope/Vsnapd_TestElement", std::nullopt,
       fault_code::destination_unreachable, fault_detail::invalid_namespace},
      {std::string(wmi) + "Vsnapd_TestElement", std::nullopt, fault_code::destination_unreachable,
       fault_detail::invalid_resource_uri},
      {std::string(wmi) + "root/vsnapd/test/Vsnapd_TestElement", "root/cimv2",
       fault_code::invalid_selectors, fault_detail::invalid_namespace},
      {std::string(dmtf) + "a/b", std::nullopt, fault_code::destination_unreachable,
       fault_detail::invalid_resource_uri},
  };
  for (const row& r : rows) {
    INFO(r.uri << " ns=" << r.cimns.value_or("-"));
    auto res = resolve(repo(), r.uri, r.cimns);
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == r.code);
    CHECK(res.error().detail == r.detail);
  }
}

TEST_CASE("resource_uri: class URIs follow the class prefix and the request style",
          "[server][wsman][resource_uri]") {
  CHECK(class_uri(uri_style::dmtf, "root/cimv2", "CIM_ComputerSystem") ==
        std::string(dmtf) + "CIM_ComputerSystem");
  CHECK(class_uri(uri_style::dmtf, "root/virtualization/v2", "Msvm_ComputerSystem") ==
        std::string(wmi) + "root/virtualization/v2/Msvm_ComputerSystem");
  CHECK(class_uri(uri_style::microsoft, "root/cimv2", "CIM_ComputerSystem") ==
        std::string(wmi) + "root/cimv2/CIM_ComputerSystem");
  CHECK(class_uri(uri_style::dmtf, "root/cimv2", "Linux_OperatingSystem") ==
        "http://sblim.sf.net/wbem/wscim/1/cim-schema/2/Linux_OperatingSystem");
  CHECK(needs_namespace_selector(uri_style::dmtf, "root/interop", "CIM_RegisteredProfile"));
  CHECK_FALSE(needs_namespace_selector(uri_style::dmtf, "root/cimv2", "CIM_ComputerSystem"));
  CHECK_FALSE(
      needs_namespace_selector(uri_style::microsoft, "root/interop", "CIM_RegisteredProfile"));
  // Every URI class_uri writes resolves back to the same class.
  for (auto style : {uri_style::dmtf, uri_style::microsoft}) {
    const std::string uri = class_uri(style, "root/vsnapd/test", "Vsnapd_TestLink");
    auto r = resolve(repo(), uri, std::optional<std::string_view>("root/vsnapd/test"));
    REQUIRE(r.has_value());
    CHECK(r->cls->name == "Vsnapd_TestLink");
  }
}
