#include "server/cimxml/instance_codec.hpp"

#include "cimom/name.hpp"
#include "common/xml/qname.hpp"

#include <charconv>
#include <cstring>
#include <type_traits>
#include <memory>
#include <utility>
#include <vector>

namespace vsnapd::server::cimxml {
namespace {

using cim::cim_type;
using cim::errc;
using cim::fail;

// The element's name as a view (pugixml returns "" for an empty node).
std::string_view name_of(pugi::xml_node n) { return n.name(); }

bool named(pugi::xml_node n, std::string_view name) { return name_of(n) == name; }

// The first element child, skipping the QUALIFIERs a PROPERTY or PARAMETER may start with.
pugi::xml_node value_child(pugi::xml_node holder) {
  for (pugi::xml_node c = holder.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && !named(c, "QUALIFIER")) {
      return c;
    }
  }
  return {};
}


using xml::first_element;
using xml::next_element;

cim::error bad(std::string what) { return fail(errc::invalid_parameter, std::move(what)); }

// A required attribute, or an error naming the element.
cim::result<std::string_view> required_attr(pugi::xml_node n, const char* attr) {
  const pugi::xml_attribute a = n.attribute(attr);
  if (!a) {
    return bad(std::string(n.name()) + " has no " + attr + " attribute");
  }
  return std::string_view(a.value());
}

cim::result<cim_type> type_attr(pugi::xml_node n, const char* attr) {
  auto text = required_attr(n, attr);
  if (!text) {
    return text.error();
  }
  const auto t = cim::parse_cim_type(*text);
  if (!t || *t == cim_type::object) {
    return bad(std::string(n.name()) + " has an unknown " + attr + " '" + std::string(*text) + "'");
  }
  return *t;
}

// One VALUE as `type` (object: an embedded instance as text).
cim::result<cim::scalar> scalar_of(pugi::xml_node value_element, cim_type type) {
  const std::string text = text_of(value_element);
  if (type == cim_type::object) {
    auto inst = parse_instance(text);
    if (!inst) {
      return inst.error();
    }
    return cim::scalar(std::make_shared<const cim::instance>(std::move(*inst)));
  }
  return cim::parse_scalar(type, text);
}

cim::result<cim::scalar> reference_of(pugi::xml_node value_reference) {
  auto p = parse_reference(value_reference);
  if (!p) {
    return p.error();
  }
  return cim::scalar(std::make_shared<const cim::object_path>(std::move(*p)));
}

// An untyped numeric KEYVALUE: the object manager converts it to the key's type, so any lossless
// carrier will do; reals only when the text cannot be an integer.
cim::result<cim::scalar> untyped_number(std::string_view text) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const bool real = !hex && text.find_first_of(".eE") != std::string_view::npos;
  if (real) {
    return cim::parse_scalar(cim_type::real64, text);
  }
  return cim::parse_scalar(!text.empty() && text[0] == '-' ? cim_type::sint64 : cim_type::uint64,
                           text);
}

cim::result<cim::scalar> key_value_of(pugi::xml_node keyvalue) {
  const std::string text = text_of(keyvalue);
  const pugi::xml_attribute type = keyvalue.attribute("TYPE");
  if (type) {
    const auto t = cim::parse_cim_type(type.value());
    if (!t || *t == cim_type::object || *t == cim_type::reference) {
      return bad("KEYVALUE has an unknown TYPE '" + std::string(type.value()) + "'");
    }
    return cim::parse_scalar(*t, text);
  }
  const std::string_view vt = keyvalue.attribute("VALUETYPE").as_string("string");
  if (vt == "string") {
    return cim::scalar(text);
  }
  if (vt == "boolean") {
    return cim::parse_scalar(cim_type::boolean, text);
  }
  if (vt == "numeric") {
    return untyped_number(text);
  }
  return bad("KEYVALUE has an unknown VALUETYPE '" + std::string(vt) + "'");
}

