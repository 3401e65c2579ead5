#include "server/wsman/codec.hpp"

#include <cstdio>
#include <map>

#include "cimom/name.hpp"
#include "common/text.hpp"
#include "common/xml/escape.hpp"
#include "common/xml/qname.hpp"
#include "server/soap/duration.hpp"
#include "server/soap/namespaces.hpp"

namespace vsnapd::server::wsman {
namespace {

constexpr std::string_view xsi_ns = "http://www.w3.org/2001/XMLSchema-instance";
constexpr std::string_view cim_common_ns = "http://schemas.dmtf.org/wbem/wscim/1/common";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// CIM timestamp text `yyyymmddhhmmss.mmmmmmsutc` -> xs:dateTime `yyyy-mm-ddThh:mm:ss.mmmmmm+hh:mm`.
void append_xs_datetime(std::string& out, std::string_view t) {
  out.append(t.substr(0, 4)).append("-").append(t.substr(4, 2)).append("-").append(t.substr(6, 2));
  out.append("T").append(t.substr(8, 2)).append(":").append(t.substr(10, 2)).append(":");
  out.append(t.substr(12, 2));
  if (t.substr(15, 6) != "000000") {
    out.append(".").append(t.substr(15, 6));
  }
  const int minutes = std::stoi(std::string(t.substr(22, 3)));
  if (minutes == 0) {
    out += 'Z';
    return;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", t[21], minutes / 60, minutes % 60);
  out += buf;
}

void append_datetime(std::string& out, const cim::datetime& d) {
  if (d.has_wildcards()) {
    out += "<cim:CIM_DateTime>";
    out += d.text();
    out += "</cim:CIM_DateTime>";
  } else if (d.is_interval()) {
    out += "<cim:Interval>";
    soap::append_duration(out, *d.interval_micros());
    out += "</cim:Interval>";
  } else {
    out += "<cim:Datetime>";
    append_xs_datetime(out, d.text());
    out += "</cim:Datetime>";
  }
}

std::string_view local(pugi::xml_node n) { return xml::local_name(n.name()); }

// One scalar's content (text, or child elements for datetimes, references and embedded
// instances); `depth` keeps prefixes of nested embedded instances apart.
void append_scalar_content(std::string& out, const cim::scalar& s, const write_context& ctx,
                           int depth);

void append_element(std::string& out, std::string_view prefix, std::string_view name,
                    const cim::scalar& s, const write_context& ctx, int depth) {
  if (const auto* emb = std::get_if<cim::embedded_instance>(&s); emb != nullptr && *emb) {
    // DSP0230: the element takes the embedded class's type, its children that class's
    // properties, in the class's own namespace.
    const std::string q = "e" + std::to_string(depth);
    out += '<';
    out.append(prefix).append(":").append(name);
    out += " xmlns:";
    out += q;
    out += "=\"";
    xml::append_escaped(out, class_uri(ctx.style, ctx.ns, (*emb)->class_name()));
    out += "\" xsi:type=\"";
    out += q;
    out += ':';
    out += (*emb)->class_name();
    out += "_Type\">";
    for (const cim::property_value& pv : (*emb)->properties()) {
      append_property(out, q, pv.name, pv.v, ctx);
    }
    out += "</";
    out.append(prefix).append(":").append(name);
    out += '>';
    return;
  }
  out += '<';
  out.append(prefix).append(":").append(name);
  out += '>';
  append_scalar_content(out, s, ctx, depth);
  out += "</";
  out.append(prefix).append(":").append(name);
  out += '>';
}

void append_scalar_content(std::string& out, const cim::scalar& s, const write_context& ctx,
                           int /*depth*/) {
  switch (cim::type_of(s)) {
    case cim::cim_type::string:
      xml::append_escaped(out, std::get<std::string>(s));
      return;
    case cim::cim_type::datetime:
      append_datetime(out, std::get<cim::datetime>(s));
      return;
    case cim::cim_type::reference:
      if (const auto& ref = std::get<cim::reference>(s)) {
        append_epr_content(out, *ref, ctx);
      }
      return;
    case cim::cim_type::object:
      return;  // handled by append_element
    case cim::cim_type::char16:
      xml::append_escaped(out, cim::to_text(s));
      return;
    default:
      out += cim::to_text(s);  // numbers and booleans need no escaping
      return;
  }
}

void append_selector(std::string& out, std::string_view name, const cim::value& v,
                     const write_context& ctx) {
  out += "<wsman:Selector Name=\"";
  xml::append_escaped(out, name);
  out += "\">";
  if (!v.is_null() && !v.is_array()) {
    const cim::scalar& s = v.as_scalar();
    if (const auto* ref = std::get_if<cim::reference>(&s)) {
      if (*ref) {
        append_epr(out, **ref, ctx);
      }
    } else {
      append_scalar_content(out, s, ctx, 0);
    }
  }
  out += "</wsman:Selector>";
}

cim::error bad(cim::errc code, std::string why) { return cim::fail(code, std::move(why)); }

// xs:dateTime -> CIM timestamp text; nullopt when malformed.
std::optional<std::string> cim_from_xs_datetime(std::string_view t) {
  // yyyy-mm-ddThh:mm:ss[.f+][Z|(+|-)hh:mm]
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  std::string out;
  out.reserve(25);
  out.append(t.substr(0, 4)).append(t.substr(5, 2)).append(t.substr(8, 2));
  out.append(t.substr(11, 2)).append(t.substr(14, 2)).append(t.substr(17, 2));
  std::size_t i = 19;
  std::string frac;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (frac.size() < 6) {
        frac += t[i];
      }
      ++i;
    }
  }
  frac.resize(6, '0');
  out += '.';
  out += frac;
  if (i == t.size() || (t[i] == 'Z' && i + 1 == t.size())) {
    out += "+000";
  } else if ((t[i] == '+' || t[i] == '-') && i + 6 == t.size() && t[i + 3] == ':') {
    int h = 0;
    int m = 0;
    if (std::sscanf(std::string(t.substr(i + 1, 5)).c_str(), "%2d:%2d", &h, &m) != 2) {
      return std::nullopt;
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "%c%03d", t[i], h * 60 + m);
    out += buf;
  } else {
    return std::nullopt;
  }
  for (char c : out.substr(0, 14)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  return out;
}

cim::result<cim::scalar> parse_datetime_element(pugi::xml_node e) {
  // The value is either raw CIM text or one cim:* child naming the form.
  pugi::xml_node child = xml::first_element(e);
  std::string text;
  if (!child) {
    text = std::string(trim(element_text(e)));
  } else {
    const std::string_view form = local(child);
    const std::string child_text = element_text(child);
    const std::string_view v = trim(child_text);
    if (form == "Datetime") {
      auto cim_text = cim_from_xs_datetime(v);
      if (!cim_text) {
        return bad(cim::errc::invalid_parameter,
                   "'" + std::string(v) + "' is not an xs:dateTime (element " + e.name() + ")");
      }
      text = std::move(*cim_text);
    } else if (form == "Interval") {
      const auto d = soap::parse_duration(v);
      if (!d) {
        return bad(cim::errc::invalid_parameter,
                   "'" + std::string(v) + "' is not an xs:duration (element " + e.name() + ")");
      }
      return cim::scalar(
          cim::datetime::from_interval_micros(static_cast<std::uint64_t>(d->count())));
    } else if (form == "CIM_DateTime") {
      text = std::string(v);
    } else if (form == "Date") {
      // xs:date: the day, with the time of day unknown (wildcards, DSP0004 5.2.4).
      if (v.size() < 10) {
        return bad(cim::errc::invalid_parameter, "'" + std::string(v) + "' is not an xs:date");
      }
      text = std::string(v.substr(0, 4)) + std::string(v.substr(5, 2)) +
             std::string(v.substr(8, 2)) + "******.******+000";
    } else {
      return bad(cim::errc::invalid_parameter, "unexpected element '" + std::string(child.name()) +
                                                   "' in datetime value " + e.name());
    }
  }
  auto d = cim::datetime::parse(text);
  if (!d) {
    return d.error();
  }
  return cim::scalar(*d);
}

// The class an embedded-instance element names: a wrapping <Class> child, xsi:type
// "<prefix>:<Class>_Type", or the declared EmbeddedInstance class.
cim::result<cim::scalar> parse_embedded(pugi::xml_node e, std::string_view declared,
                                        const read_context& ctx) {
  pugi::xml_node first = xml::first_element(e);
  if (!first) {
    const std::string text = element_text(e);
    if (trim(text).empty()) {
      return bad(cim::errc::ok, "");  // NULL, handled by the caller
    }
    // Escaped or CDATA CIM-XML <INSTANCE>, as pywbem-derived and Windows clients send it.
    if (!ctx.parse_cimxml_instance) {
      return bad(
          cim::errc::not_supported,
          std::string("embedded CIM-XML instances are not supported (element ") + e.name() + ")");
    }
    auto inst = ctx.parse_cimxml_instance(trim(text));
    if (!inst) {
      return inst.error();
    }
    return cim::scalar(std::make_shared<const cim::instance>(std::move(*inst)));
  }
  std::string class_name;
  pugi::xml_node props = e;
  if (auto type = xml::attribute(e, xsi_ns, "type")) {
    std::string_view t = xml::local_name(type.value());
    if (t.size() > 5 && t.substr(t.size() - 5) == "_Type") {
      t.remove_suffix(5);
    }
    class_name = std::string(t);
  } else if (!first.next_sibling() && ctx.repo->find_class(ctx.ns, local(first)) != nullptr &&
             xml::first_element(first)) {
    class_name = std::string(local(first));
    props = first;
  } else {
    class_name = std::string(declared);
  }
  const cim::class_decl* cls = ctx.repo->find_class(ctx.ns, class_name);
  if (cls == nullptr) {
    return bad(cim::errc::invalid_parameter,
               "embedded instance of unknown class '" + class_name + "' in element " + e.name());
  }
  auto inst = parse_instance(props, *cls, ctx);
  if (!inst) {
    return inst.error();
  }
  return cim::scalar(std::make_shared<const cim::instance>(std::move(*inst)));
}

// One element of `type`; errc::ok as the error code means "this element is NULL".
cim::result<cim::scalar> parse_element(pugi::xml_node e, cim::cim_type type,
                                       std::string_view embedded_class, const read_context& ctx) {
  if (auto nil = xml::attribute(e, xsi_ns, "nil");
      nil && (std::string_view(nil.value()) == "true" || std::string_view(nil.value()) == "1")) {
    return bad(cim::errc::ok, "");
  }
  switch (type) {
    case cim::cim_type::datetime:
      return parse_datetime_element(e);
    case cim::cim_type::reference: {
      auto path = parse_epr(e, ctx);
      if (!path) {
        return path.error();
      }
      return cim::scalar(std::make_shared<const cim::object_path>(std::move(*path)));
    }
    case cim::cim_type::object:
      return parse_embedded(e, embedded_class, ctx);
    case cim::cim_type::string: {
      if (!embedded_class.empty()) {
        return parse_embedded(e, embedded_class, ctx);
      }
      return cim::scalar(element_text(e));
    }
    default: {
      const std::string text = element_text(e);
      auto s = cim::parse_scalar(type, trim(text));
      if (!s) {
        cim::error err = s.error();
        err.description = "element " + std::string(e.name()) + ": " + err.description;
        return err;
      }
      return s;
    }
  }
}

}  // namespace

std::string_view envelope_namespaces() {
  static const std::string decls = [] {
    std::string d;
    d += " xmlns:s=\"";
    d += ns::soap;
    d += "\" xmlns:wsa=\"";
    d += ns::addressing;
    d += "\" xmlns:wsman=\"";
    d += ns::wsman;
    d += "\" xmlns:xsi=\"";
    d += xsi_ns;
    d += "\" xmlns:cim=\"";
    d += cim_common_ns;
    d += '"';
    return d;
  }();
  return decls;
}

std::optional<cim::datetime> parse_xs_datetime(std::string_view text) {
  const auto cim_text = cim_from_xs_datetime(text);
  if (!cim_text) {
    return std::nullopt;
  }
  auto d = cim::datetime::parse(*cim_text);
  if (!d) {
    return std::nullopt;
  }
  return *d;
}

std::string element_text(pugi::xml_node element) {
  std::string out;
  for (pugi::xml_node c = element.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
      out += c.value();
    }
  }
  return out;
}

