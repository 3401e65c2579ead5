#pragma once
// The CIM-XML endpoint (`/cimom`, DSP0200 1.4 over HTTP, DSP0201 encoding): checks the HTTP
// framing, decodes the IMETHODCALL or METHODCALL, checks the caller's role, runs the operation
// on the object manager and writes the IMETHODRESPONSE / METHODRESPONSE.
//
// CIM errors travel as HTTP 200 with `<ERROR CODE DESCRIPTION>` (and the CIM_Error instance
// when the object manager has one); only malformed requests get HTTP 400/501 with a `CIMError:`
// header. Enumerations are written batch by batch from the object manager's cursor, so no
// instance list is ever held whole; past limits::stream_after the rest of the document is
// handed out piece by piece (reply::stream) instead of into one body string.
//
// Thread-safety: `handle` may be called concurrently from any thread. It calls providers, so it
// must run on the blocking executor, never on an I/O thread.

#include "cimom/object_manager.hpp"
#include "server/body_source.hpp"
#include "server/cimxml/enumeration_contexts.hpp"
#include "server/cimxml/http_framing.hpp"
#include "server/users.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace vsnapd::server::cimxml {

/// Who is calling, as the router authenticated them.
struct caller {
  std::string user;
  role user_role = role::reader;
  /// The host name written in INSTANCEPATH/NAMESPACEPATH (the Host the client addressed).
  std::string host = "localhost";
};

/// The answer to one request, for the router to put on the wire.
struct reply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  /// With status ok: the CIM-XML document (Content-Type application/xml, CIMOperation:
  /// MethodResponse). Otherwise a plain-text reason, with `cim_error` as the CIMError header.
  std::string body;
  std::optional<cim_error_header> cim_error;
  /// The M-POST header prefix to answer with (`Ext:` and `NN-CIMOperation`), empty for POST.
  std::string mpost_prefix;
  /// Set for a large enumeration (see endpoint::limits::stream_after): the whole document comes
  /// from here, piece by piece, and `body` is empty. Its trailers carry CIMStatusCode
  /// (DSP0200 section 7.4), since an error may come after the 200 header went out.
  std::unique_ptr<body_source> stream;
};

class endpoint {
 public:
  struct limits {
    enumeration_contexts::limits pull;
    /// The most objects one Pull or Open returns, whatever MaxObjectCount asks.
    std::uint32_t max_object_count = 10000;
    /// A response that may stream (EnumerateInstances, ExecQuery, Associators... but not the
    /// bounded Pull operations) is built whole up to this size, then handed out piece by piece
    /// (reply::stream). 0: never stream.
    std::size_t stream_after = 256 * 1024;
  };

  /// @param om must outlive the endpoint. @param now clock for context expiry (tests).
  endpoint(const cim::object_manager& om, limits l, enumeration_contexts::clock_fn now = {});

  /// Answers one request: `verb` is "POST" or "M-POST", `fields` the request headers, `body`
  /// the request body (parsed in place, so taken by value). `may_stream`: the response may come
  /// as reply::stream (false for HTTP/1.0 clients, which cannot take chunks).
  reply handle(std::string_view verb, const boost::beast::http::fields& fields, std::string body,
               const caller& who, bool may_stream = false);

  /// Open enumeration contexts (tests).
  std::size_t open_contexts() const { return contexts_.size(); }

 private:
  const cim::object_manager& om_;
  limits limits_;
  enumeration_contexts contexts_;
};

/// The CIM-XML ERROR CODE for a status (DSP0200 section 5.3.1): the one errc-to-protocol table
/// of this endpoint (STYLE rule 18).
std::uint32_t error_code_of(cim::errc e);

/// True when `r` may run the operation (intrinsic name, or "" for an extrinsic method):
/// readers read, operators also invoke methods, admins do everything.
bool allowed(role r, std::string_view intrinsic_method, bool extrinsic);

}  // namespace vsnapd::server::cimxml
