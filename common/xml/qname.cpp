#include "common/xml/qname.hpp"

#include <cstring>

namespace vsnapd::xml {
namespace {

constexpr std::string_view xmlns = "xmlns";

bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string_view local_name(std::string_view qualified) {
  const auto colon = qualified.find(':');
  return colon == std::string_view::npos ? qualified : qualified.substr(colon + 1);
}

std::string_view prefix(std::string_view qualified) {
  const auto colon = qualified.find(':');
  return colon == std::string_view::npos ? std::string_view{} : qualified.substr(0, colon);
}

std::optional<std::string_view> lookup_namespace(pugi::xml_node scope, std::string_view pfx) {
  if (pfx == "xml") {
    return xml_namespace;
  }
  for (pugi::xml_node n = scope; n && n.type() == pugi::node_element; n = n.parent()) {
    for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
      const std::string_view name = a.name();
      if (pfx.empty()) {
        if (name == xmlns) {
          return std::string_view{a.value()};
        }
      } else if (name.size() == xmlns.size() + 1 + pfx.size() && name.starts_with(xmlns) &&
                 name[xmlns.size()] == ':' && name.substr(xmlns.size() + 1) == pfx) {
        return std::string_view{a.value()};
      }
    }
  }
  if (pfx.empty()) {
    return std::string_view{};  // no default namespace declared: "no namespace"
  }
  return std::nullopt;
}

std::optional<std::string_view> namespace_of(pugi::xml_node element) {
  return lookup_namespace(element, prefix(element.name()));
}

bool is(pugi::xml_node element, std::string_view ns, std::string_view local) {
  if (element.type() != pugi::node_element || local_name(element.name()) != local) {
    return false;
  }
  const auto uri = namespace_of(element);
  return uri && *uri == ns;
}

pugi::xml_node child(pugi::xml_node parent, std::string_view ns, std::string_view local) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (is(c, ns, local)) {
      return c;
    }
  }
  return {};
}

pugi::xml_node first_element(pugi::xml_node parent) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) {
      return c;
    }
  }
  return {};
}

pugi::xml_node next_element(pugi::xml_node n) {
  for (n = n.next_sibling(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_element) {
      return n;
    }
  }
  return {};
}

pugi::xml_attribute attribute(pugi::xml_node element, std::string_view ns,
                              std::string_view local) {
  for (pugi::xml_attribute a = element.first_attribute(); a; a = a.next_attribute()) {
    const std::string_view name = a.name();
    if (local_name(name) != local) {
      continue;
    }
    const std::string_view pfx = prefix(name);
    if (pfx.empty()) {
      // Unprefixed attributes are in no namespace; the default namespace does not apply.
      if (ns.empty()) {
        return a;
      }
      continue;
    }
    if (pfx == xmlns) {
      continue;
    }
    const auto uri = lookup_namespace(element, pfx);
    if (uri && *uri == ns) {
      return a;
    }
  }
  return {};
}

std::string_view trimmed_text(pugi::xml_node element) {
  std::string_view text = element.child_value();
  while (!text.empty() && is_xml_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_xml_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace vsnapd::xml
