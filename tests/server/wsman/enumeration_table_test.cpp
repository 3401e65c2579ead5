#include "server/wsman/enumeration_table.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

using namespace vsnapd::server::wsman;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<enumeration_context> context_of(std::string user) {
  auto c = std::make_unique<enumeration_context>();
  c->user = std::move(user);
  return c;
}

const clock::time_point t0 = clock::time_point{} + 1h;

}  // namespace

TEST_CASE("enumeration_table: contexts are checked out, back in and released",
          "[server][wsman][enumeration_table]") {
  enumeration_table table(4, 60s);
  auto id = table.add(context_of("alice"), t0);
  REQUIRE(id);
  take_status st = take_status::ok;
  auto ctx = table.take(*id, "alice", t0, st);
  REQUIRE(ctx);
  CHECK(st == take_status::ok);
  // Checked out: a second request on the same context is told it is busy.
  CHECK_FALSE(table.take(*id, "alice", t0, st));
  CHECK(st == take_status::busy);
  CHECK_FALSE(table.release(*id, "alice", t0));
  table.put_back(*id, std::move(ctx), t0);
  // Another user cannot see it.
  CHECK_FALSE(table.take(*id, "bob", t0, st));
  CHECK(st == take_status::unknown);
  CHECK_FALSE(table.release(*id, "bob", t0));
  CHECK(table.release(*id, "alice", t0));
  CHECK_FALSE(table.release(*id, "alice", t0));
  CHECK(table.size() == 0);
}

TEST_CASE("enumeration_table: idle contexts expire, use and renew extend them",
          "[server][wsman][enumeration_table]") {
  enumeration_table table(4, 60s);
  auto id = table.add(context_of("alice"), t0);
  REQUIRE(id);
  CHECK(table.status(*id, "alice", t0 + 30s) == t0 + 60s);
  take_status st = take_status::ok;
  auto ctx = table.take(*id, "alice", t0 + 59s, st);
  REQUIRE(ctx);
  // A checked-out context never expires under its user, however long the request takes.
  table.sweep(t0 + 1000s);
  CHECK(table.size() == 1);
  table.put_back(*id, std::move(ctx), t0 + 100s);
  CHECK(table.status(*id, "alice", t0 + 159s) == t0 + 160s);
  CHECK(table.renew(*id, "alice", t0 + 500s, t0 + 150s) == t0 + 500s);
  CHECK(table.status(*id, "alice", t0 + 499s) == t0 + 500s);
  CHECK_FALSE(table.status(*id, "alice", t0 + 500s));
  CHECK_FALSE(table.take(*id, "alice", t0 + 500s, st));
  CHECK(st == take_status::unknown);
  CHECK(table.size() == 0);
}

TEST_CASE("enumeration_table: each user holds a bounded number of contexts",
          "[server][wsman][enumeration_table]") {
  enumeration_table table(3, 60s);
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto id = table.add(context_of("alice"), t0);
    REQUIRE(id);
    CHECK(ids.insert(*id).second);
  }
  CHECK_FALSE(table.add(context_of("alice"), t0));
  CHECK(table.add(context_of("bob"), t0));  // the bound is per user
  // Expired contexts free their slots (bob's expired too: only the new one is left).
  CHECK(table.add(context_of("alice"), t0 + 61s));
  CHECK(table.size() == 1);
}

TEST_CASE("enumeration_table: concurrent users never share or lose a context",
          "[server][wsman][enumeration_table]") {
  enumeration_table table(1000, 60s);
  constexpr int threads = 4;
  constexpr int rounds = 300;
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const std::string user = "u" + std::to_string(t % 2);
      for (int i = 0; i < rounds; ++i) {
        auto id = table.add(context_of(user), t0);
        if (!id) {
          ++failures;
          continue;
        }
        take_status st = take_status::ok;
        auto ctx = table.take(*id, user, t0, st);
        if (!ctx || ctx->user != user) {
          ++failures;
          continue;
        }
        ctx->sent = static_cast<std::uint64_t>(i);
        table.put_back(*id, std::move(ctx), t0);
        if (!table.release(*id, user, t0)) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  CHECK(failures == 0);
  CHECK(table.size() == 0);
}
