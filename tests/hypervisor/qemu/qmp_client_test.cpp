#include "hypervisor/qemu/qmp_client.hpp"

#include <catch2/catch.hpp>

#include "qmp_test_util.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json/serialize.hpp>

using namespace vsnapd::hv;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = boost::json;

TEST_CASE("qmp_client: negotiates capabilities and answers commands", "[hypervisor][qmp_client]") {
  test::temp_dir dir;
  test::qemu_process q(dir.path);
  asio::io_context ioc;
  test::run(ioc, [&]() -> asio::awaitable<void> {
    auto c = co_await qemu::qmp_client::connect(ioc.get_executor(), q.socket, 10s);
    REQUIRE(c);
    auto& cl = **c;
    REQUIRE(cl.version().size() == 3);
    CHECK(cl.version()[0] >= 7);
    auto st = co_await cl.execute("query-status");
    REQUIRE(st);
    CHECK(st->at("running").as_bool() == false);
    cl.close();
  }());
}

TEST_CASE("qmp_client: matches concurrent answers to their commands by id",
          "[hypervisor][qmp_client]") {
  test::temp_dir dir;
  test::qemu_process q(dir.path);
  asio::io_context ioc;
  test::run(ioc, [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto c = co_await qemu::qmp_client::connect(ioc.get_executor(), q.socket, 10s);
    REQUIRE(c);
    auto& cl = **c;
    // Three commands in flight at once, each answer must reach its own caller.
    auto [a, b, d] = co_await (cl.execute("query-status") && cl.execute("query-version") &&
                               cl.execute("query-name"));
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(d);
    CHECK(a->as_object().contains("status"));
    CHECK(b->as_object().contains("qemu"));
    CHECK(!d->as_object().contains("status"));
    cl.close();
  }());
}

TEST_CASE("qmp_client: an error answer is backend_failed with QEMU's class and text",
          "[hypervisor][qmp_client]") {
  test::temp_dir dir;
  test::qemu_process q(dir.path);
  asio::io_context ioc;
  test::run(ioc, [&]() -> asio::awaitable<void> {
    auto c = co_await qemu::qmp_client::connect(ioc.get_executor(), q.socket, 10s);
    REQUIRE(c);
    struct row {
      const char* command;
      json::object args;
      const char* error_class;
    };
    std::vector<row> rows{
        {"no-such-command", {}, "CommandNotFound"},
        {"blockdev-del", {{"node-name", "missing"}}, "GenericError"},
        {"query-status", {{"bogus", 1}}, "GenericError"},
    };
    for (auto& r : rows) {
      auto res = co_await (*c)->execute(r.command, r.args);
      CHECK(res.error() == make_error_code(errc::backend_failed));
      CHECK((*c)->last_error().error_class == r.error_class);
      CHECK(!(*c)->last_error().desc.empty());
    }
    (*c)->close();
  }());
}

TEST_CASE("qmp_client: delivers events to subscribers and waiters", "[hypervisor][qmp_client]") {
  test::temp_dir dir;
  test::qemu_process q(dir.path);
  asio::io_context ioc;
  test::run(ioc, [&]() -> asio::awaitable<void> {
    auto c = co_await qemu::qmp_client::connect(ioc.get_executor(), q.socket, 10s);
    REQUIRE(c);
    auto& cl = **c;
    std::vector<std::string> seen;
    auto sub = cl.subscribe([&](const qemu::qmp_event& e) { seen.push_back(e.name); });
    auto w = cl.watch([](const qemu::qmp_event& e) { return e.name == "RESUME"; });
    REQUIRE(co_await cl.execute("cont"));
    auto e = co_await cl.wait(*w, 5s);
    REQUIRE(e.has_value());
    CHECK(e->name == "RESUME");
    auto stop = cl.watch([](const qemu::qmp_event& ev) { return ev.name == "STOP"; });
    REQUIRE(co_await cl.execute("stop"));
    auto stopped = co_await cl.wait(*stop, 5s);
    REQUIRE(stopped.has_value());
    CHECK(seen == std::vector<std::string>{"RESUME", "STOP"});
    // Nothing else matches: the wait ends by its timeout.
    auto none = co_await cl.wait(*w, 50ms);
    CHECK(none.error() == make_error_code(errc::timed_out));
    cl.unsubscribe(sub);
    cl.close();
  }());
}

TEST_CASE("qmp_client: QEMU dying fails pending waits at once", "[hypervisor][qmp_client]") {
  test::temp_dir dir;
  test::qemu_process q(dir.path);
  asio::io_context ioc;
  test::run(ioc, [&]() -> asio::awaitable<void> {
    auto c = co_await qemu::qmp_client::connect(ioc.get_executor(), q.socket, 10s);
    REQUIRE(c);
    auto& cl = **c;
    auto w = cl.watch([](const qemu::qmp_event& e) { return e.name == "NEVER"; });
    auto t0 = std::chrono::steady_clock::now();
    // "quit" makes QEMU exit; the waiter must wake on the closed socket, not its timeout.
    (void)co_await cl.execute("quit");
    auto e = co_await cl.wait(*w, 20s);
    CHECK(e.error() == make_error_code(errc::backend_unavailable));
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    CHECK(!cl.connected());
    auto after = co_await cl.execute("query-status");
    CHECK(after.error() == make_error_code(errc::backend_unavailable));
  }());
}

TEST_CASE("qmp_client: connect errors", "[hypervisor][qmp_client]") {
  test::temp_dir dir;
  asio::io_context ioc;
  SECTION("no socket") {
    auto r = test::run(ioc, qemu::qmp_client::connect(ioc.get_executor(),
                                                      (dir.path / "none.sock").string(), 1s));
    CHECK(r.error() == make_error_code(errc::backend_unavailable));
  }
  SECTION("a peer that never greets") {
    auto fd = qemu::listen_unix((dir.path / "mute.sock").string());
    REQUIRE(fd);
    auto r = test::run(ioc, qemu::qmp_client::connect(ioc.get_executor(),
                                                      (dir.path / "mute.sock").string(), 100ms));
    CHECK(r.error() == make_error_code(errc::timed_out));
    ::close(*fd);
  }
}
