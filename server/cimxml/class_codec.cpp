#include "server/cimxml/class_codec.hpp"

#include "server/cimxml/instance_codec.hpp"

namespace vsnapd::server::cimxml {
namespace {

using cim::cim_type;

void attr(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  append_escaped(out, value);
  out += '"';
}

// Flavor attributes that differ from the DTD defaults (OVERRIDABLE and TOSUBCLASS true,
// TRANSLATABLE false), so ordinary qualifiers stay short.
void append_flavors(std::string& out, std::uint8_t flavors) {
  const auto has = [&](cim::flavor f) { return (flavors & static_cast<std::uint8_t>(f)) != 0; };
  if (!has(cim::flavor::enable_override)) {
    out += " OVERRIDABLE=\"false\"";
  }
  if (!has(cim::flavor::to_subclass)) {
    out += " TOSUBCLASS=\"false\"";
  }
  if (has(cim::flavor::translatable)) {
    out += " TRANSLATABLE=\"true\"";
  }
}

// The TYPE attribute text of a property or parameter type (embedded objects are strings).
std::string_view xml_type(cim_type t) {
  return t == cim_type::object ? std::string_view("string") : cim::to_string(t);
}

void append_origin(std::string& out, const std::string& class_origin, bool propagated) {
  if (!class_origin.empty()) {
    attr(out, "CLASSORIGIN", class_origin);
    if (propagated) {
      out += " PROPAGATED=\"true\"";
    }
  }
}

void append_qualifiers(std::string& out, const cim::qualifier_list& qs) {
  for (const cim::qualifier& q : qs) {
    append_qualifier(out, q);
  }
}

void append_property(std::string& out, const cim::property_decl& p) {
  if (p.type == cim_type::reference) {
    out += "<PROPERTY.REFERENCE";
    attr(out, "NAME", p.name);
    if (!p.ref_class.empty()) {
      attr(out, "REFERENCECLASS", p.ref_class);
    }
    append_origin(out, p.class_origin, p.propagated);
    out += '>';
    append_qualifiers(out, p.qualifiers);
    append_value(out, p.default_value);
    out += "</PROPERTY.REFERENCE>";
    return;
  }
  out += p.is_array ? "<PROPERTY.ARRAY" : "<PROPERTY";
  attr(out, "NAME", p.name);
  attr(out, "TYPE", xml_type(p.type));
  if (p.is_array && p.array_size) {
    attr(out, "ARRAYSIZE", std::to_string(*p.array_size));
  }
  append_origin(out, p.class_origin, p.propagated);
  if (p.type == cim_type::object) {
    out += p.embedded_class.empty() ? " EmbeddedObject=\"object\"" : " EmbeddedObject=\"instance\"";
  }
  out += '>';
  append_qualifiers(out, p.qualifiers);
  append_value(out, p.default_value);
  out += p.is_array ? "</PROPERTY.ARRAY>" : "</PROPERTY>";
}

void append_parameter(std::string& out, const cim::parameter_decl& p) {
  std::string_view element;
  if (p.type == cim_type::reference) {
    element = p.is_array ? "PARAMETER.REFARRAY" : "PARAMETER.REFERENCE";
  } else {
    element = p.is_array ? "PARAMETER.ARRAY" : "PARAMETER";
  }
  out += '<';
  out += element;
  attr(out, "NAME", p.name);
  if (p.type == cim_type::reference) {
    if (!p.ref_class.empty()) {
      attr(out, "REFERENCECLASS", p.ref_class);
    }
  } else {
    attr(out, "TYPE", xml_type(p.type));
  }
  if (p.is_array && p.array_size) {
    attr(out, "ARRAYSIZE", std::to_string(*p.array_size));
  }
  out += '>';
  append_qualifiers(out, p.qualifiers);
  out += "</";
  out += element;
  out += '>';
}

void append_method(std::string& out, const cim::method_decl& m) {
  out += "<METHOD";
  attr(out, "NAME", m.name);
  // DSP0201 makes TYPE optional, but wbemcli reads it to type the return value.
  if (m.return_type != cim_type::reference) {
    attr(out, "TYPE", xml_type(m.return_type));
  }
  append_origin(out, m.class_origin, m.propagated);
  out += '>';
  append_qualifiers(out, m.qualifiers);
  for (const cim::parameter_decl& p : m.parameters) {
    append_parameter(out, p);
  }
  out += "</METHOD>";
}

}  // namespace

void append_qualifier(std::string& out, const cim::qualifier& q) {
  const cim_type t = q.v.type();
  if (t == cim_type::reference || t == cim_type::object) {
    return;
  }
  out += "<QUALIFIER";
  attr(out, "NAME", q.name);
  attr(out, "TYPE", cim::to_string(t));
  if (q.propagated) {
    out += " PROPAGATED=\"true\"";
  }
  append_flavors(out, q.flavors);
  out += '>';
  append_value(out, q.v);
  out += "</QUALIFIER>";
}

void append_qualifier_decl(std::string& out, const cim::qualifier_decl& d) {
  out += "<QUALIFIER.DECLARATION";
  attr(out, "NAME", d.name);
  attr(out, "TYPE", xml_type(d.type));
  out += d.is_array ? " ISARRAY=\"true\"" : " ISARRAY=\"false\"";
  if (d.array_size) {
    attr(out, "ARRAYSIZE", std::to_string(*d.array_size));
  }
  append_flavors(out, d.flavors);
  out += "><SCOPE";
  const auto scope = [&](const char* name, cim::scope s) {
    if (d.allows(s)) {
      out += ' ';
      out += name;
      out += "=\"true\"";
    }
  };
  scope("CLASS", cim::scope::class_);
  scope("ASSOCIATION", cim::scope::association);
  scope("REFERENCE", cim::scope::reference);
  scope("PROPERTY", cim::scope::property);
  scope("METHOD", cim::scope::method);
  scope("PARAMETER", cim::scope::parameter);
  scope("INDICATION", cim::scope::indication);
  out += "></SCOPE>";
  append_value(out, d.default_value);
  out += "</QUALIFIER.DECLARATION>";
}

void append_class(std::string& out, const cim::class_decl& cls) {
  out += "<CLASS";
  attr(out, "NAME", cls.name);
  if (!cls.superclass.empty()) {
    attr(out, "SUPERCLASS", cls.superclass);
  }
  out += '>';
  append_qualifiers(out, cls.qualifiers);
  for (const cim::property_decl& p : cls.properties) {
    append_property(out, p);
  }
  for (const cim::method_decl& m : cls.methods) {
    append_method(out, m);
  }
  out += "</CLASS>";
}

}  // namespace vsnapd::server::cimxml
