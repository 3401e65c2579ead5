#include "server/tls_stream.hpp"

namespace vsnapd::server {

tls_stream::tls_stream(socket_type&& socket, SSL_CTX* ctx)
    : socket_(std::move(socket)), ssl_(SSL_new(ctx)), deadline_(socket_.get_executor()) {
  if (ssl_) {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    if (SSL_set_fd(ssl_.get(), socket_.native_handle()) != 1) {
      ssl_.reset();
      return;
    }
    // Partial and moving writes: a write that would block is resumed later with the same
    // bytes, possibly from another address (our gather buffer is per operation).
    SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_accept_state(ssl_.get());
  }
}

tls_stream::~tls_stream() = default;

void tls_stream::expires_after(std::chrono::steady_clock::duration d) {
  timed_out_ = false;
  deadline_.expires_after(d);
  deadline_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      // Wake the pending wait; its operation then reports beast::error::timeout.
      timed_out_ = true;
      boost::system::error_code ignored;
      socket_.cancel(ignored);
    }
  });
}

}  // namespace vsnapd::server
