#pragma once
// Sends a response whose body comes from a body_source as HTTP/1.1 chunks (RFC 9112 section 7.1):
// the header with `Transfer-Encoding: chunked`, one chunk per piece as soon as it is made, then
// the last chunk, with the source's trailers when the client accepts them (`TE: trailers`).
// A source that fails when the client takes no trailers ends without the last chunk, so the
// client sees an incomplete response rather than a complete wrong one. Used by the session
// (http_server.cpp) over plain and TLS streams; a template so tests can drive any stream.

#include "server/body_source.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace vsnapd::server {

/// What write_chunked did.
struct chunked_outcome {
  boost::system::error_code ec;  ///< a write failed (the connection is then unusable)
  bool complete = false;         ///< the last chunk went out: the connection may be reused
  std::uint64_t bytes = 0;       ///< body bytes sent, without chunk framing
};

/// True when a TE header value lists "trailers" (RFC 9110 section 10.1.4).
bool accepts_trailers(std::string_view te);

/// Writes `head` (its body ignored; made chunked here) and the body from `source`. `next(source,
/// piece)` is an awaitable producing the next piece (router::next_piece); `before_write()` runs
/// before each write (the session arms its deadline there).
template <class Stream, class NextPiece, class BeforeWrite>
boost::asio::awaitable<chunked_outcome> write_chunked(
    Stream& stream, boost::beast::http::response<boost::beast::http::empty_body>& head,
    body_source& source, bool trailers_accepted, NextPiece next, BeforeWrite before_write) {
  namespace http = boost::beast::http;
  constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
  chunked_outcome out;
  head.chunked(true);
  const std::string_view names = source.trailer_names();
  if (trailers_accepted && !names.empty()) {
    head.set(http::field::trailer, names);
  }
  http::response_serializer<http::empty_body> sr(head);
  before_write();
  if (auto [ec, n] = co_await http::async_write_header(stream, sr, nothrow); ec) {
    out.ec = ec;
    co_return out;
  }
  std::string piece;
  while (co_await next(source, piece)) {
    before_write();
    auto [ec, n] = co_await boost::asio::async_write(
        stream, http::make_chunk(boost::asio::buffer(piece)), nothrow);
    if (ec) {
      out.ec = ec;
      co_return out;
    }
    out.bytes += piece.size();
  }
  if (source.failed() && !trailers_accepted) {
    co_return out;  // no last chunk: the caller closes the connection
  }
  http::fields trailer;
  if (trailers_accepted) {
    for (const auto& [name, value] : source.trailers()) {
      trailer.set(name, value);
    }
  }
  before_write();
  auto [ec, n] = co_await boost::asio::async_write(stream, http::make_chunk_last(trailer), nothrow);
  out.ec = ec;
  out.complete = !ec;
  co_return out;
}

}  // namespace vsnapd::server
