#pragma once
// HTTP/1.1 listeners and connection sessions (Boost.Beast over Asio).
//
// One coroutine session per connection on its own strand (STYLE rules 21-23). Every read has
// a deadline and a size limit: idle_timeout while waiting for a request, header_timeout for its
// headers, request_timeout for its body and our answer. Responses go out with headers and body
// in one write (TCP_NODELAY is set; Beast's ssl_stream flattens the buffers into one record),
// except answers the router streams (router.hpp `answer::stream`): those go out as HTTP/1.1
// chunks, one piece at a time (chunked_writer.hpp).
//
// Shutdown drains: listeners close, idle connections close at once, busy ones finish their
// request and answer with `Connection: close`; whatever remains after shutdown_timeout is cut.

#include "server/config.hpp"
#include "server/router.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vsnapd::server {

/// One listener to open.
struct listener_spec {
  std::string name;  ///< "wsman-https", for logs
  endpoint_address address;
  protocol proto = protocol::wsman;
  bool tls = false;
};

class http_server {
 public:
  http_server(boost::asio::io_context& ioc, const config& cfg, router& handler,
              std::shared_ptr<boost::asio::ssl::context> tls);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and starts accepting on every listener; logs "NAME listening on ADDR:PORT".
  /// Throws std::system_error naming the listener when a bind fails.
  void start(const std::vector<listener_spec>& listeners);

  /// Bound ports, in `start` order (useful with port 0).
  std::vector<std::uint16_t> bound_ports() const;

  /// New TLS connections use `ctx`; established ones keep theirs. Thread-safe.
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> ctx);

  /// Stops accepting and drains. `done` runs (on an I/O thread) once every connection has
  /// ended or the shutdown timeout has cut the rest. Call from any thread, once.
  void shutdown(std::function<void()> done);

  /// Connections open now (for tests and the benchmark).
  std::size_t connection_count() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace vsnapd::server
