#pragma once
// The WS-CIM mapping (DSP0230) between CIM values and WS-Management XML, both ways.
//
// Out: an instance becomes `<p:Class xmlns:p="<class URI>">` with one child per property in class
// order; NULL is `xsi:nil="true"`, arrays are repeated elements (a NULL array one nil element, an
// empty array nothing), datetimes are `cim:Datetime` / `cim:Interval` (or `cim:CIM_DateTime` when
// the value has wildcards), references are EPRs (Address + ReferenceParameters), embedded
// instances are elements of type `<Class>_Type` with the embedded class's properties as children.
// The prefixes `s`, `wsa`, `wsman`, `xsi` and `cim` must be declared by the enclosing envelope
// (`envelope_namespaces`); each instance declares its own class prefix.
//
// In: the reverse, typed by the schema (every value arrives as text and is converted with
// cim::parse_scalar / cim::convert), accepting what real clients send: EPRs bare or wrapped in
// `wsa:EndpointReference`, with or without `__cimnamespace` and CreationClassName selectors;
// embedded instances as escaped or CDATA CIM-XML `<INSTANCE>` text, as a DSP0230 element with
// or without `xsi:type` (or wrapping a `<Class>` element), or an empty string (NULL); datetimes
// in any of the DSP0230 forms or as raw CIM text.
//
// Format code only (STYLE rule 5): no object manager, no I/O. Thread-safe (no state).

#include <functional>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cimom/class_repository.hpp"
#include "cimom/error.hpp"
#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"
#include "server/wsman/resource_uri.hpp"

namespace vsnapd::server::wsman {

/// The xmlns declarations (leading space included) every reply envelope carries so that codec
/// output can use the wsa, wsman, xsi and cim prefixes.
std::string_view envelope_namespaces();

/// How to write URIs and which namespace a path without one lives in.
struct write_context {
  uri_style style = uri_style::dmtf;
  std::string_view ns;                          ///< the operation's namespace
  const cim::class_repository* repo = nullptr;  ///< for property types of embedded instances
};

/// Appends `inst` as a DSP0230 instance element with prefix `prefix` (declared on the element).
/// `cls` gives datetime/embedded typing hints and may be null (values carry their types).
void append_instance(std::string& out, const cim::instance& inst, const write_context& ctx,
                     std::string_view prefix = "p");

/// Appends one property element `<prefix:name>` for `v` (several for an array).
void append_property(std::string& out, std::string_view prefix, std::string_view name,
                     const cim::value& v, const write_context& ctx);

/// Appends the children of an EPR for `path` (wsa:Address and wsa:ReferenceParameters), without
/// a wrapping element. A `__cimnamespace` selector is added where the URI alone would not lead
/// back to the path's namespace.
void append_epr_content(std::string& out, const cim::object_path& path, const write_context& ctx);

/// The same wrapped in `<wsa:EndpointReference>`.
void append_epr(std::string& out, const cim::object_path& path, const write_context& ctx);

/// What reading needs: the schema and the namespace relative paths default to.
struct read_context {
  const cim::class_repository* repo = nullptr;
  std::string_view ns;
  /// Parses a CIM-XML `<INSTANCE>` element given as text (the CIM-XML codec's parser); when
  /// empty, embedded instances in that encoding are refused with errc::not_supported.
  std::function<cim::result<cim::instance>(std::string_view)> parse_cimxml_instance;
};

/// Parses an xs:dateTime (`2024-02-29T12:30:00.5+01:00`, `...Z`, or without a zone: UTC) into a
/// CIM timestamp; nullopt when malformed.
std::optional<cim::datetime> parse_xs_datetime(std::string_view text);

/// The concatenated text and CDATA content of `element` (not trimmed).
std::string element_text(pugi::xml_node element);

/// Reads an instance of `cls` from a DSP0230 element whose children are property elements
/// (matched by local name, case-insensitively). Elements in the WS-CIM common namespace
/// (`cim:Location`, which Windows adds) are ignored.
/// @return the instance with typed values; errc::no_such_property for an unknown element,
/// errc::invalid_parameter / errc::type_mismatch for a bad value.
cim::result<cim::instance> parse_instance(pugi::xml_node element, const cim::class_decl& cls,
                                          const read_context& ctx);

/// Reads the value of a property or parameter from its element(s): `elements` are the sibling
/// elements carrying it (several for an array), typed as declared.
cim::result<cim::value> parse_value(const std::vector<pugi::xml_node>& elements, cim::cim_type type,
                                    bool is_array, std::string_view embedded_class,
                                    const read_context& ctx);

/// Reads an EPR: `node` is a `wsa:EndpointReference`, or an element holding `wsa:Address` /
/// `wsa:ReferenceParameters` directly (a reference property or selector value).
/// @return the instance path; errc::invalid_parameter when it is not an EPR of a known class.
cim::result<cim::object_path> parse_epr(pugi::xml_node node, const read_context& ctx);

}  // namespace vsnapd::server::wsman
