#pragma once
// CIM-XML encoding of schema elements (DSP0201 section 5.3.2): CLASS with its qualifiers,
// properties and METHODs (each METHOD and PARAMETER with its TYPE, which wbemcli's `cm` and `ci`
// read before they build a call), QUALIFIER and QUALIFIER.DECLARATION. Explicit end tags
// everywhere, as in instance_codec.hpp. Pure functions, thread-safe.

#include "cimom/class_decl.hpp"
#include "cimom/qualifier.hpp"

#include <string>

namespace vsnapd::server::cimxml {

/// Appends `<CLASS NAME SUPERCLASS>`. The object manager has already applied LocalOnly,
/// IncludeQualifiers, IncludeClassOrigin and PropertyList, so everything in `cls` is written;
/// CLASSORIGIN and PROPAGATED appear only where `class_origin` is set.
void append_class(std::string& out, const cim::class_decl& cls);

/// Appends one `<QUALIFIER>` with its flavors (only those that differ from the DTD defaults).
/// Qualifiers whose type has no CIM-XML TYPE (references, embedded objects) are skipped.
void append_qualifier(std::string& out, const cim::qualifier& q);

/// Appends `<QUALIFIER.DECLARATION>` with SCOPE and the default value.
void append_qualifier_decl(std::string& out, const cim::qualifier_decl& d);

}  // namespace vsnapd::server::cimxml
