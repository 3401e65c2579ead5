#pragma once
// A server-side TLS stream in which OpenSSL reads and writes the non-blocking socket itself
// (SSL_set_fd) and Asio only waits for readiness.
//
// Why not asio::ssl::stream: its engine keeps two 17 KiB staging buffers and a BIO pair with
// two more 17 KiB buffers for the life of every connection, ~70 KiB even when idle. Here an
// idle connection holds only OpenSSL's SSL object: with SSL_MODE_RELEASE_BUFFERS its record
// buffers are freed whenever they are empty. That is what keeps a thousand idle keep-alive
// clients within the memory budget.
//
// It models Asio's AsyncReadStream and AsyncWriteStream, so Beast's HTTP algorithms run over
// it unchanged. A write of several buffers (HTTP headers and body) is gathered into one TLS
// record and one send. Like beast::tcp_stream, it has an operation deadline: when it passes,
// the pending operation completes with beast::error::timeout. All members must be used from
// the stream's executor (the connection's strand).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <vector>

namespace vsnapd::server {

class tls_stream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using socket_type = boost::asio::ip::tcp::socket;

  /// Takes the socket; `ctx` must outlive the stream (hold its shared_ptr beside it).
  tls_stream(socket_type&& socket, SSL_CTX* ctx);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  socket_type& socket() { return socket_; }
  SSL* native_handle() { return ssl_.get(); }
  bool valid() const { return ssl_ != nullptr; }

  /// Sets the deadline of the operations that follow (until the next call).
  void expires_after(std::chrono::steady_clock::duration d);

  template <class Token>
  auto async_handshake(Token&& token) {
    return run([](SSL* ssl, std::size_t& n) {
      n = 0;
      return SSL_do_handshake(ssl);
    }, std::forward<Token>(token));
  }

  /// Sends our close_notify. We do not wait for the peer's (TLS 1.3 and RFC 8446 allow
  /// closing after sending it), so a vanished client cannot stall shutdown.
  template <class Token>
  auto async_shutdown(Token&& token) {
    return run([](SSL* ssl, std::size_t& n) {
      n = 0;
      const int r = SSL_shutdown(ssl);
      return r == 0 ? 1 : r;  // 0: ours sent, theirs not yet received: good enough
    }, std::forward<Token>(token));
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (boost::asio::mutable_buffer b(*it); b.size() > 0) {
        first = b;
        break;
      }
    }
    return run([first](SSL* ssl, std::size_t& n) {
      if (first.size() == 0) {
        n = 0;
        return 1;
      }
      return SSL_read_ex(ssl, first.data(), first.size(), &n);
    }, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    // Gather up to one TLS record's worth so that headers and body leave in one record.
    constexpr std::size_t max_record = 16384;
    auto data = std::make_shared<std::vector<unsigned char>>();
    data->reserve(std::min(max_record, boost::asio::buffer_size(buffers)));
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && data->size() < max_record; ++it) {
      const boost::asio::const_buffer b(*it);
      const auto take = std::min(b.size(), max_record - data->size());
      const auto* p = static_cast<const unsigned char*>(b.data());
      data->insert(data->end(), p, p + take);
    }
    return run([data](SSL* ssl, std::size_t& n) {
      if (data->empty()) {
        n = 0;
        return 1;
      }
      return SSL_write_ex(ssl, data->data(), data->size(), &n);
    }, std::forward<Token>(token));
  }

 private:
  // One OpenSSL call retried until it stops asking for socket readiness.
  template <class Step>
  struct io_op {
    tls_stream& stream;
    Step step;
    bool started = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (!started) {
        // Never complete inside the initiating call: Beast's read loops would recurse.
        started = true;
        boost::asio::post(stream.get_executor(), std::move(self));
        return;
      }
      if (ec) {
        if (ec == boost::asio::error::operation_aborted && stream.timed_out_) {
          ec = boost::beast::error::timeout;
        }
        self.complete(ec, 0);
        return;
      }
      if (stream.timed_out_) {
        self.complete(boost::beast::error::timeout, 0);
        return;
      }
      ERR_clear_error();
      std::size_t n = 0;
      const int r = step(stream.ssl_.get(), n);
      if (r > 0) {
        self.complete({}, n);
        return;
      }
      switch (SSL_get_error(stream.ssl_.get(), r)) {
        case SSL_ERROR_WANT_READ:
          stream.socket_.async_wait(socket_type::wait_read, std::move(self));
          return;
        case SSL_ERROR_WANT_WRITE:
          stream.socket_.async_wait(socket_type::wait_write, std::move(self));
          return;
        case SSL_ERROR_ZERO_RETURN:
          self.complete(boost::asio::error::eof, 0);
          return;
        case SSL_ERROR_SYSCALL:
          // errno 0: the peer closed without close_notify (a truncated stream).
          self.complete(errno != 0 ? boost::system::error_code(errno, boost::system::system_category())
                                   : boost::asio::ssl::error::stream_truncated,
                        0);
          return;
        default:
          self.complete(boost::system::error_code(static_cast<int>(ERR_get_error()),
                                                  boost::asio::error::get_ssl_category()),
                        0);
          return;
      }
    }
  };

  template <class Step, class Token>
  auto run(Step step, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        io_op<Step>{*this, std::move(step)}, token, socket_);
  }

  struct ssl_deleter {
    void operator()(SSL* s) const { SSL_free(s); }
  };

  socket_type socket_;
  std::unique_ptr<SSL, ssl_deleter> ssl_;
  boost::asio::steady_timer deadline_;
  bool timed_out_ = false;
};

}  // namespace vsnapd::server
