#include "hypervisor/qemu/qmp_client.hpp"

#include "common/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <istream>

namespace vsnapd::hv::qemu {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// QMP answers are one JSON object per line; query-named-block-nodes of a long chain is the
// largest we expect, a few hundred KiB. A line beyond this is a protocol violation.
constexpr std::size_t max_line_bytes = 16u << 20;

}  // namespace

asio::awaitable<bool> wait_until(asio::steady_timer& timer, std::function<bool()> done,
                                 std::chrono::steady_clock::time_point deadline) {
  // A cancel() that happens before async_wait starts is lost, so done() is re-checked after
  // every wake-up instead of trusting the wait's error code.
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    timer.expires_at(deadline);
    co_await timer.async_wait(use_tuple);
  }
  co_return done();
}

qmp_client::qmp_client(asio::any_io_executor ex) : ex_(ex), socket_(ex), in_(max_line_bytes) {}

qmp_client::~qmp_client() = default;

asio::awaitable<result<std::shared_ptr<qmp_client>>> qmp_client::connect(
    asio::any_io_executor ex, std::string path, std::chrono::milliseconds timeout) {
  std::shared_ptr<qmp_client> c(new qmp_client(ex));
  auto deadline = clock::now() + timeout;
  auto [ec] = co_await c->socket_.async_connect(asio::local::stream_protocol::endpoint(path),
                                                 use_tuple);
  if (ec) {
    co_return make_error_code(errc::backend_unavailable);
  }
  c->open_ = true;
  c->greeting_ = std::make_shared<pending>(ex);
  asio::co_spawn(ex, c->read_loop(), asio::detached);
  auto g = c->greeting_;
  // Named, not a temporary inside the co_await expression: GCC 12 destroys lambda temporaries
  // of a co_await full-expression twice (a double release of the captured shared_ptr).
  std::function<bool()> greeted = [g] { return g->done; };
  bool got = co_await wait_until(g->timer, greeted, deadline);
  if (!got) {
    c->close();
    co_return make_error_code(errc::timed_out);
  }
  if (g->failed) {
    co_return make_error_code(errc::backend_unavailable);
  }
  if (auto* q = g->answer.is_object() ? g->answer.as_object().if_contains("QMP") : nullptr) {
    if (auto* v = q->is_object() ? q->as_object().if_contains("version") : nullptr) {
      const auto& qemu = v->at("qemu").as_object();
      for (const char* k : {"major", "minor", "micro"}) {
        c->version_.push_back(static_cast<int>(qemu.at(k).to_number<std::int64_t>()));
      }
    }
  } else {
    c->close();
    co_return make_error_code(errc::backend_failed);
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  auto caps = co_await c->execute("qmp_capabilities", {},
                                  std::max(left, std::chrono::milliseconds(1)));
  if (!caps) {
    c->close();
    co_return caps.error();
  }
  co_return c;
}

void qmp_client::close() {
  if (open_) {
    boost::system::error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
  }
  fail_all();
}

void qmp_client::fail_all() {
  open_ = false;
  auto fail = [](pending& p) {
    if (!p.done) {
      p.done = true;
      p.failed = true;
      p.timer.cancel();
    }
  };
  if (greeting_) {
    fail(*greeting_);
  }
  for (auto& [id, p] : pending_) {
    fail(*p);
  }
  pending_.clear();
  for (auto& w : waiters_) {
    if (auto sw = w.lock()) {
      sw->timer_.cancel();
    }
  }
}

asio::awaitable<void> qmp_client::read_loop() {
  auto self = shared_from_this();
  while (open_) {
    auto [ec, n] = co_await asio::async_read_until(socket_, in_, '\n', use_tuple);
    if (ec) {
      if (open_) {
        log::write(log::level::debug, "hv", "qmp: connection closed: " + ec.message());
      }
      break;
    }
    std::string line(n, '\0');
    in_.sgetn(line.data(), static_cast<std::streamsize>(n));
    boost::system::error_code jec;
    auto v = json::parse(line, jec);
    if (jec || !v.is_object()) {
      log::write(log::level::warning, "hv", "qmp: dropping a line that is not a JSON object");
      continue;
    }
    dispatch(std::move(v.as_object()));
  }
  fail_all();
}

void qmp_client::dispatch(json::object msg) {
  if (greeting_ && !greeting_->done && msg.contains("QMP")) {
    greeting_->answer = std::move(msg);
    greeting_->done = true;
    greeting_->timer.cancel();
    return;
  }
  if (auto* ev = msg.if_contains("event"); ev != nullptr && ev->is_string()) {
    qmp_event e{std::string(ev->as_string()), {}};
    if (auto* d = msg.if_contains("data"); d != nullptr && d->is_object()) {
      e.data = d->as_object();
    }
    if (auto* ts = msg.if_contains("timestamp"); ts != nullptr && ts->is_object()) {
      auto num = [&](const char* k) -> std::int64_t {
        auto* v = ts->as_object().if_contains(k);
        return v != nullptr && v->is_number() ? v->to_number<std::int64_t>() : 0;
      };
      e.timestamp_us = num("seconds") * 1000000 + num("microseconds");
    }
    for (auto& [sid, fn] : subscribers_) {
      fn(e);
    }
    std::erase_if(waiters_, [](const auto& w) { return w.expired(); });
    for (auto& w : waiters_) {
      if (auto sw = w.lock(); sw && sw->pred_(e)) {
        sw->hits_.push_back(e);
        sw->timer_.cancel();
      }
    }
    return;
  }
  auto* id = msg.if_contains("id");
  if (id == nullptr || (!id->is_uint64() && !id->is_int64())) {
    log::write(log::level::warning, "hv", "qmp: answer without a numeric id ignored");
    return;
  }
  auto it = pending_.find(id->to_number<std::uint64_t>());
  if (it == pending_.end()) {
    return;  // the caller timed out and went away
  }
  auto p = it->second;
  pending_.erase(it);
  p->answer = std::move(msg);
  p->done = true;
  p->timer.cancel();
}

void qmp_client::send_line(std::string line) {
  outbox_.push_back(std::move(line));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(ex_, write_loop(), asio::detached);
  }
}

