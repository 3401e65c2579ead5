#include "server/cimxml/enumeration_contexts.hpp"

#include <catch2/catch.hpp>

using namespace vsnapd;
using namespace vsnapd::server::cimxml;
using namespace std::chrono_literals;

namespace {

struct fake_clock {
  std::chrono::steady_clock::time_point t{std::chrono::hours(1)};
  enumeration_contexts::clock_fn fn() {
    return [this] { return t; };
  }
};

enumeration_context make(std::string user, std::chrono::seconds timeout = 10s) {
  enumeration_context c;
  c.user = std::move(user);
  c.timeout = timeout;
  return c;
}

}  // namespace

TEST_CASE("enumeration_contexts: OperationTimeout is granted within limits", "[server][cimxml]") {
  enumeration_contexts t({4, 60s, 600s});
  CHECK(*t.grant_timeout(std::nullopt) == 60s);
  CHECK(*t.grant_timeout(1) == 1s);
  CHECK(*t.grant_timeout(600) == 600s);
  for (const std::uint32_t bad : {0u, 601u}) {
    auto r = t.grant_timeout(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == cim::errc::invalid_operation_timeout);
  }
}

TEST_CASE("enumeration_contexts: a context serves its owner, one operation at a time",
          "[server][cimxml]") {
  fake_clock clock;
  enumeration_contexts t({4, 60s, 600s}, clock.fn());
  const std::string id = *t.add(make("alice"));
  CHECK(t.size() == 1);

  auto other = t.check_out(id, "bob");
  REQUIRE_FALSE(other);
  CHECK(other.error().code == cim::errc::invalid_enumeration_context);

  auto mine = t.check_out(id, "alice");
  REQUIRE(mine);
  auto busy = t.check_out(id, "alice");
  REQUIRE_FALSE(busy);
  CHECK(busy.error().code == cim::errc::invalid_enumeration_context);
  CHECK_THAT(busy.error().description, Catch::Contains("in use"));

  t.put_back(id, std::move(*mine));
  CHECK(t.check_out(id, "alice"));
  t.remove(id);
  CHECK(t.size() == 0);
  CHECK_FALSE(t.check_out(id, "alice"));
}

TEST_CASE("enumeration_contexts: a context expires its timeout after the last operation",
          "[server][cimxml]") {
  fake_clock clock;
  enumeration_contexts t({4, 60s, 600s}, clock.fn());
  const std::string id = *t.add(make("alice", 10s));
  clock.t += 9s;
  auto c = t.check_out(id, "alice");
  REQUIRE(c);
  clock.t += 30s;  // a long operation does not count against the timeout
  t.put_back(id, std::move(*c));
  clock.t += 9s;
  c = t.check_out(id, "alice");
  REQUIRE(c);
  t.put_back(id, std::move(*c));
  clock.t += 10s;
  auto expired = t.check_out(id, "alice");
  REQUIRE_FALSE(expired);
  CHECK_THAT(expired.error().description, Catch::Contains("expired"));
  CHECK(t.size() == 0);
}

TEST_CASE("enumeration_contexts: the table is bounded, and expired contexts make room",
          "[server][cimxml]") {
  fake_clock clock;
  enumeration_contexts t({2, 60s, 600s}, clock.fn());
  const std::string a = *t.add(make("u", 5s));
  const std::string b = *t.add(make("u", 50s));
  CHECK(a != b);
  auto full = t.add(make("u"));
  REQUIRE_FALSE(full);
  CHECK(full.error().code == cim::errc::server_limits_exceeded);
  clock.t += 6s;  // a has expired
  REQUIRE(t.add(make("u")));
  CHECK(t.size() == 2);
  CHECK_FALSE(t.check_out(a, "u"));
  CHECK(t.check_out(b, "u"));
}
