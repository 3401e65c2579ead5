#pragma once
// Resource URIs (DSP0227 section 5, MS-WSMV 3.1.4.1.31): which namespace and class a WS-Man
// request addresses, and the URI each class is written under in replies.
//
// Accepted forms:
// - DMTF `http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/<Class>` and the vendor bases real
//   servers use (openwsman's vendor_namespaces: sblim, OpenWBEM, OMC, OpenPegasus, Intel AMT,
//   Dell); the class may carry any schema prefix under any of these bases;
// - Microsoft `http://schemas.microsoft.com/wbem/wsman/1/wmi/<namespace path>/<Class>`;
// - the all-classes forms `<base>/*` and `.../wmi/<namespace>/*` (filtered and association
//   enumeration);
// - the class-declaration URI `http://schemas.dmtf.org/wbem/cim-xml/2/cim-schema/2/*`
//   (Get-CimClass).
// A `__cimnamespace` selector chooses the namespace; for a Microsoft URI it must agree with the
// path (Windows faults on a mismatch, microsoft/omi#398).

#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cimom/class_repository.hpp"
#include "server/soap/fault.hpp"

namespace vsnapd::server::wsman {

/// How a client spelled the resource URI; replies write classes in the same style.
enum class uri_style : std::uint8_t { dmtf, microsoft };

/// What a resource URI addresses.
struct resource {
  enum class kind : std::uint8_t {
    one_class,     ///< instances of one class
    all_classes,   ///< `.../*`: the filter decides
    class_schema,  ///< the cim-xml class-declaration URI
  };
  kind what = kind::one_class;
  uri_style style = uri_style::dmtf;
  std::string ns;                        ///< canonical namespace name
  const cim::class_decl* cls = nullptr;  ///< for one_class
};

/// The namespace used when neither the URI nor `__cimnamespace` names one and the class lives
/// in several namespaces.
inline constexpr std::string_view default_namespace = "root/cimv2";

/// Resolves `uri`. `cimnamespace` is the `__cimnamespace` selector when present.
/// @return the resource, or wsa:DestinationUnreachable with InvalidResourceURI (unknown URI form
/// or class) or InvalidNamespace detail.
boost::system::result<resource, soap::fault> resolve(const cim::class_repository& repo,
                                                     std::string_view uri,
                                                     std::optional<std::string_view> cimnamespace);

/// The resource URI of `class_name` in `ns`, in `style`: Microsoft style puts the namespace in
/// the path; DMTF style picks the base from the class's schema prefix (CIM_ -> DMTF, Msvm_ ->
/// the Microsoft wmi URI, vendor prefixes -> the vendor's base, others -> DMTF).
std::string class_uri(uri_style style, std::string_view ns, std::string_view class_name);

/// True when a class URI written by `class_uri` in `style` would not carry `ns`, so an EPR
/// needs a `__cimnamespace` selector to be followed back.
bool needs_namespace_selector(uri_style style, std::string_view ns, std::string_view class_name);

}  // namespace vsnapd::server::wsman
