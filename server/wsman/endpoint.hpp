#pragma once
// The WS-Management endpoint (`/wsman`): turns a request body into a SOAP reply.
//
// Split in two steps so that the HTTP layer can answer an unauthenticated Identify (DSP0226
// section 11, as Windows and openwsman do) without authenticating first: `parse` reads the
// envelope, the caller decides about authentication, then `dispatch` produces the reply.
// Thread-safe: the endpoint is immutable after construction.

#include "server/soap/envelope.hpp"

#include <pugixml.hpp>

#include <cstddef>
#include <string>

namespace vsnapd::server::wsman {

/// The transport a request arrived on; Identify lists the security profiles of that transport.
enum class transport : std::uint8_t { http, https };

/// A parsed request. Owns the document the envelope's views point into.
struct parsed_request {
  std::string text;  ///< the body, parsed in place
  pugi::xml_document doc;
  soap::envelope_result envelope;

  /// True for a well-formed wsmid:Identify.
  bool is_identify() const;
};

/// A SOAP reply: the full envelope text, and whether it is a fault (HTTP 500).
struct reply {
  std::string body;
  bool is_fault = false;
};

class endpoint {
 public:
  /// Which DSP0226 security profiles are enabled, for the Identify response.
  struct security {
    bool basic = true;
    bool digest = true;
    bool basic_over_http = false;  ///< Basic allowed on plain HTTP (allow_unencrypted)
    bool mutual = false;           ///< HTTPS client certificates are accepted
  };

  endpoint(std::size_t max_envelope_size, const security& profiles);

  /// Parses `body` (moved into the result) as a WS-Man request.
  void parse(parsed_request& out, std::string&& body) const;

  /// Produces the reply to a parsed request: IdentifyResponse, or a fault.
  reply dispatch(const parsed_request& request, transport t) const;

  /// A fault reply for a request whose body could not be read at all (e.g. over the size limit
  /// before the body was received).
  reply fault_reply(const soap::fault& f) const;

 private:
  std::size_t max_envelope_size_;
  std::string identify_http_;
  std::string identify_https_;
};

}  // namespace vsnapd::server::wsman