// Splits "a/b/c" into NAMESPACE elements.
void append_namespace_elements(std::string& out, std::string_view ns) {
  while (!ns.empty()) {
    const auto slash = ns.find('/');
    const std::string_view part = ns.substr(0, slash);
    if (!part.empty()) {
      out += "<NAMESPACE NAME=\"";
      append_escaped(out, part);
      out += "\"></NAMESPACE>";
    }
    ns = slash == std::string_view::npos ? std::string_view{} : ns.substr(slash + 1);
  }
}

void append_class_name(std::string& out, std::string_view name) {
  out += "<CLASSNAME NAME=\"";
  append_escaped(out, name);
  out += "\"></CLASSNAME>";
}

// VALUETYPE of a KEYVALUE (DSP0201 section 5.3.2.7).
std::string_view value_type_of(cim_type t) {
  if (t == cim_type::boolean) {
    return "boolean";
  }
  return cim::is_numeric(t) ? "numeric" : "string";
}

// The text of a scalar in a VALUE. Booleans are written TRUE/FALSE as OpenPegasus and SFCB do
// (DSP0201 compares them case-insensitively); everything else is cim::to_text's exact form.
void append_scalar_text(std::string& out, const cim::scalar& s) {
  if (const bool* b = std::get_if<bool>(&s)) {
    out += *b ? "TRUE" : "FALSE";
    return;
  }
  if (const auto* e = std::get_if<cim::embedded_instance>(&s)) {
    std::string inner;
    if (*e) {
      append_instance(inner, **e, nullptr);
    }
    append_escaped(out, inner);
    return;
  }
  // The hot forms of an enumeration are written without the temporary string cim::to_text
  // builds; their text is the same (decimal integers, the datetime verbatim).
  if (const auto* str = std::get_if<std::string>(&s)) {
    append_escaped(out, *str);
    return;
  }
  if (const auto* dt = std::get_if<cim::datetime>(&s)) {
    out += dt->text();  // digits, '.', '+', '-', ':', '*': nothing to escape
    return;
  }
  const bool written = std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                      !std::is_same_v<T, char16_t>) {
          char buf[24];
          // int8/uint8 print as numbers, not characters: widen before formatting.
          const auto r = std::to_chars(buf, buf + sizeof buf,
                                       static_cast<std::conditional_t<std::is_signed_v<T>,
                                                                      long long, unsigned long long>>(v));
          out.append(buf, r.ptr);
          return true;
        } else {
          return false;
        }
      },
      s);
  if (!written) {
    append_escaped(out, cim::to_text(s));
  }
}

// The DTD's TYPE for a property of `t`: embedded objects travel as strings.
std::string_view type_name(cim_type t) {
  return t == cim_type::object ? std::string_view("string") : cim::to_string(t);
}

}  // namespace

// --- Decoding ------------------------------------------------------------------------------

std::string text_of(pugi::xml_node element) {
  std::string out;
  for (pugi::xml_node c = element.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
      out += c.value();
    }
  }
  return out;
}

bool is_embedded(pugi::xml_node element) {
  // DSP0201 spells it EmbeddedObject; OpenPegasus 2.6 wrote EMBEDDEDOBJECT (pywbem#950).
  return element.attribute("EmbeddedObject") || element.attribute("EMBEDDEDOBJECT");
}

cim::result<std::string> parse_local_namespace(pugi::xml_node lnp) {
  if (!named(lnp, "LOCALNAMESPACEPATH")) {
    return bad("expected LOCALNAMESPACEPATH, found '" + std::string(lnp.name()) + "'");
  }
  std::string ns;
  for (pugi::xml_node c = first_element(lnp); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) {
      continue;
    }
    if (!named(c, "NAMESPACE")) {
      return bad("LOCALNAMESPACEPATH holds '" + std::string(c.name()) + "', not NAMESPACE");
    }
    auto name = required_attr(c, "NAME");
    if (!name) {
      return name.error();
    }
    if (!ns.empty()) {
      ns += '/';
    }
    ns += *name;
  }
  if (ns.empty()) {
    return bad("LOCALNAMESPACEPATH has no NAMESPACE");
  }
  return cim::normalize_namespace(ns);
}

