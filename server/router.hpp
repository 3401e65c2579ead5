#pragma once
// Per-request policy between HTTP and the protocol endpoints: path and method routing,
// content-type checks, authentication (with the anonymous-Identify exception), and the HTTP
// shape of every answer. One router serves all sessions; it is thread-safe.

#include "cimom/object_manager.hpp"
#include "server/auth/authenticator.hpp"
#include "server/body_source.hpp"
#include "server/cimxml/endpoint.hpp"
#include "server/config.hpp"
#include "server/wsman/endpoint.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace vsnapd::server {

namespace http = boost::beast::http;
using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

/// Which protocol a listener speaks.
enum class protocol : std::uint8_t { wsman, cimxml };

std::string_view to_string(protocol p);

/// A plain-text answer (errors a person reads: 401, 403, 404, 415...). `version` is the
/// request's HTTP version (11 for 1.1).
http_response text_response(unsigned version, bool keep_alive, http::status status,
                            std::string text);

/// The router's answer to one request: a whole response, or (when `stream` is set) the header
/// of a response whose body the session sends in chunks from `stream`.
struct answer {
  answer() = default;
  answer(http_response r) : res(std::move(r)) {}  // NOLINT: every plain answer converts
  answer(http_response r, std::unique_ptr<body_source> s)
      : res(std::move(r)), stream(std::move(s)) {}

  http_response res;  ///< with `stream`: the header only (its body is empty and unused)
  std::unique_ptr<body_source> stream;
};

/// What a session knows about its connection.
struct connection_facts {
  protocol proto = protocol::wsman;
  bool encrypted = false;
  std::string client_address;                   ///< "ip:port" for logs
  std::string client_ip;                        ///< throttling key
  std::optional<std::string> certificate_user;  ///< from a verified, mapped client certificate
};

class router {
 public:
  /// @param blocking executor for CPU-heavy work (the Basic KDF) and provider calls, never an
  /// I/O thread. @param om the object manager both protocols serve; must outlive the router.
  router(const config& cfg, boost::asio::any_io_executor blocking, cim::object_manager& om);

  /// Answers one complete request. Runs on the session's strand; hops to `blocking` and back
  /// for password verification.
  boost::asio::awaitable<answer> handle(http_request&& req, const connection_facts& conn,
                                        std::uint64_t request_id);

  /// The next piece of a streamed answer's body (body_source::next), produced on the blocking
  /// executor when it may call providers (else in place); resumes on the caller's executor.
  boost::asio::awaitable<bool> next_piece(body_source& source, std::string& piece);

  /// The answer to a request whose body exceeds the limit (sent before reading the body;
  /// the connection is then closed): wsman:EncodingLimit on /wsman, 413 otherwise.
  http_response body_too_large(const http_request& req, const connection_facts& conn) const;

  /// Replaces the users after a reload.
  void set_users(std::shared_ptr<const user_db> users) { auth_.set_users(std::move(users)); }

  std::uint64_t max_body() const { return max_body_; }

 private:
  http_response soap_response(const http_request& req, wsman::reply&& r) const;
  http_response challenge(const http_request& req, const connection_facts& conn, bool stale,
                          const std::string& reason) const;

  config::auth_config auth_cfg_;
  std::uint64_t max_body_;
  boost::asio::any_io_executor blocking_;
  auth::authenticator auth_;
  cim::object_manager& om_;
  wsman::endpoint wsman_;
  cimxml::endpoint cimxml_;
};

}  // namespace vsnapd::server
