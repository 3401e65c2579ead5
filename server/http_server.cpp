#include "server/http_server.hpp"

#include "common/text.hpp"
#include "common/log.hpp"
#include "server/chunked_writer.hpp"
#include "server/tls.hpp"
#include "server/tls_stream.hpp"
#include "server/version.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>

namespace vsnapd::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// Large enough for the longest real client header set (Windows sends ~1 KiB), small enough
// that a thousand idle connections cannot pin much memory.
constexpr std::uint32_t header_limit = 16 * 1024;
// How long a closing TLS connection may take to send its close_notify.
constexpr auto tls_close_wait = std::chrono::seconds(1);
// Lingering close: how long and how much of an unread request body we discard after answering.
constexpr auto linger_time = std::chrono::seconds(5);
constexpr std::size_t linger_max_bytes = 16u << 20;

// The deadline of the next operations on either kind of stream.
void set_deadline(beast::tcp_stream& s, std::chrono::steady_clock::duration d) { s.expires_after(d); }
void set_deadline(tls_stream& s, std::chrono::steady_clock::duration d) { s.expires_after(d); }

std::string format_endpoint(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" +
         std::to_string(ep.port());
}

// Shared between a session and the server's registry. Touched only on the session's strand,
// except `executor`, which is immutable.
struct connection {
  std::uint64_t id = 0;
  asio::any_io_executor executor;
  tcp::socket* socket = nullptr;     // valid while the session runs
  bool busy = false;                 // between reading a request's first byte and answering
  bool unread_input = false;         // answered (and closing) before the request was all read
};

}  // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& io, const config& c, router& r, std::shared_ptr<ssl::context> t)
      : ioc(io), cfg(c), handler(r), tls(std::move(t)), drain_timer(asio::make_strand(io)) {}

  asio::io_context& ioc;
  config cfg;
  router& handler;

  mutable std::mutex mutex;  // guards tls, connections, on_drained
  std::shared_ptr<ssl::context> tls;
  std::unordered_map<std::uint64_t, std::shared_ptr<connection>> connections;
  std::function<void()> on_drained;

  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // each on its own strand
  std::vector<std::uint16_t> ports;
  asio::steady_timer drain_timer;  // on its own strand: armed by shutdown, cancelled by remove
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_connection_id{1};
  std::atomic<std::uint64_t> next_request_id{1};

  std::shared_ptr<ssl::context> tls_context() {
    std::lock_guard lock(mutex);
    return tls;
  }

  std::size_t count() {
    std::lock_guard lock(mutex);
    return connections.size();
  }

  std::shared_ptr<connection> add(asio::any_io_executor ex) {
    auto c = std::make_shared<connection>();
    c->id = next_connection_id++;
    c->executor = std::move(ex);
    std::lock_guard lock(mutex);
    connections.emplace(c->id, c);
    return c;
  }

  void remove(const connection& c) {
    std::function<void()> done;
    {
      std::lock_guard lock(mutex);
      connections.erase(c.id);
      if (stopping && connections.empty() && on_drained) {
        done = std::move(on_drained);
        on_drained = nullptr;
      }
    }
    if (done) {
      asio::post(drain_timer.get_executor(), [self = shared_from_this()] { self->drain_timer.cancel(); });
      done();
    }
  }

  // Closes connections: idle ones only, or all of them once the drain time is up.
  void close_connections(bool busy_too) {
    std::vector<std::shared_ptr<connection>> all;
    {
      std::lock_guard lock(mutex);
      for (auto& [id, c] : connections) {
        all.push_back(c);
      }
    }
    for (auto& c : all) {
      asio::post(c->executor, [c, busy_too] {
        if (c->socket != nullptr && (busy_too || !c->busy)) {
          beast::error_code ignored;
          c->socket->shutdown(tcp::socket::shutdown_both, ignored);
          c->socket->close(ignored);
        }
      });
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const connection_facts& facts, connection& conn) {
    const auto& limits = cfg.limits;
    beast::flat_buffer buffer;
    for (;;) {
      if (buffer.size() == 0) {
        // Idle between requests: hold no buffer memory, and let a shutdown close us.
        conn.busy = false;
        buffer.shrink_to_fit();
        if (stopping) {
          co_return;
        }
        set_deadline(stream, limits.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), nothrow);
        if (ec) {
          co_return;  // closed, idle timeout, or shut down
        }
        buffer.commit(n);
      }
      conn.busy = true;

      http::request_parser<http::string_body> parser;
      parser.header_limit(header_limit);
      parser.body_limit(handler.max_body());
      set_deadline(stream, limits.header_timeout);
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, nothrow);
      if (!hec && iequals(parser.get()[http::field::expect], "100-continue") && !parser.is_done()) {
        const auto declared = parser.content_length();
        if (!declared || *declared <= handler.max_body()) {
          http::response<http::empty_body> go_on{http::status::continue_, 11};
          set_deadline(stream, limits.request_timeout);
          auto [cec, cn] = co_await http::async_write(stream, go_on, nothrow);
          if (cec) {
            co_return;
          }
        }
      }
      beast::error_code ec = hec;
      if (!ec && !parser.is_done()) {
        set_deadline(stream, limits.request_timeout);
        auto [bec, bn] = co_await http::async_read(stream, buffer, parser, nothrow);
        ec = bec;
      }
      if (ec) {
        http_response res;
        if (ec == http::error::body_limit) {
          res = handler.body_too_large(parser.get(), facts);
        } else if (ec == http::error::header_limit) {
          res = text_response(11, false, http::status::request_header_fields_too_large,
                            "request headers exceed " + std::to_string(header_limit) + " bytes");
        } else if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
                   ec != http::error::end_of_stream && ec != http::error::partial_message) {
          res = text_response(11, false, http::status::bad_request, "malformed HTTP request: " + ec.message());
        } else {
          // Timeout, reset or a client that went away mid-request: nobody to answer.
          log::write(log::level::debug, "server.http",
                     facts.client_address + " dropped: " + ec.message());
          co_return;
        }
        log::write(log::level::info, "server.http",
                   facts.client_address + " " + std::to_string(res.result_int()) + ": " +
                       ec.message());
        res.keep_alive(false);
        conn.unread_input = true;
        set_deadline(stream, limits.request_timeout);
        co_await http::async_write(stream, res, nothrow);
        co_return;
      }

      const std::uint64_t id = next_request_id++;
      const auto started = std::chrono::steady_clock::now();
      http_request req = parser.release();
      const bool debug = log::enabled(log::level::debug);
      std::string line;
      if (debug) {
        line = facts.client_address + " " + std::string(req.method_string()) + " " +
               std::string(req.target());
      }
      const bool trailers_accepted = accepts_trailers(req[http::field::te]);
      answer a = co_await handler.handle(std::move(req), facts, id);
      http_response& res = a.res;
      if (stopping) {
        res.keep_alive(false);
      }
      bool keep_alive = res.keep_alive();
      const unsigned status = res.result_int();
      set_deadline(stream, limits.request_timeout);
      beast::error_code wec;
      std::uint64_t wn = 0;
      if (!a.stream) {
        auto [write_ec, written] = co_await http::async_write(stream, res, nothrow);
        wec = write_ec;
        wn = written;
      } else {
        // A large answer: its body is made piece by piece and sent in chunks, each piece
        // before the next is made, so memory stays at one piece.
        http::response<http::empty_body> head(std::move(res.base()));
        const chunked_outcome sent = co_await write_chunked(
            stream, head, *a.stream, trailers_accepted,
            [this](body_source& src, std::string& piece) { return handler.next_piece(src, piece); },
            [&stream, &limits] { set_deadline(stream, limits.request_timeout); });
        wec = sent.ec;
        wn = sent.bytes;
        if (!sent.complete) {
          keep_alive = false;
        }
        if (a.stream->failed()) {
          log::write(log::level::warning, "server.http",
                     facts.client_address + ": streamed response failed after " +
                         std::to_string(sent.bytes) + " body bytes; " +
                         (sent.complete ? "reported in its trailers"
                                        : "closing without the last chunk"),
                     id);
        }
      }
      if (debug) {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        log::write(log::level::debug, "server.http",
                   line + " " + std::to_string(status) + " " + std::to_string(wn) +
                       "B " + std::to_string(us) + "us",
                   id);
      }
      if (wec || !keep_alive) {
        co_return;
      }
    }
  }

  // After an answer sent before the request was all read (413, 400), the client may still be
  // sending its body. Closing a socket with unread data makes the kernel send RST, and the RST
  // can destroy our answer in the client's receive buffer before it reads it (curl then reports
  // an empty reply). So: stop sending, then read and discard until the client closes, within a
  // time and byte bound (nginx's lingering close).
  static asio::awaitable<void> linger_close(tcp::socket& socket) {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      co_return;
    }
    asio::steady_timer deadline(socket.get_executor());
    deadline.expires_after(linger_time);
    deadline.async_wait([&socket](beast::error_code wec) {
      if (!wec) {
        beast::error_code ignored;
        socket.cancel(ignored);
      }
    });
    std::array<char, 16384> sink;
    for (std::size_t total = 0; total < linger_max_bytes;) {
      auto [rec, n] = co_await socket.async_read_some(asio::buffer(sink), nothrow);
      if (rec) {
        break;  // the client closed (EOF), reset, or the deadline cancelled the read
      }
      total += n;
    }
    deadline.cancel();
  }

  asio::awaitable<void> session(tcp::socket socket, listener_spec spec,
                                std::shared_ptr<connection> conn) {
    connection_facts facts;
    facts.proto = spec.proto;
    facts.encrypted = spec.tls;
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    facts.client_address = ec ? "unknown" : format_endpoint(remote);
    facts.client_ip = ec ? "unknown" : remote.address().to_string();
    try {
      if (spec.tls) {
        const auto ctx = tls_context();  // held for the connection's life
        tls_stream stream(std::move(socket), ctx->native_handle());
        if (!stream.valid()) {
          throw std::runtime_error("cannot create a TLS session");
        }
        conn->socket = &stream.socket();
        set_deadline(stream, cfg.limits.header_timeout);
        auto [hec, hn] = co_await stream.async_handshake(nothrow);
        if (hec) {
          log::write(log::level::debug, "server.tls",
                     facts.client_address + " handshake failed: " + hec.message());
        } else {
          X509* peer = SSL_get0_peer_certificate(stream.native_handle());
          if (peer != nullptr && SSL_get_verify_result(stream.native_handle()) == X509_V_OK) {
            facts.certificate_user = tls::map_client_certificate(peer, cfg.tls.client_certificates);
          }
          co_await serve(stream, facts, *conn);
          // Say goodbye properly; a peer that just drops the TCP connection is also fine.
          if (stream.socket().is_open()) {
            set_deadline(stream, tls_close_wait);
            co_await stream.async_shutdown(nothrow);
            if (conn->unread_input) {
              co_await linger_close(stream.socket());
            }
          }
        }
      } else {
        beast::tcp_stream stream(std::move(socket));
        conn->socket = &stream.socket();
        co_await serve(stream, facts, *conn);
        if (conn->unread_input) {
          co_await linger_close(stream.socket());
        } else {
          stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        }
      }
    } catch (const std::exception& e) {
      // STYLE rule 17b: the session's top-level try. The connection ends; the daemon goes on.
      log::write(log::level::error, "server.http",
                 facts.client_address + " session failed: " + e.what());
    }
    conn->socket = nullptr;
    remove(*conn);
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, listener_spec spec) {
    auto self = shared_from_this();
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), nothrow);
      if (stopping || ec == asio::error::operation_aborted) {
        co_return;
      }
      if (ec) {
        // Out of file descriptors or memory: wait instead of spinning on the error.
        log::write(log::level::warning, "server.listener", spec.name + " accept: " + ec.message());
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(nothrow);
        continue;
      }
      if (count() >= cfg.limits.max_connections) {
        log::write(log::level::warning, "server.listener",
                   spec.name + " refused a connection: max_connections (" +
                       std::to_string(cfg.limits.max_connections) + ") reached");
        if (!spec.tls) {
          static constexpr std::string_view busy =
              "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
              "Content-Length: 0\r\n\r\n";
          beast::error_code ignored;
          socket.non_blocking(true, ignored);
          socket.write_some(asio::buffer(busy), ignored);
        }
        continue;  // the socket closes here
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto conn = add(socket.get_executor());
      asio::co_spawn(socket.get_executor(), session(std::move(socket), spec, conn), asio::detached);
    }
  }
};