cim::result<cim::object_path> parse_instance_name(pugi::xml_node in) {
  if (!named(in, "INSTANCENAME")) {
    return bad("expected INSTANCENAME, found '" + std::string(in.name()) + "'");
  }
  auto cls = required_attr(in, "CLASSNAME");
  if (!cls) {
    return cls.error();
  }
  cim::object_path path("", std::string(*cls));
  bool any = false;
  for (pugi::xml_node c = first_element(in); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) {
      continue;
    }
    any = true;
    if (named(c, "KEYBINDING")) {
      auto name = required_attr(c, "NAME");
      if (!name) {
        return name.error();
      }
      const pugi::xml_node v = first_element(c);
      cim::result<cim::scalar> s = named(v, "KEYVALUE")          ? key_value_of(v)
                                   : named(v, "VALUE.REFERENCE") ? reference_of(v)
                                                                 : cim::result<cim::scalar>(bad(
                                                                       "KEYBINDING '" +
                                                                       std::string(*name) +
                                                                       "' has no KEYVALUE"));
      if (!s) {
        return cim::error{s.error().code,
                          "key '" + std::string(*name) + "': " + s.error().description, {}};
      }
      path.set_key(std::string(*name), cim::value(std::move(*s)));
    } else if (named(c, "KEYVALUE") || named(c, "VALUE.REFERENCE")) {
      // DSP0201 allows a single unnamed key; the object manager cannot route it by name, and
      // no client we know sends it.
      return bad("INSTANCENAME with an unnamed key is not supported; use KEYBINDING");
    } else {
      return bad("INSTANCENAME holds '" + std::string(c.name()) + "'");
    }
  }
  if (!any) {
    path.set_singleton(true);  // a keyless class: the one instance (DSP0201 5.3.2.7)
  }
  return path;
}

cim::result<cim::object_path> parse_reference(pugi::xml_node n) {
  if (named(n, "VALUE.REFERENCE")) {
    n = first_element(n);
  }
  const std::string_view kind = name_of(n);
  if (kind == "INSTANCENAME") {
    return parse_instance_name(n);
  }
  if (kind == "CLASSNAME") {
    auto name = required_attr(n, "NAME");
    if (!name) {
      return name.error();
    }
    return cim::object_path("", std::string(*name));
  }
  if (kind == "LOCALINSTANCEPATH" || kind == "LOCALCLASSPATH") {
    auto ns = parse_local_namespace(first_element(n));
    if (!ns) {
      return ns.error();
    }
    auto p = parse_reference(next_element(first_element(n)));
    if (!p) {
      return p.error();
    }
    p->set_ns(std::move(*ns));
    return p;
  }
  if (kind == "INSTANCEPATH" || kind == "CLASSPATH") {
    const pugi::xml_node nsp = first_element(n);
    if (!named(nsp, "NAMESPACEPATH")) {
      return bad(std::string(kind) + " has no NAMESPACEPATH");
    }
    const pugi::xml_node host = first_element(nsp);
    if (!named(host, "HOST")) {
      return bad("NAMESPACEPATH has no HOST");
    }
    auto ns = parse_local_namespace(next_element(host));
    if (!ns) {
      return ns.error();
    }
    auto p = parse_reference(next_element(nsp));
    if (!p) {
      return p.error();
    }
    p->set_ns(std::move(*ns));
    p->set_host(text_of(host));
    return p;
  }
  return bad("'" + std::string(kind) + "' is not an object path element");
}

