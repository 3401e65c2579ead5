#include "server/wsman/endpoint.hpp"

#include "common/xml/escape.hpp"
#include "server/soap/namespaces.hpp"
#include "server/version.hpp"

#include <cstdio>
#include <random>

namespace vsnapd::server::wsman {
namespace {

constexpr std::string_view profile_prefix = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/";

// A fresh uuid:... for each reply's wsa:MessageID (DSP0226 R5.4.4-1). Not a secret, so a
// per-thread PRNG is enough and keeps this off any lock.
std::string new_message_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t hi = rng();
  const std::uint64_t lo = rng();
  char buf[48];
  std::snprintf(buf, sizeof buf, "uuid:%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0x0fff),
                static_cast<unsigned>(0x8000 | ((lo >> 48) & 0x3fff)),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string render_identify(transport t, const endpoint::security& s) {
  std::string out;
  out += R"(<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s=")";
  out += server::ns::soap;
  out += R"(" xmlns:wsmid=")";
  out += server::ns::identity;
  out += R"("><s:Header/><s:Body><wsmid:IdentifyResponse><wsmid:ProtocolVersion>)";
  out += server::ns::wsman;
  out += "</wsmid:ProtocolVersion><wsmid:ProductVendor>";
  out += product_vendor;
  out += "</wsmid:ProductVendor><wsmid:ProductVersion>";
  out += product_version;
  out += "</wsmid:ProductVersion><wsmid:SecurityProfiles>";
  auto profile = [&out](std::string_view name) {
    out += "<wsmid:SecurityProfileName>";
    out += profile_prefix;
    out += name;
    out += "</wsmid:SecurityProfileName>";
  };
  if (t == transport::https) {
    if (s.basic) {
      profile("https/basic");
    }
    if (s.digest) {
      profile("https/digest");
    }
    if (s.mutual) {
      profile("https/mutual");
    }
  } else {
    if (s.basic && s.basic_over_http) {
      profile("http/basic");
    }
    if (s.digest) {
      profile("http/digest");
    }
  }
  out += "</wsmid:SecurityProfiles></wsmid:IdentifyResponse></s:Body></s:Envelope>";
  return out;
}

}  // namespace

bool parsed_request::is_identify() const {
  const auto* env = std::get_if<soap::envelope>(&envelope);
  return env != nullptr && env->is_identify;
}

endpoint::endpoint(std::size_t max_envelope_size, const security& profiles)
    : max_envelope_size_(max_envelope_size),
      identify_http_(render_identify(transport::http, profiles)),
      identify_https_(render_identify(transport::https, profiles)) {}

void endpoint::parse(parsed_request& out, std::string&& body) const {
  out.text = std::move(body);
  out.envelope = soap::parse_envelope(out.doc, out.text, max_envelope_size_);
}

reply endpoint::dispatch(const parsed_request& request, transport t) const {
  if (const auto* err = std::get_if<soap::envelope_error>(&request.envelope)) {
    return {soap::render(err->fault, err->message_id, new_message_id()), true};
  }
  const auto& env = std::get<soap::envelope>(request.envelope);
  if (env.is_identify) {
    return {t == transport::https ? identify_https_ : identify_http_, false};
  }
  // The object manager behind the other actions arrives with the WS-Man issue; until then
  // every other action is refused with the fault DSP0226 R5.4.5-1 prescribes.
  soap::fault f{soap::fault_code::action_not_supported, std::nullopt,
                "The action '" + std::string(env.action) + "' is not supported by this service.",
                {}, {}};
  return {soap::render(f, env.message_id, new_message_id()), true};
}

reply endpoint::fault_reply(const soap::fault& f) const {
  return {soap::render(f, std::nullopt, new_message_id()), true};
}

}  // namespace vsnapd::server::wsman
