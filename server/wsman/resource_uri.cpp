#include "server/wsman/resource_uri.hpp"

#include <array>

#include "cimom/name.hpp"
#include "cimom/object_path.hpp"
#include "common/text.hpp"

namespace vsnapd::server::wsman {
namespace {

constexpr std::string_view dmtf_base = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
constexpr std::string_view dmtf_all = "http://schemas.dmtf.org/wbem/wscim/1/*";
constexpr std::string_view ms_wmi = "http://schemas.microsoft.com/wbem/wsman/1/wmi/";
constexpr std::string_view class_schema_uri =
    "http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*";

struct vendor {
  std::string_view class_prefix;  ///< "Linux_"; empty for none
  std::string_view base;          ///< ends with '/'
};

// openwsman's vendor_namespaces plus the Dell and AMT bases Intel-AMT-style tools send.
constexpr std::array vendors{
    vendor{"CIM_", dmtf_base},
    vendor{"OpenWBEM_", "http://schema.openwbem.org/wbem/wscim/1/cim-schema/2/"},
    vendor{"Linux_", "http://sblim.sf.net/wbem/wscim/1/cim-schema/2/"},
    vendor{"OMC_", "http://schema.omc-project.org/wbem/wscim/1/cim-schema/2/"},
    vendor{"PG_", "http://schema.openpegasus.org/wbem/wscim/1/cim-schema/2/"},
    vendor{"AMT_", "http://intel.com/wbem/wscim/1/amt-schema/1/"},
    vendor{"IPS_", "http://intel.com/wbem/wscim/1/ips-schema/1/"},
    vendor{"DCIM_", "http://schemas.dell.com/wbem/wscim/1/cim-schema/2/"},
};

soap::fault invalid_uri(std::string_view uri, std::string why) {
  return soap::fault{soap::fault_code::destination_unreachable,
                     soap::fault_detail::invalid_resource_uri,
                     "The resource URI '" + std::string(uri) + "' " + why,
                     {},
                     {},
                     0};
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// The namespace holding `class_name` when the URI does not say: the default namespace if it
// has the class, else the first namespace (in creation order) that does.
std::string_view find_namespace_of(const cim::class_repository& repo, std::string_view class_name) {
  if (repo.find_class(default_namespace, class_name) != nullptr) {
    return repo.canonical_namespace(default_namespace);
  }
  for (const std::string& ns : repo.namespaces()) {
    if (repo.find_class(ns, class_name) != nullptr) {
      return repo.canonical_namespace(ns);
    }
  }
  return {};
}

}  // namespace

boost::system::result<resource, soap::fault> resolve(const cim::class_repository& repo,
                                                     std::string_view uri,
                                                     std::optional<std::string_view> cimnamespace) {
  resource r;
  std::string explicit_ns;
  if (cimnamespace) {
    explicit_ns = cim::normalize_namespace(*cimnamespace);
    if (!repo.has_namespace(explicit_ns)) {
      return soap::fault{soap::fault_code::destination_unreachable,
                         soap::fault_detail::invalid_namespace,
                         "The namespace '" + std::string(*cimnamespace) + "' does not exist.",
                         {},
                         {},
                         0};
    }
    explicit_ns = std::string(repo.canonical_namespace(explicit_ns));
  }
  if (uri.empty()) {
    return invalid_uri(uri, "is missing; wsman:ResourceURI is required for this action.");
  }
  std::string_view class_name;
  std::string path_ns;
  if (iequals(uri, class_schema_uri)) {
    r.what = resource::kind::class_schema;
    r.ns = explicit_ns.empty() ? std::string(default_namespace) : explicit_ns;
    return r;
  }
  if (starts_with_ci(uri, ms_wmi)) {
    // .../wmi/root/virtualization/v2/Msvm_X: everything up to the last '/' is the namespace.
    r.style = uri_style::microsoft;
    const std::string_view rest = uri.substr(ms_wmi.size());
    const auto slash = rest.rfind('/');
    if (slash == std::string_view::npos || slash == 0) {
      return invalid_uri(uri, "does not name a namespace and a class.");
    }
    path_ns = cim::normalize_namespace(rest.substr(0, slash));
    if (!repo.has_namespace(path_ns)) {
      return soap::fault{soap::fault_code::destination_unreachable,
                         soap::fault_detail::invalid_namespace,
                         "The namespace '" + path_ns + "' of the resource URI does not exist.",
                         {},
                         {},
                         0};
    }
    path_ns = std::string(repo.canonical_namespace(path_ns));
    if (!explicit_ns.empty() && !cim::name_equal(explicit_ns, path_ns)) {
      return soap::fault{soap::fault_code::invalid_selectors,
                         soap::fault_detail::invalid_namespace,
                         "The __cimnamespace selector '" + explicit_ns +
                             "' disagrees with the namespace of the resource URI '" + path_ns +
                             "'.",
                         {},
                         {},
                         0};
    }
    class_name = rest.substr(slash + 1);
  } else if (iequals(uri, dmtf_all)) {
    r.what = resource::kind::all_classes;
    r.ns = explicit_ns.empty() ? std::string(default_namespace) : explicit_ns;
    return r;
  } else {
    const vendor* found = nullptr;
    for (const vendor& v : vendors) {
      if (starts_with_ci(uri, v.base)) {
        found = &v;
        break;
      }
      // The vendor's all-classes form, "<base without cim-schema/2/>*", as for DMTF.
    }
    if (found == nullptr) {
      const auto star = uri.rfind("/*");
      if (star != std::string_view::npos && star + 2 == uri.size()) {
        for (const vendor& v : vendors) {
          const std::string_view base = v.base;
          const auto wscim = base.find("/wscim/1/");
          if (wscim != std::string_view::npos &&
              iequals(uri.substr(0, star + 1), base.substr(0, wscim + 9))) {
            r.what = resource::kind::all_classes;
            r.ns = explicit_ns.empty() ? std::string(default_namespace) : explicit_ns;
            return r;
          }
        }
      }
      return invalid_uri(uri, "is not a CIM class URI this service knows.");
    }
    class_name = uri.substr(found->base.size());
  }

  if (class_name == "*") {
    r.what = resource::kind::all_classes;
    r.ns = !path_ns.empty()      ? path_ns
           : explicit_ns.empty() ? std::string(default_namespace)
                                 : explicit_ns;
    return r;
  }
  if (class_name.empty() || class_name.find('/') != std::string_view::npos) {
    return invalid_uri(uri, "does not end in a class name.");
  }
  std::string ns = !path_ns.empty() ? path_ns : explicit_ns;
  if (ns.empty()) {
    ns = std::string(find_namespace_of(repo, class_name));
  }
  r.cls = ns.empty() ? nullptr : repo.find_class(ns, class_name);
  if (r.cls == nullptr) {
    return invalid_uri(uri, ns.empty() ? std::string("names a class no namespace has.")
                                       : "names a class namespace '" + ns + "' does not have.");
  }
  r.ns = std::move(ns);
  return r;
}

std::string class_uri(uri_style style, std::string_view ns, std::string_view class_name) {
  std::string out;
  if (style == uri_style::microsoft || starts_with_ci(class_name, "Msvm_")) {
    out.reserve(ms_wmi.size() + ns.size() + class_name.size() + 1);
    out += ms_wmi;
    out += ns;
    out += '/';
    out += class_name;
    return out;
  }
  std::string_view base = dmtf_base;
  for (const vendor& v : vendors) {
    if (starts_with_ci(class_name, v.class_prefix)) {
      base = v.base;
      break;
    }
  }
  out.reserve(base.size() + class_name.size());
  out += base;
  out += class_name;
  return out;
}

bool needs_namespace_selector(uri_style style, std::string_view ns, std::string_view class_name) {
  if (style == uri_style::microsoft || starts_with_ci(class_name, "Msvm_")) {
    return false;
  }
  return !cim::name_equal(ns, default_namespace);
}

}  // namespace vsnapd::server::wsman