cim::result<cim::value> parse_value_of(pugi::xml_node holder, cim_type type, bool is_array) {
  const pugi::xml_node v = value_child(holder);
  const std::string_view kind = name_of(v);
  if (!v) {
    return cim::value::null(type, is_array);
  }
  if (kind == "VALUE") {
    // An empty VALUE where an embedded instance goes carries no instance: NULL, as in the
    // WS-Man codec. Windows clients send "" for an absent SnapshotSettings, and a wbemcli user
    // typing SnapshotSettings="" means the same.
    if (type == cim_type::object && text_of(v).find_first_not_of(" \t\r\n") == std::string::npos) {
      return cim::value::null(type, is_array);
    }
    auto s = scalar_of(v, type);
    if (!s) {
      return s.error();
    }
    return cim::value(std::move(*s));
  }
  if (kind == "VALUE.ARRAY" || kind == "VALUE.REFARRAY") {
    const bool refs = kind == "VALUE.REFARRAY";
    std::vector<cim::scalar> elements;
    for (pugi::xml_node e = first_element(v); e; e = e.next_sibling()) {
      if (e.type() != pugi::node_element) {
        continue;
      }
      if (named(e, "VALUE.NULL")) {
        // cim::value arrays have no NULL elements (value.hpp); say so rather than drop one.
        return bad("NULL array elements (VALUE.NULL) are not supported");
      }
      cim::result<cim::scalar> s = refs && named(e, "VALUE.REFERENCE") ? reference_of(e)
                                   : !refs && named(e, "VALUE")        ? scalar_of(e, type)
                                                                       : cim::result<cim::scalar>(bad(
                                                                             std::string(kind) + " holds '" +
                                                                             e.name() + "'"));
      if (!s) {
        return s.error();
      }
      elements.push_back(std::move(*s));
    }
    return cim::value::array(refs ? cim_type::reference : type, std::move(elements));
  }
  if (kind == "VALUE.REFERENCE" || kind == "INSTANCENAME" || kind == "CLASSNAME") {
    auto s = reference_of(v);
    if (!s) {
      return s.error();
    }
    return cim::value(std::move(*s));
  }
  if (kind == "INSTANCE" || kind == "VALUE.NAMEDINSTANCE") {
    // A direct INSTANCE child: the form pywbem sends for embedded-instance parameters.
    auto inst = parse_instance(kind == "INSTANCE" ? v : v.child("INSTANCE"));
    if (!inst) {
      return inst.error();
    }
    return cim::value(cim::scalar(std::make_shared<const cim::instance>(std::move(*inst))));
  }
  return bad(std::string(holder.name()) + " holds unsupported '" + std::string(kind) + "'");
}

cim::result<cim::instance> parse_instance(pugi::xml_node el) {
  if (!named(el, "INSTANCE")) {
    return bad("expected INSTANCE, found '" + std::string(el.name()) + "'");
  }
  auto cls = required_attr(el, "CLASSNAME");
  if (!cls) {
    return cls.error();
  }
  cim::instance inst{std::string(*cls)};
  for (pugi::xml_node p = first_element(el); p; p = p.next_sibling()) {
    if (p.type() != pugi::node_element || named(p, "QUALIFIER")) {
      continue;
    }
    auto name = required_attr(p, "NAME");
    if (!name) {
      return name.error();
    }
    const std::string_view kind = name_of(p);
    cim_type type = cim_type::reference;
    if (kind == "PROPERTY" || kind == "PROPERTY.ARRAY") {
      auto t = type_attr(p, "TYPE");
      if (!t) {
        return t.error();
      }
      type = is_embedded(p) ? cim_type::object : *t;
    } else if (kind != "PROPERTY.REFERENCE") {
      return bad("INSTANCE " + std::string(*cls) + " holds '" + std::string(kind) + "'");
    }
    auto v = parse_value_of(p, type, kind == "PROPERTY.ARRAY");
    if (!v) {
      return cim::error{v.error().code,
                        "property '" + std::string(*name) + "' of " + std::string(*cls) + ": " +
                            v.error().description,
                        {}};
    }
    inst.set(*name, std::move(*v));
  }
  return inst;
}

cim::result<cim::instance> parse_instance(std::string_view text) {
  // pugixml drops character data outside the root element silently; refuse it instead.
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] != '<' || text[last] != '>')) {
    return bad("embedded instance text holds text outside the INSTANCE element");
  }
  pugi::xml_document doc;
  // parse_ws_pcdata_single keeps a VALUE holding only blanks (a legitimate string); no DOCTYPE
  // or entity processing happens with these options (pugixml skips DOCTYPE without
  // parse_doctype and knows only the predefined entities).
  const pugi::xml_parse_result r = doc.load_buffer(
      text.data(), text.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
      pugi::encoding_utf8);
  if (!r) {
    return bad("embedded instance is not well-formed XML: " + std::string(r.description()) +
               " at byte " + std::to_string(r.offset));
  }
  pugi::xml_node root;
  for (pugi::xml_node c = doc.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) {
      if (root) {
        return bad("embedded instance text holds more than one element");
      }
      root = c;
    } else if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
      return bad("embedded instance text holds text outside the INSTANCE element");
    }
  }
  if (!root) {
    return bad("embedded instance text holds no element");
  }
  return parse_instance(root);
}

