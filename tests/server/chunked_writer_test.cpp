#include "server/chunked_writer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace vsnapd::server;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A body of fixed pieces that may fail after them, with the CIM-XML trailer names.
class pieces_source final : public body_source {
 public:
  pieces_source(std::vector<std::string> pieces, bool fail) : pieces_(std::move(pieces)), fail_(fail) {}

  bool next(std::string& piece) override {
    if (at_ == pieces_.size()) {
      piece.clear();
      return false;
    }
    piece = pieces_[at_++];
    return true;
  }
  bool ready() const override { return true; }
  bool failed() const override { return fail_ && at_ == pieces_.size(); }
  std::string_view trailer_names() const override { return "CIMStatusCode, CIMStatusCodeDescription"; }
  std::vector<std::pair<std::string, std::string>> trailers() const override {
    if (fail_) {
      return {{"CIMStatusCode", "1"}, {"CIMStatusCodeDescription", "CIM_ERR_FAILED%3A%20gone"}};
    }
    return {{"CIMStatusCode", "0"}};
  }

 private:
  std::vector<std::string> pieces_;
  std::size_t at_ = 0;
  bool fail_;
};

struct written {
  chunked_outcome outcome;
  std::string wire;  // every byte the peer received, until the writer's side closed
};

// Runs write_chunked over a real loopback TCP connection and reads what arrives on the other end.
written write_over_socket(body_source& src, bool trailers_accepted) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  beast::tcp_stream server(acceptor.accept());
  written w;
  int writes = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        http::response<http::empty_body> head{http::status::ok, 11};
        head.set(http::field::content_type, "application/xml");
        w.outcome = co_await write_chunked(
            server, head, src, trailers_accepted,
            [](body_source& s, std::string& piece) -> asio::awaitable<bool> {
              co_return s.next(piece);
            },
            [&writes] { ++writes; });
        server.socket().shutdown(tcp::socket::shutdown_send);
      },
      [](std::exception_ptr e) {
        if (e) {
          std::rethrow_exception(e);
        }
      });
  std::string wire;
  std::array<char, 4096> buf{};
  std::function<void()> read_more = [&] {
    client.async_read_some(asio::buffer(buf), [&](beast::error_code ec, std::size_t n) {
      wire.append(buf.data(), n);
      if (!ec) {
        read_more();
      }
    });
  };
  read_more();
  io.run();
  w.wire = std::move(wire);
  CHECK(writes >= 2);  // the header, then each chunk: every write had its deadline armed
  return w;
}

}  // namespace

TEST_CASE("chunked_writer: accepts_trailers reads the TE list", "[server][http]") {
  struct row {
    const char* te;
    bool accepts;
  };
  for (const row& r : {row{"trailers", true}, row{"Trailers", true}, row{"deflate, trailers", true},
                       row{" trailers ;q=1 , gzip", true}, row{"", false}, row{"gzip", false},
                       row{"trailersx", false}, row{"deflate;q=0.5", false}}) {
    INFO(r.te);
    CHECK(accepts_trailers(r.te) == r.accepts);
  }
}

TEST_CASE("chunked_writer: pieces go out as chunks with the trailers the client accepts",
          "[server][http]") {
  const std::string big(100000, 'x');
  struct row {
    bool fail;
    bool trailers;
    bool complete;         // the last chunk went out
    std::string ending;    // how the wire ends
  };
  const row rows[] = {
      {false, true, true, "0\r\nCIMStatusCode: 0\r\n\r\n"},
      {false, false, true, "\r\n0\r\n\r\n"},
      {true, true, true, "0\r\nCIMStatusCode: 1\r\nCIMStatusCodeDescription: CIM_ERR_FAILED%3A%20gone\r\n\r\n"},
      {true, false, false, "6\r\n</CIM>\r\n"},  // no last chunk
  };
  for (const row& r : rows) {
    INFO("fail " << r.fail << " trailers " << r.trailers);
    pieces_source src({"<CIM>", big, "</CIM>"}, r.fail);
    const written w = write_over_socket(src, r.trailers);
    CHECK_FALSE(w.outcome.ec);
    CHECK(w.outcome.complete == r.complete);
    CHECK(w.outcome.bytes == 11 + big.size());
    const auto header_end = w.wire.find("\r\n\r\n");
    REQUIRE(header_end != std::string::npos);
    const std::string header = w.wire.substr(0, header_end);
    CHECK(header.find("Transfer-Encoding: chunked") != std::string::npos);
    CHECK(header.find("Content-Length") == std::string::npos);
    CHECK((header.find("Trailer: CIMStatusCode, CIMStatusCodeDescription") != std::string::npos) ==
          r.trailers);
    CHECK(w.wire.find("\r\n5\r\n<CIM>\r\n") != std::string::npos);
    const std::string& ending = r.ending;
    REQUIRE(w.wire.size() >= ending.size());
    CHECK(w.wire.substr(w.wire.size() - ending.size()) == ending);

    // A real HTTP parser reads back the same body, and finds the message complete only when
    // the last chunk went out.
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(1 << 20);
    beast::error_code ec;
    std::string_view rest = w.wire;
    while (!rest.empty() && !parser.is_done() && !ec) {
      const std::size_t n = parser.put(asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(n);
      if (n == 0 && !ec) {
        break;
      }
    }
    if (r.complete) {
      CHECK_FALSE(ec);
      REQUIRE(parser.is_done());
      CHECK(parser.get().body() == "<CIM>" + big + "</CIM>");
    } else {
      CHECK_FALSE(parser.is_done());
    }
  }
}
