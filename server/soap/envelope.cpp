#include "server/soap/envelope.hpp"

#include "common/xml/parse.hpp"
#include "common/xml/qname.hpp"
#include "server/soap/duration.hpp"
#include "server/soap/namespaces.hpp"

#include <charconv>

namespace vsnapd::server::soap {
namespace {

// DSP0226 R6.2-1: a service shall accept envelopes of at least 8192 octets, so a client may
// not ask for a smaller reply limit than that.
constexpr std::size_t minimum_envelope_size = 8192;

envelope_error error(fault_code code, std::string reason,
                     std::optional<fault_detail> detail = std::nullopt,
                     std::optional<std::string_view> message_id = std::nullopt) {
  envelope_error e{fault{code, detail, std::move(reason), {}, {}}, std::nullopt};
  if (message_id) {
    e.message_id = std::string(*message_id);
  }
  return e;
}

bool is_true(std::string_view v) { return v == "true" || v == "1"; }

// mustUnderstand arrives SOAP-qualified (correct) or unqualified (some clients); both count.
bool must_understand(pugi::xml_node header) {
  if (auto a = xml::attribute(header, ns::soap, "mustUnderstand")) {
    return is_true(a.value());
  }
  if (auto a = xml::attribute(header, {}, "mustUnderstand")) {
    return is_true(a.value());
  }
  return false;
}

// Headers in these namespaces are ours to process: WS-Addressing, WS-Management (DMTF and the
// Microsoft extensions WinRM sends), and the CIM binding. A mustUnderstand header from any
// other namespace is refused with s:MustUnderstand.
bool understood_namespace(std::string_view uri) {
  return uri == ns::addressing || uri == ns::wsman || uri == ns::wsman_ms || uri == ns::cimbinding;
}

// Within those namespaces, the headers we act on or may safely ignore. A mustUnderstand header
// outside this list (say wsman:Lock or a future extension) gets s:MustUnderstand rather than being
// silently dropped, because its sender relies on it being honoured.
bool understood_header(std::string_view uri, std::string_view local) {
  static constexpr std::string_view addressing[] = {"Action", "To", "MessageID", "ReplyTo",
                                                    "FaultTo", "From", "RelatesTo"};
  static constexpr std::string_view wsman[] = {
      "ResourceURI",      "SelectorSet",        "MaxEnvelopeSize",
      "OperationTimeout", "Locale",             "OptionSet",
      "FragmentTransfer", "RequestTotalItemsCountEstimate", "RequestEPR"};
  // MS-WSMV 2.2.4: session and locale headers WinRM and the CIM cmdlets add to every request.
  static constexpr std::string_view wsman_ms[] = {"SessionId", "OperationID", "SequenceId",
                                                  "DataLocale", "CompressionType"};
  auto in = [local](const auto& names) {
    for (std::string_view n : names) {
      if (n == local) {
        return true;
      }
    }
    return false;
  };
  if (uri == ns::addressing) {
    return in(addressing);
  }
  if (uri == ns::wsman) {
    return in(wsman);
  }
  if (uri == ns::wsman_ms) {
    return in(wsman_ms);
  }
  return false;
}

// Every element in the request must have a declared prefix; pugixml does not check that.
std::optional<std::string> undeclared_prefix(pugi::xml_node root) {
  for (pugi::xml_node n = root; n;) {
    if (n.type() == pugi::node_element && !xml::namespace_of(n)) {
      return std::string(n.name());
    }
    // Depth-first walk without recursion: request depth is attacker-controlled.
    if (pugi::xml_node c = n.first_child()) {
      n = c;
      continue;
    }
    while (n && n != root && !n.next_sibling()) {
      n = n.parent();
    }
    if (!n || n == root) {
      break;
    }
    n = n.next_sibling();
  }
  return std::nullopt;
}

std::optional<std::string_view> read_message_id(pugi::xml_node header) {
  if (pugi::xml_node id = xml::child(header, ns::addressing, "MessageID")) {
    return xml::trimmed_text(id);
  }
  return std::nullopt;
}

}  // namespace

envelope_result parse_envelope(pugi::xml_document& doc, std::string& text, std::size_t max_bytes) {
  if (auto e = xml::parse_in_place(doc, text, max_bytes)) {
    switch (e->code) {
      case xml::parse_errc::too_large:
        return error(fault_code::encoding_limit,
                     "The request envelope exceeds the maximum envelope size of " +
                         std::to_string(max_bytes) + " bytes.",
                     fault_detail::max_envelope_size);
      case xml::parse_errc::empty:
        return error(fault_code::schema_validation_error, "The request body is empty.");
      case xml::parse_errc::has_doctype:
        return error(fault_code::schema_validation_error,
                     "The request contains a document type declaration, which SOAP forbids.");
      case xml::parse_errc::not_wellformed:
        return error(fault_code::schema_validation_error,
                     "The request is not well-formed XML: " + e->description + ".");
    }
  }

  const pugi::xml_node root = doc.document_element();
  if (auto bad = undeclared_prefix(root)) {
    return error(fault_code::schema_validation_error,
                 "The element '" + *bad + "' uses an undeclared namespace prefix.");
  }
  if (xml::local_name(root.name()) == "Envelope" && xml::is(root, ns::soap11, "Envelope")) {
    return error(fault_code::version_mismatch, info(fault_code::version_mismatch).reason.data());
  }
  if (!xml::is(root, ns::soap, "Envelope")) {
    return error(fault_code::schema_validation_error,
                 "The root element is not a SOAP 1.2 Envelope (namespace " +
                     std::string(ns::soap) + ").");
  }

  envelope env;
  // SOAP 1.2: an optional Header, then exactly one Body, and nothing else.
  for (pugi::xml_node c = xml::first_element(root); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) {
      continue;
    }
    if (xml::is(c, ns::soap, "Header") && !env.header && !env.body) {
      env.header = c;
    } else if (xml::is(c, ns::soap, "Body") && !env.body) {
      env.body = c;
    } else {
      return error(fault_code::schema_validation_error,
                   "Unexpected element '" + std::string(c.name()) + "' in the SOAP Envelope.");
    }
  }
  const auto message_id = read_message_id(env.header);
  if (!env.body) {
    return error(fault_code::schema_validation_error, "The SOAP Envelope has no Body.", {},
                 message_id);
  }
  env.body_element = xml::first_element(env.body);
  env.message_id = message_id;
  env.is_identify =
      env.body_element && xml::is(env.body_element, ns::identity, "Identify");