// --- Encoding ------------------------------------------------------------------------------

void append_escaped(std::string& out, std::string_view text) {
  // Copies runs of plain characters whole: most values (names, numbers, keys) have nothing to
  // escape, and enumerations write millions of them.
  std::size_t run = 0;
  const auto flush = [&](std::size_t i) {
    out.append(text.data() + run, i - run);
    run = i + 1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c > '>') {
      continue;
    }
    switch (c) {
      case '&': flush(i); out += "&amp;"; break;
      case '<': flush(i); out += "&lt;"; break;
      case '>': flush(i); out += "&gt;"; break;
      case '"': flush(i); out += "&quot;"; break;
      case '\'': flush(i); out += "&apos;"; break;
      // CR, LF and TAB as references so that they survive attribute-value normalization.
      case '\r': flush(i); out += "&#13;"; break;
      case '\n': flush(i); out += "&#10;"; break;
      case '\t': flush(i); out += "&#9;"; break;
      default:
        if (c < 0x20) {
          flush(i);
          out += "\xEF\xBF\xBD";  // U+FFFD: XML 1.0 cannot carry C0 controls even as references
        }
    }
  }
  out.append(text.data() + run, text.size() - run);
}

void append_scalar(std::string& out, const cim::scalar& s) {
  if (const auto* r = std::get_if<cim::reference>(&s)) {
    if (*r) {
      append_reference(out, **r);
    }
    return;
  }
  out += "<VALUE>";
  append_scalar_text(out, s);
  out += "</VALUE>";
}

void append_value(std::string& out, const cim::value& v) {
  if (v.is_null()) {
    return;
  }
  if (!v.is_array()) {
    append_scalar(out, v.as_scalar());
    return;
  }
  const bool refs = v.type() == cim_type::reference;
  out += refs ? "<VALUE.REFARRAY>" : "<VALUE.ARRAY>";
  for (const cim::scalar& s : v.as_array()) {
    append_scalar(out, s);
  }
  out += refs ? "</VALUE.REFARRAY>" : "</VALUE.ARRAY>";
}

void append_local_namespace(std::string& out, std::string_view ns) {
  out += "<LOCALNAMESPACEPATH>";
  append_namespace_elements(out, ns);
  out += "</LOCALNAMESPACEPATH>";
}

void append_instance_name(std::string& out, const cim::object_path& path) {
  out += "<INSTANCENAME CLASSNAME=\"";
  append_escaped(out, path.class_name());
  out += "\">";
  for (const cim::key_binding& k : path.keys()) {
    out += "<KEYBINDING NAME=\"";
    append_escaped(out, k.name);
    out += "\">";
    if (k.v.type() == cim_type::reference && !k.v.is_null() && !k.v.is_array()) {
      append_scalar(out, k.v.as_scalar());
    } else {
      out += "<KEYVALUE VALUETYPE=\"";
      out += value_type_of(k.v.type());
      out += "\" TYPE=\"";
      out += type_name(k.v.type());
      out += "\">";
      if (!k.v.is_null() && !k.v.is_array()) {
        append_scalar_text(out, k.v.as_scalar());
      }
      out += "</KEYVALUE>";
    }
    out += "</KEYBINDING>";
  }
  out += "</INSTANCENAME>";
}

void append_instance_path(std::string& out, const cim::object_path& path, std::string_view host) {
  out += "<INSTANCEPATH><NAMESPACEPATH><HOST>";
  append_escaped(out, path.host().empty() ? host : std::string_view(path.host()));
  out += "</HOST>";
  append_local_namespace(out, path.ns());
  out += "</NAMESPACEPATH>";
  append_instance_name(out, path);
  out += "</INSTANCEPATH>";
}

