#pragma once
// A QMP (QEMU Machine Protocol) client over a unix stream socket, written as Asio C++20
// coroutines. One client per QEMU process; every member runs on the executor (a strand) given
// at connect, and the object must only be used from coroutines on that executor.
//
// Commands carry an "id" so that answers are matched to callers even when several commands
// are in flight; events (STOP, RESUME, SHUTDOWN, JOB_STATUS_CHANGE, BLOCK_JOB_*, MIGRATION)
// go to subscribers and to waiters registered with watch(). When QEMU dies or closes the
// socket, every pending command and waiter completes at once with errc::backend_unavailable.

#include "common/error.hpp"
#include "hypervisor/errc.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vsnapd::hv::qemu {

namespace asio = boost::asio;
namespace json = boost::json;

/// An asynchronous QMP event.
struct qmp_event {
  std::string name;   ///< "STOP", "JOB_STATUS_CHANGE", ...
  json::object data;  ///< the event's "data" member (empty object when absent)
  /// QEMU's host time stamp of the event (microseconds since the epoch); differences between
  /// two events (STOP, RESUME) measure a guest pause without our scheduling noise.
  std::int64_t timestamp_us = 0;
};

/// An error answer of QEMU to a command ({"error": {"class", "desc"}}).
struct qmp_error_info {
  std::string error_class;
  std::string desc;
};

class qmp_client;

/// A registration for events that match a predicate, made before the command that causes them
/// so that none is missed. Matching events queue up until wait() takes them.
class event_waiter {
 public:
  explicit event_waiter(asio::any_io_executor ex, std::function<bool(const qmp_event&)> pred)
      : timer_(ex), pred_(std::move(pred)) {}

 private:
  friend class qmp_client;
  asio::steady_timer timer_;
  std::function<bool(const qmp_event&)> pred_;
  std::deque<qmp_event> hits_;
};

class qmp_client : public std::enable_shared_from_this<qmp_client> {
 public:
  using clock = std::chrono::steady_clock;

  /// Connects to the QMP socket at `path`, reads the greeting and negotiates capabilities
  /// (qmp_capabilities). Errors: backend_unavailable (no socket, refused, closed),
  /// timed_out, backend_failed (not a QMP greeting).
  static asio::awaitable<result<std::shared_ptr<qmp_client>>> connect(
      asio::any_io_executor ex, std::string path, std::chrono::milliseconds timeout);

  ~qmp_client();
  qmp_client(const qmp_client&) = delete;
  qmp_client& operator=(const qmp_client&) = delete;

  /// Sends a command and waits for its answer. @return the "return" member.
  /// Errors: backend_failed (QEMU answered with an error; last_error() has it),
  /// backend_unavailable (connection lost), timed_out (the answer may still come and is then
  /// dropped).
  asio::awaitable<result<json::value>> execute(std::string_view command, json::object args = {},
                                               std::chrono::milliseconds timeout =
                                                   std::chrono::seconds(30));

  /// The error of the last command QEMU refused (for context in logs and reports).
  [[nodiscard]] const qmp_error_info& last_error() const { return last_error_; }

  /// Registers a waiter for events matching `pred`; keep the pointer until done waiting.
  std::shared_ptr<event_waiter> watch(std::function<bool(const qmp_event&)> pred);

  /// Takes the next event the waiter matched, waiting at most `timeout`.
  /// Errors: timed_out, backend_unavailable (connection lost before a matching event).
  asio::awaitable<result<qmp_event>> wait(event_waiter& w, std::chrono::milliseconds timeout);

  /// Calls `fn` for every event, on the client's executor, until unsubscribe(id).
  std::uint64_t subscribe(std::function<void(const qmp_event&)> fn);
  void unsubscribe(std::uint64_t id);

  /// The greeting's QEMU version, e.g. {7, 2, 0}.
  [[nodiscard]] const std::vector<int>& version() const { return version_; }

  /// False once the connection is lost or closed.
  [[nodiscard]] bool connected() const { return open_; }

  /// Closes the socket; pending commands and waiters fail with backend_unavailable.
  void close();

 private:
  struct pending {
    explicit pending(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
    bool done = false;
    bool failed = false;  ///< connection lost
    json::value answer;
  };

  explicit qmp_client(asio::any_io_executor ex);
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  void send_line(std::string line);
  void dispatch(json::object msg);
  void fail_all();

  asio::any_io_executor ex_;
  asio::local::stream_protocol::socket socket_;
  asio::streambuf in_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool open_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::shared_ptr<pending>> pending_;
  std::vector<std::weak_ptr<event_waiter>> waiters_;
  std::map<std::uint64_t, std::function<void(const qmp_event&)>> subscribers_;
  std::uint64_t next_sub_ = 1;
  qmp_error_info last_error_;
  std::vector<int> version_;
  // The greeting arrives before any command; connect() waits on this one.
  std::shared_ptr<pending> greeting_;
};

/// Waits on `timer` until `done()` holds or `deadline` passes; the timer is cancelled by
/// whoever makes done() true. Returns done(). Runs on the timer's executor.
asio::awaitable<bool> wait_until(asio::steady_timer& timer, std::function<bool()> done,
                                 std::chrono::steady_clock::time_point deadline);

}  // namespace vsnapd::hv::qemu
