#include "server/router.hpp"

#include "common/text.hpp"
#include "common/log.hpp"
#include "server/cimxml/instance_codec.hpp"
#include "server/version.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>

#include <cctype>

namespace vsnapd::server {
namespace {

constexpr std::string_view soap_content_type = "application/soap+xml;charset=UTF-8";

// The path of a request-target without its query ("/wsman?PSVersion=5.1" -> "/wsman").
std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

enum class media_check : std::uint8_t { ok, wrong_type, wrong_charset };

// WS-Man bodies are application/soap+xml in UTF-8. Parameters compare without regard to case
// (wsl writes charset=utf-8, Windows charset=UTF-8); a missing header is tolerated.
media_check check_soap_media_type(std::string_view value) {
  value = trim_ows(value);
  if (value.empty()) {
    return media_check::ok;
  }
  const auto semi = value.find(';');
  if (!iequals(trim_ows(value.substr(0, semi)), "application/soap+xml")) {
    return media_check::wrong_type;
  }
  std::string_view params = semi == std::string_view::npos ? std::string_view{} : value.substr(semi + 1);
  while (!params.empty()) {
    const auto next = params.find(';');
    const std::string_view param = trim_ows(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
    const auto eq = param.find('=');
    if (eq == std::string_view::npos || !iequals(trim_ows(param.substr(0, eq)), "charset")) {
      continue;
    }
    std::string_view charset = trim_ows(param.substr(eq + 1));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
      charset = charset.substr(1, charset.size() - 2);
    }
    if (!iequals(charset, "utf-8")) {
      return media_check::wrong_charset;
    }
  }
  return media_check::ok;
}

// The host name a client addressed ("h" from "h:5988", "::1" from "[::1]:5988"), written into
// the INSTANCEPATHs of CIM-XML responses so that the client can use them as they are.
std::string host_of(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return std::string(host.substr(1, close == std::string_view::npos ? host.npos : close - 1));
  }
  host = host.substr(0, host.find(':'));
  return host.empty() ? std::string("localhost") : std::string(host);
}

// The HTTP shape of a CIM-XML answer (DSP0200 section 7): 200 with CIMOperation:
// MethodResponse, or 400/501/510 with CIMError; header names carry the M-POST prefix and an
// Ext: header when the request was an M-POST (RFC 2774 section 4).
answer cimxml_response(const http_request& req, cimxml::reply&& r) {
  const std::string prefix = r.mpost_prefix.empty() ? std::string() : r.mpost_prefix + "-";
  http_response res;
  if (r.status == http::status::ok) {
    res = http_response{http::status::ok, req.version()};
    res.set(http::field::server, server_header);
    res.set(http::field::content_type, "application/xml; charset=\"utf-8\"");
    res.set(prefix + "CIMOperation", "MethodResponse");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(r.body);
    res.prepare_payload();
  } else {
    res = text_response(req.version(), req.keep_alive(), r.status, std::move(r.body));
    if (r.cim_error) {
      res.set(prefix + "CIMError", cimxml::to_string(*r.cim_error));
    }
  }
  if (!r.mpost_prefix.empty()) {
    res.set("Ext", "");
  }
  if (r.stream) {
    // The session sends the body in chunks; no Content-Length (prepare_payload set 0).
    res.erase(http::field::content_length);
    return answer(std::move(res), std::move(r.stream));
  }
  return res;
}

}  // namespace

std::string_view to_string(protocol p) {
  switch (p) {
    case protocol::wsman: return "wsman";
    case protocol::cimxml: return "cimxml";
  }
  return "unknown";
}

router::router(const config& cfg, boost::asio::any_io_executor blocking, cim::object_manager& om)
    : auth_cfg_(cfg.auth),
      max_body_(cfg.limits.max_envelope_size),
      blocking_(std::move(blocking)),
      auth_(cfg.auth),
      om_(om),
      wsman_(wsman::endpoint::options{
                 cfg.limits.max_envelope_size,
                 wsman::endpoint::security{cfg.auth.basic, cfg.auth.digest,
                                           cfg.auth.allow_unencrypted, !cfg.tls.client_ca.empty()},
                 cfg.limits.max_enumerations_per_user, cfg.limits.enumeration_expiry, "localhost",
                 [](std::string_view text) { return cimxml::parse_instance(text); }},
             om),
      cimxml_(om, cimxml::endpoint::limits{}) {}