void append_reference(std::string& out, const cim::object_path& path) {
  out += "<VALUE.REFERENCE>";
  const bool cls = path.is_class_path();
  if (!path.host().empty() && !path.ns().empty()) {
    if (cls) {
      out += "<CLASSPATH><NAMESPACEPATH><HOST>";
      append_escaped(out, path.host());
      out += "</HOST>";
      append_local_namespace(out, path.ns());
      out += "</NAMESPACEPATH>";
      append_class_name(out, path.class_name());
      out += "</CLASSPATH>";
    } else {
      append_instance_path(out, path, path.host());
    }
  } else if (!path.ns().empty()) {
    out += cls ? "<LOCALCLASSPATH>" : "<LOCALINSTANCEPATH>";
    append_local_namespace(out, path.ns());
    if (cls) {
      append_class_name(out, path.class_name());
    } else {
      append_instance_name(out, path);
    }
    out += cls ? "</LOCALCLASSPATH>" : "</LOCALINSTANCEPATH>";
  } else if (cls) {
    append_class_name(out, path.class_name());
  } else {
    append_instance_name(out, path);
  }
  out += "</VALUE.REFERENCE>";
}

void append_instance(std::string& out, const cim::instance& inst, const cim::class_decl* cls) {
  out += "<INSTANCE CLASSNAME=\"";
  append_escaped(out, inst.class_name());
  out += "\">";
  for (const cim::property_value& p : inst.properties()) {
    const cim_type t = p.v.type();
    // The class only adds to references, embedded objects and arrays; skipping the lookup for
    // plain scalars saves a name search per property on every enumerated instance.
    const bool needs_decl = t == cim_type::reference || t == cim_type::object || p.v.is_array();
    const cim::property_decl* decl = cls != nullptr && needs_decl ? cls->property(p.name) : nullptr;
    if (t == cim_type::reference && !p.v.is_array()) {
      out += "<PROPERTY.REFERENCE NAME=\"";
      append_escaped(out, p.name);
      out += '"';
      std::string_view ref_class;
      if (decl != nullptr && !decl->ref_class.empty()) {
        ref_class = decl->ref_class;
      } else if (const auto* r = p.v.get_if<cim::reference>(); r != nullptr && *r) {
        ref_class = (*r)->class_name();
      }
      if (!ref_class.empty()) {
        out += " REFERENCECLASS=\"";
        append_escaped(out, ref_class);
        out += '"';
      }
      out += '>';
      append_value(out, p.v);
      out += "</PROPERTY.REFERENCE>";
      continue;
    }
    const bool array = p.v.is_array();
    out += array ? "<PROPERTY.ARRAY NAME=\"" : "<PROPERTY NAME=\"";
    append_escaped(out, p.name);
    out += "\" TYPE=\"";
    // DSP0201 has no reference arrays in properties; their canonical paths travel as strings.
    out += t == cim_type::reference ? std::string_view("string") : type_name(t);
    out += '"';
    if (t == cim_type::object) {
      // EmbeddedInstance("C") properties say "instance"; a bare EmbeddedObject says "object".
      const bool object_kind = decl != nullptr && decl->embedded_class.empty() &&
                               decl->qualifiers.find("EmbeddedObject") != nullptr;
      out += object_kind ? " EmbeddedObject=\"object\"" : " EmbeddedObject=\"instance\"";
    }
    if (array && decl != nullptr && decl->array_size) {
      out += " ARRAYSIZE=\"" + std::to_string(*decl->array_size) + '"';
    }
    out += '>';
    if (t == cim_type::reference && array && !p.v.is_null()) {
      out += "<VALUE.ARRAY>";
      for (const cim::scalar& s : p.v.as_array()) {
        out += "<VALUE>";
        append_scalar_text(out, s);
        out += "</VALUE>";
      }
      out += "</VALUE.ARRAY>";
    } else {
      append_value(out, p.v);
    }
    out += array ? "</PROPERTY.ARRAY>" : "</PROPERTY>";
  }
  out += "</INSTANCE>";
}

}  // namespace vsnapd::server::cimxml
