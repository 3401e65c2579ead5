#pragma once
// The WS-Management endpoint (`/wsman`): turns a request body into a SOAP reply.
//
// Split in two steps so that the HTTP layer can answer an unauthenticated Identify (DSP0226
// section 11, as Windows and openwsman do) without authenticating first: `parse` reads the
// envelope, the caller decides about authentication, then `dispatch` produces the reply.
//
// Operations (DSP0226/DSP0227 over the object manager): WS-Transfer Get, Put, Create, Delete
// (with wsman:FragmentTransfer on Get and Put), WS-Enumeration Enumerate, Pull, Release, Renew,
// GetStatus (EnumerateEPR / EnumerateObjectAndEPR, OptimizeEnumeration, selector, WQL, CQL and
// association filters), and custom actions (Invoke). Object-manager errors become faults through
// soap::from_cim, the single mapping table.
//
// Thread-safety: every member may be called concurrently. `dispatch` with a caller calls into
// the object manager and providers, so it must run on the blocking executor, never on an I/O
// thread; Identify and fault replies do no such work.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <pugixml.hpp>
#include <string>

#include "server/soap/envelope.hpp"
#include "server/users.hpp"
#include "server/wsman/enumeration_table.hpp"

namespace vsnapd::cim {
class object_manager;
}

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

/// The authenticated user a request runs for.
struct caller {
  std::string_view user;
  role user_role = role::reader;
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

  /// Everything the endpoint is configured with.
  struct options {
    std::size_t max_envelope_size = 512000;  ///< request limit and default reply limit
    security profiles;
    std::size_t max_enumerations_per_user = 64;
    std::chrono::seconds enumeration_expiry{600};
    std::string machine = "localhost";  ///< the Machine of Microsoft WSManFault details
    /// Parser for CIM-XML `<INSTANCE>` text in embedded-instance parameters (the CIM-XML
    /// codec's); empty: that encoding is refused.
    std::function<cim::result<cim::instance>(std::string_view)> parse_cimxml_instance;
  };

  /// An endpoint that answers Identify only (every other action: wsa:ActionNotSupported).
  endpoint(std::size_t max_envelope_size, const security& profiles);
  /// An endpoint serving `om` (which must outlive it).
  endpoint(const options& opts, const cim::object_manager& om);
  ~endpoint();

  /// Parses `body` (moved into the result) as a WS-Man request.
  void parse(parsed_request& out, std::string&& body) const;

  /// Produces the reply to a request that needs no authentication: IdentifyResponse, or the
  /// fault of an envelope that could not be parsed. Cheap; fine on an I/O thread.
  reply dispatch(const parsed_request& request, transport t) const;

  /// Produces the reply to an authenticated request: the operation's response or a fault.
  /// Calls the object manager: run it on the blocking executor.
  reply dispatch(const parsed_request& request, transport t, const caller& who) const;

  /// A fault reply for a request whose body could not be read at all (e.g. over the size limit
  /// before the body was received).
  reply fault_reply(const soap::fault& f) const;

  /// Replaces the clock enumeration expiry and timeouts are measured with (tests).
  void set_clock_for_test(std::function<clock::time_point()> now);
  /// Replaces the generator of reply MessageIDs (tests, so golden replies are stable).
  void set_message_ids_for_test(std::function<std::string()> next);

  /// The open enumeration contexts.
  const enumeration_table& enumerations() const { return *enumerations_; }

 private:
  struct request_state;
  endpoint(const options& opts, const cim::object_manager* om);
  reply handle(const soap::envelope& env, const caller& who) const;
  std::string message_id() const;

  options opts_;
  const cim::object_manager* om_ = nullptr;
  std::unique_ptr<enumeration_table> enumerations_;
  std::function<clock::time_point()> now_;
  std::function<std::string()> message_ids_;
  std::string identify_http_;
  std::string identify_https_;
};

}  // namespace vsnapd::server::wsman
