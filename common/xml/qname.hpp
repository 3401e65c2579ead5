#pragma once
// XML namespace resolution over pugixml (STYLE rule 26).
//
// pugixml matches names as written ("s:Envelope"), so a SOAP stack built on it must resolve
// prefixes itself: the same envelope arrives as `s:`, `env:`, `soap:` or in the default
// namespace. Everything here compares (namespace URI, local name) pairs, never prefixes.
// Lookups walk the ancestor chain for the `xmlns`/`xmlns:p` declaration in scope; SOAP
// documents are shallow, so this is cheaper than building a scope table per document.

#include <pugixml.hpp>

#include <optional>
#include <string_view>

namespace vsnapd::xml {

/// The namespace of the `xml:` prefix, bound by definition (XML Namespaces 1.0 section 3).
inline constexpr std::string_view xml_namespace = "http://www.w3.org/XML/1998/namespace";

/// The part of a qualified name after the colon ("Envelope" for "s:Envelope").
std::string_view local_name(std::string_view qualified);

/// The part before the colon, or "" for an unprefixed name.
std::string_view prefix(std::string_view qualified);

/// The namespace URI bound to `prefix` (or the default namespace for "") at `scope`.
/// Returns nullopt when the prefix is not declared; "" when the default namespace is empty.
std::optional<std::string_view> lookup_namespace(pugi::xml_node scope, std::string_view prefix);

/// The namespace URI of an element, or nullopt when its prefix is undeclared.
std::optional<std::string_view> namespace_of(pugi::xml_node element);

/// True when `element` is named {ns}local.
bool is(pugi::xml_node element, std::string_view ns, std::string_view local);

/// The first element child of `parent` named {ns}local, or an empty node.
pugi::xml_node child(pugi::xml_node parent, std::string_view ns, std::string_view local);

/// The first element child of `parent` whatever its name, or an empty node.
pugi::xml_node first_element(pugi::xml_node parent);

/// The next element sibling of `n` whatever its name, or an empty node.
pugi::xml_node next_element(pugi::xml_node n);

/// The attribute {ns}local of `element`. An empty `ns` names an unprefixed attribute (which
/// is in no namespace). Returns an empty attribute when absent.
pugi::xml_attribute attribute(pugi::xml_node element, std::string_view ns, std::string_view local);

/// Text content of an element with leading and trailing XML white space removed.
std::string_view trimmed_text(pugi::xml_node element);

}  // namespace vsnapd::xml