void append_property(std::string& out, std::string_view prefix, std::string_view name,
                     const cim::value& v, const write_context& ctx) {
  if (v.is_null()) {
    out += '<';
    out.append(prefix).append(":").append(name);
    out += " xsi:nil=\"true\"/>";
    return;
  }
  if (v.is_array()) {
    for (const cim::scalar& s : v.as_array()) {
      append_element(out, prefix, name, s, ctx, 1);
    }
    return;
  }
  append_element(out, prefix, name, v.as_scalar(), ctx, 1);
}

void append_instance(std::string& out, const cim::instance& inst, const write_context& ctx,
                     std::string_view prefix) {
  out += '<';
  out.append(prefix).append(":").append(inst.class_name());
  out += " xmlns:";
  out += prefix;
  out += "=\"";
  xml::append_escaped(out, class_uri(ctx.style, ctx.ns, inst.class_name()));
  out += "\">";
  for (const cim::property_value& pv : inst.properties()) {
    append_property(out, prefix, pv.name, pv.v, ctx);
  }
  out += "</";
  out.append(prefix).append(":").append(inst.class_name());
  out += '>';
}

void append_epr_content(std::string& out, const cim::object_path& path, const write_context& ctx) {
  const std::string_view ns = path.ns().empty() ? ctx.ns : std::string_view(path.ns());
  out += "<wsa:Address>";
  out += ns::anonymous_address;
  out += "</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>";
  xml::append_escaped(out, class_uri(ctx.style, ns, path.class_name()));
  out += "</wsman:ResourceURI>";
  const bool with_ns = needs_namespace_selector(ctx.style, ns, path.class_name());
  if (!path.keys().empty() || with_ns) {
    out += "<wsman:SelectorSet>";
    write_context inner = ctx;
    inner.ns = ns;
    for (const cim::key_binding& k : path.keys()) {
      append_selector(out, k.name, k.v, inner);
    }
    if (with_ns) {
      append_selector(out, "__cimnamespace", cim::value(ns), inner);
    }
    out += "</wsman:SelectorSet>";
  }
  out += "</wsa:ReferenceParameters>";
}