http_response text_response(unsigned version, bool keep_alive, http::status status,
                            std::string text) {
  http_response res{status, version};
  res.set(http::field::server, server_header);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(keep_alive);
  res.body() = std::move(text);
  res.body() += '\n';
  res.prepare_payload();
  return res;
}

http_response router::soap_response(const http_request& req, wsman::reply&& r) const {
  // DSP0226 R13.1-3 and MS-WSMV: every fault is HTTP 500 with a SOAP body.
  http_response res{r.is_fault ? http::status::internal_server_error : http::status::ok,
                    req.version()};
  res.set(http::field::server, server_header);
  res.set(http::field::content_type, soap_content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

http_response router::challenge(const http_request& req, const connection_facts& conn, bool stale,
                                const std::string& reason) const {
  http_response res = text_response(req.version(), req.keep_alive(), http::status::unauthorized,
                                    "401 Unauthorized: " + reason);
  for (const std::string& c : auth_.challenges(conn.encrypted, stale)) {
    res.insert(http::field::www_authenticate, c);
  }
  return res;
}

http_response router::body_too_large(const http_request& req, const connection_facts& conn) const {
  http_response res;
  if (conn.proto == protocol::wsman) {
    soap::fault f{soap::fault_code::encoding_limit, soap::fault_detail::max_envelope_size,
                  "The request envelope exceeds the maximum envelope size of " +
                      std::to_string(max_body_) + " bytes.",
                  {}, {}};
    res = soap_response(req, wsman_.fault_reply(f));
  } else {
    res = text_response(req.version(), req.keep_alive(), http::status::payload_too_large,
                        "request body exceeds " + std::to_string(max_body_) + " bytes");
  }
  res.keep_alive(false);  // the unread body is still on the wire
  return res;
}

boost::asio::awaitable<bool> router::next_piece(body_source& source, std::string& piece) {
  if (source.ready()) {
    co_return source.next(piece);  // a copy from memory: not worth two thread hops
  }
  co_return co_await boost::asio::co_spawn(
      blocking_,
      [&source, &piece]() -> boost::asio::awaitable<bool> { co_return source.next(piece); },
      boost::asio::use_awaitable);
}

boost::asio::awaitable<answer> router::handle(http_request&& req, const connection_facts& conn,
                                              std::uint64_t request_id) {
  const std::string_view path = path_of(req.target());
  const std::string_view expected = conn.proto == protocol::wsman ? "/wsman" : "/cimom";
  // DSP0226 suggests /wsman-anon for unauthenticated Identify; serve it as /wsman.
  const bool anon_path = conn.proto == protocol::wsman && path == "/wsman-anon";
  if (path != expected && !anon_path) {
    co_return text_response(req.version(), req.keep_alive(), http::status::not_found,
                            "no such resource: " + std::string(path) + " (this listener serves " +
                                std::string(expected) + ")");
  }
  const bool method_ok = req.method() == http::verb::post ||
                         (conn.proto == protocol::cimxml && req.method_string() == "M-POST");
  if (!method_ok) {
    http_response res = text_response(req.version(), req.keep_alive(), http::status::method_not_allowed,
                                      std::string(req.method_string()) + " is not allowed on " +
                                          std::string(path) + "; use POST");
    res.set(http::field::allow, conn.proto == protocol::cimxml ? "POST, M-POST" : "POST");
    co_return res;
  }

  wsman::parsed_request parsed;
  const std::string_view authorization = req[http::field::authorization];
  if (conn.proto == protocol::wsman) {
    switch (check_soap_media_type(req[http::field::content_type])) {
      case media_check::ok:
        break;
      case media_check::wrong_type:
        co_return text_response(req.version(), req.keep_alive(), http::status::unsupported_media_type,
                                "WS-Management requests must be application/soap+xml, not '" +
                                    std::string(req[http::field::content_type]) + "'");
      case media_check::wrong_charset: {
        soap::fault f{soap::fault_code::encoding_limit, soap::fault_detail::character_set,
                      "Only the UTF-8 character set is supported.", {}, {}};
        co_return soap_response(req, wsman_.fault_reply(f));
      }
    }
    wsman_.parse(parsed, std::move(req.body()));
    // DSP0226 section 11: Identify may be answered before authentication, as Windows and
    // openwsman do, so that clients can discover the service and its security profiles.
    const bool anonymous = authorization.empty() && !conn.certificate_user;
    if (parsed.is_identify() && (anon_path || (anonymous && auth_cfg_.anonymous_identify))) {
      co_return soap_response(req, wsman_.dispatch(parsed, conn.encrypted ? wsman::transport::https
                                                                           : wsman::transport::http));
    }
    if (anon_path) {
      co_return text_response(req.version(), req.keep_alive(), http::status::forbidden,
                              "/wsman-anon answers only wsmid:Identify");
    }
  }

  auth::request_facts facts{authorization, req.method_string(), req.target(), conn.encrypted,
                            conn.client_ip, conn.certificate_user};
  auth::outcome who = auth_.check(facts);
  if (who.result == auth::verdict::needs_kdf) {
    // PBKDF2 takes hundreds of milliseconds on purpose; keep it off the I/O threads.
    who = co_await boost::asio::co_spawn(
        blocking_, [this, &facts]() -> boost::asio::awaitable<auth::outcome> {
          co_return auth_.verify_basic(facts);
        },
        boost::asio::use_awaitable);
  }
  switch (who.result) {
    case auth::verdict::authenticated:
      break;
    case auth::verdict::challenge:
    case auth::verdict::needs_kdf:
      if (!authorization.empty() || conn.certificate_user) {
        log::write(log::level::warning, "server.auth",
                   "authentication failed from " + conn.client_address + ": " + who.reason,
                   request_id);
      }
      co_return challenge(req, conn, who.stale, who.reason);
    case auth::verdict::insecure_basic:
      co_return text_response(req.version(), req.keep_alive(), http::status::forbidden, who.reason);
    case auth::verdict::throttled: {
      log::write(log::level::warning, "server.auth",
                 "refused " + conn.client_address + ": " + who.reason, request_id);
      http_response res = text_response(
          req.version(), req.keep_alive(), http::status::too_many_requests,
          who.reason + "; retry after " + std::to_string(who.retry_after.count()) + " s");
      res.set(http::field::retry_after, std::to_string(who.retry_after.count()));
      co_return res;
    }
  }
  if (log::enabled(log::level::debug)) {
    log::write(log::level::debug, "server.auth",
               "authenticated " + who.user + " (" + std::string(to_string(who.user_role)) + ")",
               request_id);
  }

  if (conn.proto == protocol::cimxml) {
    const cimxml::caller who_cimxml{who.user, who.user_role, host_of(req[http::field::host])};
    const std::string verb(req.method_string());
    // Only HTTP/1.1 has chunked bodies; an HTTP/1.0 client gets the document whole.
    const bool may_stream = req.version() >= 11;
    // The object manager calls providers, which must not run on I/O threads.
    cimxml::reply r = co_await boost::asio::co_spawn(
        blocking_,
        [this, &req, &verb, &who_cimxml, may_stream]() -> boost::asio::awaitable<cimxml::reply> {
          co_return cimxml_.handle(verb, req, std::move(req.body()), who_cimxml, may_stream);
        },
        boost::asio::use_awaitable);
    co_return cimxml_response(req, std::move(r));
  }
  const wsman::transport transport = conn.encrypted ? wsman::transport::https : wsman::transport::http;
  if (parsed.is_identify() || std::holds_alternative<soap::envelope_error>(parsed.envelope)) {
    // Identify and envelope faults touch no provider: answer here, without a thread hop.
    co_return soap_response(req, wsman_.dispatch(parsed, transport));
  }
  // The WS-Man operations call providers: run them on the blocking pool (cimom/provider.hpp),
  // then resume here on the session's strand. The reply body is moved, never copied.
  const wsman::caller who_called{who.user, who.user_role};
  wsman::reply r = co_await boost::asio::co_spawn(
      blocking_,
      [this, &parsed, transport, &who_called]() -> boost::asio::awaitable<wsman::reply> {
        co_return wsman_.dispatch(parsed, transport, who_called);
      },
      boost::asio::use_awaitable);
  co_return soap_response(req, std::move(r));
}

}  // namespace vsnapd::server