  bool seen_action = false;
  bool seen_to = false;
  bool seen_message_id = false;
  for (pugi::xml_node h = xml::first_element(env.header); h; h = h.next_sibling()) {
    if (h.type() != pugi::node_element) {
      continue;
    }
    const std::string_view uri = *xml::namespace_of(h);
    const std::string_view local = xml::local_name(h.name());
    if (!understood_namespace(uri) || !understood_header(uri, local)) {
      if (must_understand(h)) {
        envelope_error e = error(fault_code::must_understand,
                                 "The header '" + std::string(h.name()) +
                                     "' is marked mustUnderstand but is not supported.",
                                 {}, message_id);
        e.fault.not_understood_ns = std::string(uri);
        e.fault.not_understood_local = std::string(local);
        return e;
      }
      continue;
    }
    if (uri == ns::addressing) {
      bool* seen = local == "Action" ? &seen_action
                   : local == "To"   ? &seen_to
                   : local == "MessageID" ? &seen_message_id
                                          : nullptr;
      if (seen != nullptr) {
        if (*seen) {
          return error(fault_code::invalid_message_information_header,
                       "The header wsa:" + std::string(local) + " appears more than once.", {},
                       message_id);
        }
        *seen = true;
      }
      if (local == "Action") {
        env.action = xml::trimmed_text(h);
      } else if (local == "To") {
        env.to = xml::trimmed_text(h);
      } else if (local == "ReplyTo" || local == "FaultTo") {
        // We answer on the HTTP connection only (DSP0226 R5.4.2-2); any other address is an
        // addressing mode we do not support.
        const pugi::xml_node address = xml::child(h, ns::addressing, "Address");
        if (!address || xml::trimmed_text(address) != ns::anonymous_address) {
          return error(fault_code::unsupported_feature,
                       "wsa:" + std::string(local) + " must be the anonymous address " +
                           std::string(ns::anonymous_address) + ".",
                       fault_detail::addressing_mode, message_id);
        }
      }
    } else if (uri == ns::wsman) {
      if (local == "ResourceURI") {
        env.resource_uri = xml::trimmed_text(h);
      } else if (local == "MaxEnvelopeSize") {
        const std::string_view v = xml::trimmed_text(h);
        std::size_t size = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), size);
        if (ec != std::errc{} || end != v.data() + v.size()) {
          return error(fault_code::invalid_message_information_header,
                       "wsman:MaxEnvelopeSize is not a number: '" + std::string(v) + "'.", {},
                       message_id);
        }
        if (size < minimum_envelope_size) {
          return error(fault_code::encoding_limit,
                       "wsman:MaxEnvelopeSize must be at least 8192 bytes.",
                       fault_detail::minimum_envelope_limit, message_id);
        }
        env.max_envelope_size = size;
      } else if (local == "SelectorSet") {
        env.selector_set = h;
      } else if (local == "OptionSet") {
        env.option_set = h;
      } else if (local == "FragmentTransfer") {
        env.fragment_transfer = h;
      } else if (local == "RequestTotalItemsCountEstimate") {
        env.request_total_items_estimate = true;
      } else if (local == "OperationTimeout") {
        const std::string_view v = xml::trimmed_text(h);
        env.operation_timeout = parse_duration(v);
        if (!env.operation_timeout) {
          return error(fault_code::invalid_message_information_header,
                       "wsman:OperationTimeout is not an xs:duration: '" + std::string(v) + "'.",
                       {}, message_id);
        }
      }
    }
  }

  // DSP0226 section 11: Identify carries no addressing headers at all.
  if (env.is_identify) {
    return env;
  }
  if (!seen_action || env.action.empty()) {
    return error(fault_code::message_information_header_required,
                 "The required header wsa:Action is missing.", {}, message_id);
  }
  if (!seen_to) {
    return error(fault_code::message_information_header_required,
                 "The required header wsa:To is missing.", {}, message_id);
  }
  if (!seen_message_id) {
    return error(fault_code::message_information_header_required,
                 "The required header wsa:MessageID is missing.", {}, message_id);
  }
  return env;
}

}  // namespace vsnapd::server::soap