http_server::http_server(asio::io_context& ioc, const config& cfg, router& handler,
                         std::shared_ptr<ssl::context> tls)
    : impl_(std::make_shared<impl>(ioc, cfg, handler, std::move(tls))) {}

http_server::~http_server() = default;

void http_server::start(const std::vector<listener_spec>& listeners) {
  for (const auto& spec : listeners) {
    beast::error_code ec;
    const auto address = asio::ip::make_address(spec.address.host, ec);
    if (ec) {
      throw std::system_error(ec, spec.name + ": invalid address '" + spec.address.host + "'");
    }
    auto acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(impl_->ioc));
    const tcp::endpoint ep(address, spec.address.port);
    acceptor->open(ep.protocol(), ec);
    if (!ec) {
      acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec && address.is_v6()) {
      acceptor->set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec) {
      acceptor->bind(ep, ec);
    }
    if (!ec) {
      acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      throw std::system_error(ec, spec.name + ": cannot listen on " + format_endpoint(ep));
    }
    const auto bound = acceptor->local_endpoint();
    impl_->ports.push_back(bound.port());
    log::write(log::level::info, "server.listener",
               spec.name + " listening on " + format_endpoint(bound));
    auto& ref = *acceptor;
    impl_->acceptors.push_back(std::move(acceptor));
    asio::co_spawn(ref.get_executor(), impl_->accept_loop(ref, spec), asio::detached);
  }
}