void append_epr(std::string& out, const cim::object_path& path, const write_context& ctx) {
  out += "<wsa:EndpointReference>";
  append_epr_content(out, path, ctx);
  out += "</wsa:EndpointReference>";
}

cim::result<cim::value> parse_value(const std::vector<pugi::xml_node>& elements, cim::cim_type type,
                                    bool is_array, std::string_view embedded_class,
                                    const read_context& ctx) {
  const cim::cim_type element_type =
      type == cim::cim_type::string && !embedded_class.empty() ? cim::cim_type::object : type;
  if (!is_array) {
    if (elements.size() != 1) {
      return bad(cim::errc::invalid_parameter,
                 "the scalar " + std::string(elements.empty() ? "value" : elements[0].name()) +
                     " appears " + std::to_string(elements.size()) + " times");
    }
    auto s = parse_element(elements[0], type, embedded_class, ctx);
    if (!s) {
      if (s.error().code == cim::errc::ok) {
        return cim::value::null(element_type);
      }
      return s.error();
    }
    return cim::value(std::move(*s));
  }
  std::vector<cim::scalar> items;
  items.reserve(elements.size());
  for (pugi::xml_node e : elements) {
    auto s = parse_element(e, type, embedded_class, ctx);
    if (!s) {
      if (s.error().code == cim::errc::ok) {
        if (elements.size() == 1) {
          return cim::value::null(element_type, true);  // a nil array
        }
        return bad(
            cim::errc::invalid_parameter,
            "array " + std::string(e.name()) + " has a NULL element, which CIM does not allow");
      }
      return s.error();
    }
    items.push_back(std::move(*s));
  }
  return cim::value::array(element_type, std::move(items));
}

