#pragma once
// CIM-XML (DSP0201 / DTD DSP0203 2.4) encoding and decoding of instances, values and object
// paths: the pieces every CIM-XML operation and the WS-Man embedded-instance parameters share.
//
// Output always uses explicit end tags (`<PROPERTY ...></PROPERTY>`, never `<PROPERTY/>`):
// wbemcli's parser rejects the self-closing forms. Every string is escaped; characters XML 1.0
// cannot carry at all (C0 controls other than TAB, CR, LF) become U+FFFD, because a document
// containing them is not well-formed and clients would drop the whole response.
//
// Input accepts what real clients send: embedded instances as escaped or CDATA text in a VALUE
// of a PROPERTY/PARAMVALUE marked `EmbeddedObject="instance"` or the Pegasus 2.6 spelling
// `EMBEDDEDOBJECT`, untyped KEYVALUEs, and VALUE.REFERENCE in every path form.
//
// Pure functions over strings and pugixml nodes: no I/O, thread-safe.

#include "cimom/class_decl.hpp"
#include "cimom/error.hpp"
#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"
#include "cimom/value.hpp"

#include <pugixml.hpp>

#include <string>
#include <string_view>

namespace vsnapd::server::cimxml {

// --- Decoding ------------------------------------------------------------------------------

/// Parses one `<INSTANCE>` element given as text, as it arrives (already unescaped or from a
/// CDATA section) in a CIM-XML or WS-Man embedded-instance parameter. Leading XML declaration
/// and surrounding white space are allowed; anything else around the element is not.
/// @return the instance (property values typed by their TYPE attributes; embedded instances
/// parsed recursively), or errc::invalid_parameter saying what is wrong and where.
[[nodiscard]] cim::result<cim::instance> parse_instance(std::string_view cimxml_instance_text);

/// Parses an `<INSTANCE>` element node (see parse_instance(std::string_view)).
[[nodiscard]] cim::result<cim::instance> parse_instance(pugi::xml_node instance_element);

/// Parses an `<INSTANCENAME>` element: class name and key bindings (KEYVALUE typed by its TYPE
/// attribute when present, else by VALUETYPE: string, boolean, or numeric as sint64/uint64/real64
/// for the object manager to coerce; VALUE.REFERENCE keys as references). The namespace is empty.
[[nodiscard]] cim::result<cim::object_path> parse_instance_name(pugi::xml_node instancename);

/// Parses the child of a VALUE.REFERENCE (or the VALUE.REFERENCE itself): INSTANCEPATH,
/// LOCALINSTANCEPATH, INSTANCENAME, CLASSPATH, LOCALCLASSPATH or CLASSNAME.
[[nodiscard]] cim::result<cim::object_path> parse_reference(pugi::xml_node value_reference);

/// Parses a LOCALNAMESPACEPATH (NAMESPACE+) into "a/b/c".
[[nodiscard]] cim::result<std::string> parse_local_namespace(pugi::xml_node localnamespacepath);

/// The text of an element: its PCDATA and CDATA children concatenated (a VALUE may mix both).
std::string text_of(pugi::xml_node element);

/// True when a PROPERTY/PARAMVALUE/RETURNVALUE marks its string value as an embedded instance
/// or object (`EmbeddedObject` in either spelling, DSP0201 and Pegasus 2.6).
bool is_embedded(pugi::xml_node element);

/// Parses the value child of a property or parameter element (`VALUE`, `VALUE.ARRAY`,
/// `VALUE.REFERENCE`, `VALUE.REFARRAY`, `INSTANCE`; none = NULL) as `type`/`is_array`. With
/// `type` object, string VALUEs are parsed as embedded instances.
[[nodiscard]] cim::result<cim::value> parse_value_of(pugi::xml_node holder, cim::cim_type type,
                                                     bool is_array);

// --- Encoding ------------------------------------------------------------------------------

/// Appends `text` escaped for element content or a double-quoted attribute value.
void append_escaped(std::string& out, std::string_view text);

/// Appends `<INSTANCE CLASSNAME=...>` with one PROPERTY / PROPERTY.ARRAY / PROPERTY.REFERENCE per
/// property value, in the instance's order. `cls` (the resolved class, may be null) supplies
/// REFERENCECLASS and the embedded-object kind; without it both come from the values.
void append_instance(std::string& out, const cim::instance& inst, const cim::class_decl* cls);

/// Appends the `<VALUE>` / `<VALUE.ARRAY>` / `<VALUE.REFERENCE>` / `<VALUE.REFARRAY>` of a
/// non-NULL value (nothing for NULL). Embedded instances become escaped INSTANCE text.
void append_value(std::string& out, const cim::value& v);

/// Appends one scalar as `<VALUE>text</VALUE>` (or VALUE.REFERENCE for references).
void append_scalar(std::string& out, const cim::scalar& s);

/// Appends `<INSTANCENAME CLASSNAME=...>` with KEYBINDINGs (KEYVALUE with VALUETYPE and TYPE).
void append_instance_name(std::string& out, const cim::object_path& path);

/// Appends `<LOCALNAMESPACEPATH>` for "a/b".
void append_local_namespace(std::string& out, std::string_view ns);

/// Appends `<INSTANCEPATH>` (NAMESPACEPATH with `host` unless the path has its own) for
/// VALUE.OBJECTWITHPATH, VALUE.INSTANCEWITHPATH and OBJECTPATH.
void append_instance_path(std::string& out, const cim::object_path& path, std::string_view host);

/// Appends `<VALUE.REFERENCE>` in the most specific form the path allows: INSTANCEPATH with a
/// host, LOCALINSTANCEPATH with a namespace, INSTANCENAME otherwise (class paths likewise).
void append_reference(std::string& out, const cim::object_path& path);

}  // namespace vsnapd::server::cimxml