asio::awaitable<void> qmp_client::write_loop() {
  // One writer at a time: async_write is several write_some calls, and two interleaved
  // commands would corrupt the stream.
  auto self = shared_from_this();
  while (!outbox_.empty() && open_) {
    std::string line = std::move(outbox_.front());
    outbox_.pop_front();
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(line), use_tuple);
    if (ec) {
      close();
      break;
    }
  }
  writing_ = false;
}

asio::awaitable<result<json::value>> qmp_client::execute(std::string_view command,
                                                        json::object args,
                                                        std::chrono::milliseconds timeout) {
  if (!open_) {
    co_return make_error_code(errc::backend_unavailable);
  }
  auto self = shared_from_this();
  auto deadline = clock::now() + timeout;
  std::uint64_t id = next_id_++;
  json::object msg;
  msg["execute"] = command;
  if (!args.empty()) {
    msg["arguments"] = std::move(args);
  }
  msg["id"] = id;
  auto p = std::make_shared<pending>(ex_);
  pending_.emplace(id, p);
  send_line(json::serialize(msg) + "\n");
  std::function<bool()> answered = [p] { return p->done; };  // named: see connect()
  bool got = co_await wait_until(p->timer, answered, deadline);
  if (!got) {
    pending_.erase(id);
    log::write(log::level::warning, "hv",
               "qmp: '" + std::string(command) + "' timed out after " +
                   std::to_string(timeout.count()) + " ms");
    co_return make_error_code(errc::timed_out);
  }
  if (p->failed) {
    co_return make_error_code(errc::backend_unavailable);
  }
  auto& obj = p->answer.as_object();
  if (auto* err = obj.if_contains("error")) {
    last_error_ = {};
    if (err->is_object()) {
      if (auto* c = err->as_object().if_contains("class"); c && c->is_string()) {
        last_error_.error_class = c->as_string();
      }
      if (auto* d = err->as_object().if_contains("desc"); d && d->is_string()) {
        last_error_.desc = d->as_string();
      }
    }
    log::write(log::level::debug, "hv",
               "qmp: '" + std::string(command) + "' failed: " + last_error_.desc);
    co_return make_error_code(errc::backend_failed);
  }
  if (auto* r = obj.if_contains("return")) {
    co_return std::move(*r);
  }
  co_return json::value(json::object{});
}

std::shared_ptr<event_waiter> qmp_client::watch(std::function<bool(const qmp_event&)> pred) {
  auto w = std::make_shared<event_waiter>(ex_, std::move(pred));
  waiters_.push_back(w);
  return w;
}

asio::awaitable<result<qmp_event>> qmp_client::wait(event_waiter& w,
                                                   std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  auto deadline = clock::now() + timeout;
  std::function<bool()> ready = [&] { return !w.hits_.empty() || !open_; };  // see connect()
  co_await wait_until(w.timer_, ready, deadline);
  if (!w.hits_.empty()) {
    qmp_event e = std::move(w.hits_.front());
    w.hits_.pop_front();
    co_return e;
  }
  co_return make_error_code(open_ ? errc::timed_out : errc::backend_unavailable);
}

std::uint64_t qmp_client::subscribe(std::function<void(const qmp_event&)> fn) {
  auto id = next_sub_++;
  subscribers_.emplace(id, std::move(fn));
  return id;
}

void qmp_client::unsubscribe(std::uint64_t id) { subscribers_.erase(id); }

}  // namespace vsnapd::hv::qemu