std::vector<std::uint16_t> http_server::bound_ports() const { return impl_->ports; }

void http_server::set_tls_context(std::shared_ptr<ssl::context> ctx) {
  std::lock_guard lock(impl_->mutex);
  impl_->tls = std::move(ctx);
}

std::size_t http_server::connection_count() const { return impl_->count(); }

void http_server::shutdown(std::function<void()> done) {
  auto self = impl_;
  if (self->stopping.exchange(true)) {
    return;
  }
  for (auto& acceptor : self->acceptors) {
    asio::post(acceptor->get_executor(), [a = acceptor.get()] {
      beast::error_code ignored;
      a->close(ignored);
    });
  }
  bool empty = false;
  {
    std::lock_guard lock(self->mutex);
    empty = self->connections.empty();
    if (!empty) {
      self->on_drained = std::move(done);
    }
  }
  if (empty) {
    asio::post(self->ioc, std::move(done));
    return;
  }
  self->close_connections(false);
  asio::post(self->drain_timer.get_executor(), [self] {
    self->drain_timer.expires_after(self->cfg.limits.shutdown_timeout);
    self->drain_timer.async_wait([self](beast::error_code ec) {
      if (!ec) {
        log::write(log::level::warning, "server", "shutdown timeout: closing busy connections");
        self->close_connections(true);
      }
    });
  });
}

}  // namespace vsnapd::server