cim::result<cim::instance> parse_instance(pugi::xml_node element, const cim::class_decl& cls,
                                          const read_context& ctx) {
  // Group the property elements by name first: an array is a run of same-named siblings.
  std::map<std::string, std::vector<pugi::xml_node>, cim::name_less> groups;
  std::vector<std::string> order;
  for (pugi::xml_node c = xml::first_element(element); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) {
      continue;
    }
    if (auto uri = xml::namespace_of(c); uri && *uri == cim_common_ns) {
      continue;  // cim:Location and friends describe the instance, they are not properties
    }
    auto [it, inserted] = groups.try_emplace(std::string(local(c)));
    if (inserted) {
      order.push_back(it->first);
    }
    it->second.push_back(c);
  }
  cim::instance inst(cls.name);
  for (const std::string& name : order) {
    const cim::property_decl* p = cls.property(name);
    if (p == nullptr) {
      return bad(cim::errc::no_such_property,
                 "class " + cls.name + " has no property '" + name + "'");
    }
    auto v = parse_value(groups[name], p->type, p->is_array, p->embedded_class, ctx);
    if (!v) {
      return v.error();
    }
    inst.set(p->name, std::move(*v));
  }
  return inst;
}

cim::result<cim::object_path> parse_epr(pugi::xml_node node, const read_context& ctx) {
  if (pugi::xml_node wrapped = xml::child(node, ns::addressing, "EndpointReference")) {
    node = wrapped;
  }
  const pugi::xml_node params = xml::child(node, ns::addressing, "ReferenceParameters");
  // Older clients put ResourceURI and SelectorSet in wsa:ReferenceProperties.
  const pugi::xml_node holder =
      params ? params : xml::child(node, ns::addressing, "ReferenceProperties");
  if (!holder) {
    return bad(cim::errc::invalid_parameter,
               std::string("element ") + node.name() + " is not an endpoint reference");
  }
  const std::string uri(trim(element_text(xml::child(holder, ns::wsman, "ResourceURI"))));
  std::optional<std::string> cimns;
  std::vector<std::pair<std::string, cim::value>> keys;
  const pugi::xml_node set = xml::child(holder, ns::wsman, "SelectorSet");
  for (pugi::xml_node s = xml::first_element(set); s; s = s.next_sibling()) {
    if (s.type() != pugi::node_element || !xml::is(s, ns::wsman, "Selector")) {
      continue;
    }
    const std::string name = s.attribute("Name").value();
    if (cim::name_equal(name, "__cimnamespace")) {
      cimns = std::string(trim(element_text(s)));
      continue;
    }
    if (xml::first_element(s)) {
      auto ref = parse_epr(s, ctx);
      if (!ref) {
        return ref.error();
      }
      keys.emplace_back(
          name, cim::value(cim::scalar(std::make_shared<const cim::object_path>(std::move(*ref)))));
    } else {
      keys.emplace_back(name, cim::value(cim::scalar(element_text(s))));
    }
  }
  auto r = resolve(*ctx.repo, uri, cimns ? std::optional<std::string_view>(*cimns) : std::nullopt);
  if (!r) {
    return bad(cim::errc::invalid_parameter, "endpoint reference: " + r.error().reason);
  }
  if (r->what != resource::kind::one_class) {
    return bad(cim::errc::invalid_parameter,
               "endpoint reference '" + uri + "' does not name one class");
  }
  cim::object_path path(r->ns, r->cls->name);
  for (auto& [name, v] : keys) {
    path.set_key(std::move(name), std::move(v));
  }
  if (keys.empty() && r->cls->keys().empty()) {
    path.set_singleton(true);
  }
  return path;
}

}  // namespace vsnapd::server::wsman
