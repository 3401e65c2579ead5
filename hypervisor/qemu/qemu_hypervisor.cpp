// The QEMU/KVM backend. How snapshots map onto files:
//
// Every disk is a chain of qcow2 images. A snapshot freezes the image each disk was writing to
// (it becomes read-only, owned by the snapshot) and puts a new empty overlay on top that the
// VM writes to from then on (the disk's "active" image). A full snapshot adds a memory file
// written by a live migration to `exec:cat`, paired with the disk switch at the migration's
// switchover point (pause-before-switchover), so memory and disks describe the same instant.
// Apply puts a fresh overlay on the snapshot's images (the snapshot stays intact and can be
// applied again) and drops the previous active overlays, which no snapshot owns.
//
// Destroy rule (which image absorbs which): destroying a snapshot only clears the images'
// owner. An image nobody owns and nobody writes to is then collected:
//   - no child image: nothing reads it, the file is deleted (then its backing is examined);
//   - exactly one child: it is merged *up* into the child by a stream (QMP block-stream when
//     the child is in the running VM's chain, the storage module's stream otherwise) and the
//     child is rebased onto the image's backing; the child keeps its file name, so nothing
//     that references the child (QEMU's open nodes, other snapshots, the database) changes.
//     Stream rather than commit also because an interrupted stream leaves the child's old
//     backing in place, so the merge is simply redone on recovery;
//   - two or more children: it stays as an unnamed chain node that both branches share.
// No snapshot or running state ever loses data: an image is only removed once nothing reads
// through it.
//
// Crash safety: each create/apply/destroy writes a journal row before touching files and
// deletes it in the transaction that records the result. open() replays what it finds (see
// recover()).

#include "hypervisor/qemu/qemu_hypervisor.hpp"

#include "common/log.hpp"
#include "common/uuid.hpp"
#include "hypervisor/qemu/accel_probe.hpp"
#include "hypervisor/qemu/process.hpp"
#include "hypervisor/qemu/qmp_client.hpp"
#include "hypervisor/qemu/snapshot_store.hpp"
#include "hypervisor/qemu/vm_config_file.hpp"
#include "storage/chain_ops.hpp"
#include "storage/errc.hpp"
#include "storage/cow/image.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <thread>

/// VSNAPD_TRY_VOID for a store transaction whose lambda uses VSNAPD_TRY itself (a distinct
/// local name, so the lambda's own does not shadow it).
#define VSNAPD_HV_TRY_TX(expr)                  \
  do {                                          \
    if (auto vsnapd_tx_ = (expr); !vsnapd_tx_) { \
      return vsnapd_tx_.error();                \
    }                                           \
  } while (false)

namespace vsnapd::hv::qemu {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Per-step wall time of one operation, logged with its op_timing: where the time goes is what
/// the snapshot benchmark (bench/snapshots) reads, without a profiler attached to the daemon.
class step_clock {
 public:
  step_clock() : last_(clock_type::now()) {}
  /// Closes the step that ran since the previous mark (or the start) under `name`.
  void mark(const char* name) {
    auto now = clock_type::now();
    if (!steps_.empty()) {
      steps_ += ',';
    }
    steps_ += name;
    steps_ += '=';
    steps_ += std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now - last_).count());
    last_ = now;
  }
  [[nodiscard]] const std::string& text() const { return steps_; }

 private:
  clock_type::time_point last_;
  std::string steps_;
};

namespace {

void log_info(const std::string& m) { log::write(log::level::info, "hv", m); }
void log_warn(const std::string& m) { log::write(log::level::warning, "hv", m); }

std::string random_hex(std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[rng() % 16];
  }
  return s;
}


std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

bool valid_uuid(const std::string& u) {
  if (u.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < u.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? u[i] != '-' : !std::isxdigit(static_cast<unsigned char>(u[i]))) {
      return false;
    }
  }
  return true;
}

// Waits for a process that is not necessarily our child to exit (pidfd: an event, no polling).
bool wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    return !process_alive(pid);
  }
  pollfd p{fd, POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  ::close(fd);
  (void)process_alive(pid);  // reap our own child
  return rc > 0;
}

result<void> write_file_atomic(const fs::path& path, const std::string& text) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      return make_error_code(errc::backend_failed);
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    return make_error_code(errc::backend_failed);
  }
  return {};
}

/// fsync of a file or directory by path; `data_only`: fdatasync (the data and the size, not
/// the time stamps, whose journal commit alone cost ~3 ms per call here).
result<void> fsync_path(const fs::path& p, bool data_only = false) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return make_error_code(errc::backend_failed);
  }
  int rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    return make_error_code(errc::backend_failed);
  }
  return {};
}

/// One info line per finished operation: `qemu: op <op> <snapshot> vm <vm> (<type>):
/// total_us=N pause_us=N steps=name=us,...` (bench/snapshots/snapbench.py parses it).
void log_op(const char* op, const std::string& sid, const std::string& vm, snapshot_type type,
            const op_timing& t, const step_clock& steps) {
  log_info("qemu: op " + std::string(op) + " " + sid + " vm " + vm + " (" +
           (type == snapshot_type::full ? "full" : "disk") + "): total_us=" +
           std::to_string(t.total.count()) + " pause_us=" + std::to_string(t.guest_pause.count()) +
           " steps=" + steps.text());
}

void report(const op_control& ctl, unsigned& last, unsigned percent) {
  percent = std::min(percent, 100u);
  if (ctl.progress && percent > last) {
    last = percent;
    ctl.progress(percent);
  }
}

json::object obj(std::initializer_list<std::pair<json::string_view, json::value_ref>> init) {
  return json::object(init);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// I/O thread and per-VM run-time state.

struct qemu_hypervisor::io {
  asio::io_context ctx{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{ctx.get_executor()};
  std::thread thread{[this] { ctx.run(); }};
  ~io() {
    guard.reset();
    ctx.stop();
    thread.join();
  }
};

struct qemu_hypervisor::vm_rt {
  explicit vm_rt(asio::io_context& ctx) : strand(asio::make_strand(ctx)) {}
  vm_config cfg;  // written under op and cfg_mu, read under either
  mutable std::mutex cfg_mu;
  fs::path dir;
  std::mutex op;  // one mutating operation at a time
  // The run state and process seen last, for status queries while an operation holds `op`.
  std::atomic<vm_state> known_state{vm_state::stopped};
  std::atomic<pid_t> known_pid{-1};
  asio::strand<asio::io_context::executor_type> strand;
  std::shared_ptr<qmp_client> qmp;  // used on `strand` only
  pid_t pid = -1;
  std::optional<accel> accel_used;

  fs::path file(const std::string& name) const { return dir / name; }
  std::string disk_node(std::size_t disk) const { return "disk" + std::to_string(disk); }

  /// Runs `fn` on the VM's strand and blocks the calling thread for its result.
  template <class T>
  result<T> run(std::function<asio::awaitable<result<T>>()> fn) {
    std::promise<result<T>> done;
    auto fut = done.get_future();
    // Named: the coroutine refers to this lambda's captures until it finishes, which is before
    // fut.get() returns.
    auto body = [&]() -> asio::awaitable<void> {
      try {
        done.set_value(co_await fn());
      } catch (const std::exception& e) {
        log_warn(std::string("qemu: unexpected exception: ") + e.what());
        done.set_value(make_error_code(errc::backend_failed));
      }
    };
    asio::co_spawn(strand, body(), asio::detached);
    return fut.get();
  }
};

// ---------------------------------------------------------------------------------------------
// QMP helpers (coroutines on a VM's strand).

namespace {

asio::awaitable<result<json::value>> qmp(std::shared_ptr<qmp_client> c, std::string cmd,
                                         json::object args = {}) {
  if (!c || !c->connected()) {
    co_return make_error_code(errc::backend_unavailable);
  }
  auto r = co_await c->execute(cmd, std::move(args));
  if (!r && r.error() == make_error_code(errc::backend_failed)) {
    log_warn("qemu: " + cmd + " failed: " + c->last_error().desc);
  }
  co_return r;
}

/// node-name of the active (top) node of each disk, from query-block's qdev paths.
asio::awaitable<result<std::vector<std::string>>> active_nodes(std::shared_ptr<qmp_client> c,
                                                              std::size_t disks) {
  auto r = co_await qmp(c, "query-block");
  if (!r) {
    co_return r.error();
  }
  std::vector<std::string> out(disks);
  for (const auto& dev : r->as_array()) {
    const auto& d = dev.as_object();
    auto* qdev = d.if_contains("qdev");
    auto* ins = d.if_contains("inserted");
    if (qdev == nullptr || ins == nullptr) {
      continue;
    }
    std::string path(qdev->as_string());
    for (std::size_t i = 0; i < disks; ++i) {
      if (path.find("/disk" + std::to_string(i) + "/") != std::string::npos) {
        out[i] = std::string(ins->as_object().at("node-name").as_string());
      }
    }
  }
  for (const auto& n : out) {
    if (n.empty()) {
      co_return make_error_code(errc::backend_failed);
    }
  }
  co_return out;
}

/// Map image file -> qcow2 node name, for every format node QEMU has open.
asio::awaitable<result<std::map<std::string, std::string>>> format_nodes(
    std::shared_ptr<qmp_client> c) {
  json::object args253 = obj({{"flat", true}});  // named: GCC 12 co_await temporaries
  auto r = co_await qmp(c, "query-named-block-nodes", std::move(args253));
  if (!r) {
    co_return r.error();
  }
  std::map<std::string, std::string> out;
  for (const auto& n : r->as_array()) {
    const auto& o = n.as_object();
    if (o.at("drv").as_string() == "qcow2") {
      out[std::string(o.at("file").as_string())] = std::string(o.at("node-name").as_string());
    }
  }
  co_return out;
}

json::object overlay_blockdev(const std::string& node, const std::string& path) {
  json::object file{{"driver", "file"}, {"filename", path}};
  // backing: null - blockdev-snapshot requires an overlay without a backing node; the
  // transaction attaches the current top as its backing.
  return json::object{{"driver", "qcow2"},
                      {"node-name", node},
                      {"file", std::move(file)},
                      {"backing", nullptr}};
}

/// Waits for a block job to finish, reporting progress from query-jobs in between.
asio::awaitable<result<void>> wait_block_job(std::shared_ptr<qmp_client> c,
                                             std::shared_ptr<event_waiter> w,
                                             std::string job_id, const op_control& ctl,
                                             unsigned& last, unsigned from, unsigned to) {
  auto deadline = clock_type::now() + 1h;
  bool cancel_sent = false;
  while (clock_type::now() < deadline) {
    if (ctl.stop.stop_requested() && !cancel_sent) {
      // The CANCELLED event ends the loop; the image chain stays as it was.
      cancel_sent = true;
      json::object a = obj({{"device", job_id}});
      (void)co_await qmp(c, "block-job-cancel", std::move(a));
    }
    auto e = co_await c->wait(*w, 100ms);
    if (e) {
      if (e->name == "BLOCK_JOB_COMPLETED") {
        if (e->data.contains("error")) {
          log_warn("qemu: job " + job_id + " failed: " +
                   std::string(e->data.at("error").as_string()));
          co_return make_error_code(errc::backend_failed);
        }
        co_return result<void>{};
      }
      if (e->name == "BLOCK_JOB_CANCELLED") {
        co_return make_error_code(errc::cancelled);
      }
      continue;
    }
    if (e.error() != make_error_code(errc::timed_out)) {
      co_return e.error();
    }
    auto jobs = co_await qmp(c, "query-jobs");
    if (jobs) {
      for (const auto& j : jobs->as_array()) {
        const auto& o = j.as_object();
        if (o.at("id").as_string() == job_id) {
          auto cur = o.at("current-progress").to_number<double>();
          auto tot = o.at("total-progress").to_number<double>();
          if (tot > 0) {
            report(ctl, last, from + static_cast<unsigned>((to - from) * cur / tot));
          }
        }
      }
    }
  }
  co_return make_error_code(errc::timed_out);
}

bool is_job_end(const qmp_event& e, const std::string& id) {
  if (e.name != "BLOCK_JOB_COMPLETED" && e.name != "BLOCK_JOB_CANCELLED") {
    return false;
  }
  auto* d = e.data.if_contains("device");
  return d != nullptr && d->is_string() && d->as_string() == id;
}

bool is_migration(const qmp_event& e) { return e.name == "MIGRATION"; }

/// Waits until QEMU runs no block job. A merge the previous daemon started goes on in QEMU
/// after that daemon died; a new job on the same nodes is refused ("in use by block job")
/// until it ends. Polls query-block-jobs between job-end events (at most every 100 ms).
asio::awaitable<result<void>> drain_block_jobs(std::shared_ptr<qmp_client> c,
                                               std::chrono::milliseconds timeout) {
  auto w = c->watch([](const qmp_event& e) {
    return e.name == "BLOCK_JOB_COMPLETED" || e.name == "BLOCK_JOB_CANCELLED";
  });
  const auto deadline = clock_type::now() + timeout;
  while (clock_type::now() < deadline) {
    auto jobs = co_await qmp(c, "query-block-jobs");
    if (!jobs) {
      co_return jobs.error();
    }
    if (jobs->as_array().empty()) {
      co_return result<void>{};
    }
    auto e = co_await c->wait(*w, 100ms);
    if (!e && e.error() != make_error_code(errc::timed_out)) {
      co_return e.error();
    }
  }
  co_return make_error_code(errc::timed_out);
}

std::string migration_status(const qmp_event& e) {
  auto* s = e.data.if_contains("status");
  return s != nullptr && s->is_string() ? std::string(s->as_string()) : std::string();
}

/// Waits until the migration reaches one of `states` (or fails), reporting RAM progress.
asio::awaitable<result<std::string>> wait_migration(std::shared_ptr<qmp_client> c,
                                                    std::shared_ptr<event_waiter> w,
                                                    std::vector<std::string> states,
                                                    const op_control* ctl, unsigned* last,
                                                    std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  bool cancel_sent = false;
  while (clock_type::now() < deadline) {
    if (ctl != nullptr && ctl->stop.stop_requested() && !cancel_sent) {
      // The "cancelled" status event ends the loop.
      cancel_sent = true;
      (void)co_await qmp(c, "migrate_cancel");
    }
    auto e = co_await c->wait(*w, 100ms);
    if (e) {
      auto st = migration_status(*e);
      if (st == "failed" || st == "cancelled") {
        co_return make_error_code(st == "cancelled" ? errc::cancelled : errc::backend_failed);
      }
      if (std::find(states.begin(), states.end(), st) != states.end()) {
        co_return st;
      }
      continue;
    }
    if (e.error() != make_error_code(errc::timed_out)) {
      co_return e.error();
    }
    // Every 100 ms without an event: progress, and the status itself, so a MIGRATION event
    // that never reaches us (seen once under ThreadSanitizer's timing) cannot hang the wait.
    {
      auto q = co_await qmp(c, "query-migrate");
      if (q) {
        auto* qs = q->as_object().if_contains("status");
        std::string st = qs != nullptr && qs->is_string() ? std::string(qs->as_string()) : "";
        if (st == "failed" || st == "cancelled") {
          co_return make_error_code(st == "cancelled" ? errc::cancelled : errc::backend_failed);
        }
        if (std::find(states.begin(), states.end(), st) != states.end()) {
          co_return st;
        }
        auto* ram = ctl != nullptr ? q->as_object().if_contains("ram") : nullptr;
        if (ram != nullptr) {
          auto tr = ram->as_object().at("transferred").to_number<double>();
          auto tot = ram->as_object().at("total").to_number<double>();
          if (tot > 0) {
            report(*ctl, *last, 5 + static_cast<unsigned>(80.0 * std::min(1.0, tr / tot)));
          }
        }
      }
    }
  }
  co_return make_error_code(errc::timed_out);
}

/// `cont` after a migration. QEMU sends MIGRATION "completed" before its migration thread has
/// left the finish-migrate run state, and refuses `cont` until then ("Migration is not
/// finalized yet"); no event marks that moment, so the refusal is retried on a short timer,
/// bounded by `timeout`.
asio::awaitable<result<json::value>> cont_after_migration(std::shared_ptr<qmp_client> c,
                                                          std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto r = co_await c->execute("cont");
    if (r || r.error() != make_error_code(errc::backend_failed) ||
        c->last_error().desc.find("not finalized") == std::string::npos ||
        clock_type::now() >= deadline) {
      co_return r;
    }
    timer.expires_after(2ms);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

/// Guest agent: true when the VM has an agent that answers a guest-ping quickly. The port's
/// frontend-open flag (the guest opened the virtio-serial port) avoids waiting on VMs without
/// an agent.
asio::awaitable<bool> agent_present(std::shared_ptr<qmp_client> c) {
  auto r = co_await qmp(c, "query-chardev");
  if (!r) {
    co_return false;
  }
  for (const auto& ch : r->as_array()) {
    const auto& o = ch.as_object();
    if (o.at("label").as_string() == "qga0") {
      auto* open = o.if_contains("frontend-open");
      co_return open != nullptr && open->is_bool() && open->as_bool();
    }
  }
  co_return false;
}

/// One guest agent command over its socket; errors when no answer within `timeout`.
asio::awaitable<result<json::value>> agent_command(std::string socket, std::string cmd,
                                                   std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  asio::local::stream_protocol::socket s(ex);
  auto [ec] = co_await s.async_connect(asio::local::stream_protocol::endpoint(socket),
                                       asio::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return make_error_code(errc::backend_unavailable);
  }
  asio::steady_timer timer(ex);
  timer.expires_after(timeout);
  timer.async_wait([&s](boost::system::error_code e) {
    if (!e) {
      boost::system::error_code ignored;
      s.close(ignored);
    }
  });
  std::string line = json::serialize(obj({{"execute", cmd}})) + "\n";
  auto [wec, wn] = co_await asio::async_write(s, asio::buffer(line),
                                              asio::as_tuple(asio::use_awaitable));
  asio::streambuf buf;
  auto [rec, rn] = co_await asio::async_read_until(s, buf, '\n',
                                                   asio::as_tuple(asio::use_awaitable));
  timer.cancel();
  if (wec || rec) {
    co_return make_error_code(errc::timed_out);
  }
  std::string text(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + rn);
  boost::system::error_code jec;
  auto v = json::parse(text, jec);
  if (jec || !v.is_object() || !v.as_object().contains("return")) {
    co_return make_error_code(errc::backend_failed);
  }
  co_return v.as_object().at("return");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Opening, definitions, recovery.

qemu_hypervisor::qemu_hypervisor(const qemu_options& opts) : opts_(opts), io_(new io) {}

qemu_hypervisor::~qemu_hypervisor() {
  // Close QMP connections on their strands before the I/O thread goes; the VMs keep running.
  for (auto& [id, vm] : vms_) {
    (void)vm->run<int>([vm = vm.get()]() -> asio::awaitable<result<int>> {
      if (vm->qmp) {
        vm->qmp->close();
        vm->qmp.reset();
      }
      co_return 0;
    });
  }
  // The strands live in the io_context's strand service: the VMs go before the context.
  vms_.clear();
  io_.reset();
}

result<std::unique_ptr<qemu_hypervisor>> qemu_hypervisor::open(const qemu_options& given) {
  std::error_code ec;
  // Absolute from here on: image paths are recorded in the database and in qcow2 backing
  // headers and handed to QEMU, and a relative state directory (scripts/run.sh uses
  // ./var/vsnapd) made the demo VM's disk path relative twice over.
  qemu_options opts = given;
  opts.state_dir = fs::absolute(given.state_dir, ec).lexically_normal().string();
  if (ec) {
    return make_error_code(errc::invalid_argument);
  }
  fs::create_directories(fs::path(opts.state_dir) / "vms", ec);
  if (ec) {
    return make_error_code(errc::invalid_argument);
  }
  std::unique_ptr<qemu_hypervisor> h(new qemu_hypervisor(opts));
  const fs::path db = fs::path(opts.state_dir) / "hypervisor.sqlite";
  h->first_open_ = !fs::exists(db, ec);
  h->store_ = VSNAPD_TRY(snapshot_store::open(db.string()));
  if (opts.auto_accel) {
    std::call_once(h->probe_once_, [&] { h->probed_ = *opts.auto_accel; });
  }
  for (const auto& entry : fs::directory_iterator(fs::path(opts.state_dir) / "vms")) {
    if (entry.is_directory() && fs::exists(entry.path() / "vm.toml")) {
      VSNAPD_TRY_VOID(h->load_vm(entry.path().string()));
    }
  }
  // Files a destroy moved aside but a crash kept from going.
  for (auto& [id, vm] : h->vms_) {
    std::error_code dir_ec;
    for (const auto& f : fs::directory_iterator(vm->dir, dir_ec)) {
      if (f.path().filename().string().starts_with(reap_prefix)) {
        h->reap_later(*vm, f.path().string());
      }
    }
  }
  // Re-attach first: recovery asks a running QEMU which images it uses.
  for (auto& [id, vm] : h->vms_) {
    auto pid = read_pid_file(vm->file("qemu.pid").string());
    if (pid && process_alive(*pid)) {
      vm->pid = *pid;
      if (!h->attach(*vm, 5s)) {
        log_warn("qemu: vm " + id + ": process " + std::to_string(*pid) +
                 " alive but its QMP socket does not answer");
      } else {
        log_info("qemu: re-attached to vm " + id + " (pid " + std::to_string(*pid) + ")");
      }
    }
  }
  VSNAPD_TRY_VOID(h->recover());
  return h;
}

void qemu_hypervisor::reap_later(vm_rt& vm, const std::string& path) {
  std::error_code ec;
  fs::path aside = fs::path(path).filename().string().starts_with(reap_prefix)
                       ? fs::path(path)
                       : vm.file(std::string(reap_prefix) + fs::path(path).filename().string());
  if (aside != fs::path(path)) {
    fs::rename(path, aside, ec);
    if (ec) {
      fs::remove(path, ec);  // could not move it aside: unlink it now
      return;
    }
  }
  std::lock_guard lock(reap_mu_);
  std::erase_if(reaping_, [](std::future<void>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  });
  reaping_.push_back(std::async(std::launch::async, [aside] {
    std::error_code e;
    fs::remove(aside, e);
  }));
}

result<void> qemu_hypervisor::load_vm(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "vm.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string why;
  auto cfg = parse_vm_config(text.str(), &why);
  if (!cfg) {
    log_warn("qemu: " + dir + "/vm.toml: " + why);
    return cfg.error();
  }
  auto vm = std::make_shared<vm_rt>(io_->ctx);
  vm->cfg = std::move(*cfg);
  vm->dir = dir;
  std::lock_guard lock(mu_);
  vms_[vm->cfg.uuid] = vm;
  return {};
}

result<std::shared_ptr<qemu_hypervisor::vm_rt>> qemu_hypervisor::find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = vms_.find(id);
  if (it == vms_.end()) {
    return make_error_code(errc::no_such_system);
  }
  return it->second;
}

result<std::size_t> qemu_hypervisor::load_definitions(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    log_warn("qemu: VM definitions directory " + dir + " does not exist or is not a directory");
    return make_error_code(errc::invalid_argument);
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".toml") {
      continue;
    }
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    std::string why;
    auto cfg = parse_vm_config(text.str(), &why);
    if (!cfg) {
      log_warn("qemu: " + entry.path().string() + ": " + why);
      return cfg.error();
    }
    bool known = false;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, vm] : vms_) {
        known = known || id == cfg->uuid || (cfg->uuid.empty() && vm->cfg.name == cfg->name);
      }
    }
    if (!known) {
      // Relative disk paths in conf/ are relative to the file's directory.
      for (auto& d : cfg->disks) {
        if (fs::path(d.path).is_relative() && d.size_bytes == 0) {
          d.path = (entry.path().parent_path() / d.path).string();
        }
      }
      VSNAPD_TRY(define_system(*cfg));
      ++n;
    }
  }
  return n;
}

result<std::vector<std::string>> qemu_hypervisor::list_systems() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (auto& [id, vm] : vms_) {
    out.push_back(id);
  }
  return out;
}

result<vm_config> qemu_hypervisor::get_config(const std::string& id) {
  auto vm = VSNAPD_TRY(find(id));
  // Not `op`: a snapshot or a merge holds it for seconds to minutes, and a client listing
  // VMs meanwhile must not wait for it.
  std::lock_guard lock(vm->cfg_mu);
  return vm->cfg;
}

result<std::string> qemu_hypervisor::define_system(const vm_config& in) {
  vm_config cfg = in;
  if (cfg.name.empty() || cfg.memory_mib == 0 || cfg.vcpus == 0) {
    return make_error_code(errc::invalid_argument);
  }
  if (cfg.uuid.empty()) {
    cfg.uuid = random_uuid();
  }
  if (!valid_uuid(cfg.uuid)) {
    return make_error_code(errc::invalid_argument);
  }
  if (find(cfg.uuid)) {
    return make_error_code(errc::already_exists);
  }
  fs::path dir = fs::path(opts_.state_dir) / "vms" / cfg.uuid;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return make_error_code(errc::backend_failed);
  }
  for (std::size_t i = 0; i < cfg.disks.size(); ++i) {
    auto& d = cfg.disks[i];
    fs::path p = d.path.empty() ? dir / ("disk" + std::to_string(i) + ".qcow2") : fs::path(d.path);
    if (p.is_relative()) {
      p = dir / p;
    }
    d.path = p.string();
    if (!fs::exists(p)) {
      if (d.size_bytes == 0) {
        return make_error_code(errc::invalid_argument);
      }
      storage::create_options co;
      co.virtual_size = d.size_bytes;
      if (!storage::image::create(d.path, co)) {
        return make_error_code(errc::backend_failed);
      }
    }
  }
  VSNAPD_HV_TRY_TX(store_->transaction([&]() -> result<void> {
    for (std::size_t i = 0; i < cfg.disks.size(); ++i) {
      VSNAPD_TRY_VOID(store_->put_image(
          {cfg.disks[i].path, cfg.uuid, static_cast<std::uint32_t>(i), std::nullopt, std::nullopt,
           true}));
    }
    return {};
  }));
  VSNAPD_TRY_VOID(write_file_atomic(dir / "vm.toml", render_vm_config(cfg)));
  auto vm = std::make_shared<vm_rt>(io_->ctx);
  vm->cfg = cfg;
  vm->dir = dir;
  std::lock_guard lock(mu_);
  vms_[cfg.uuid] = vm;
  return cfg.uuid;
}

result<void> qemu_hypervisor::modify_system(const std::string& id, const vm_config& cfg) {
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  auto st = VSNAPD_TRY(live_state(*vm));
  if (st != vm_state::stopped) {
    return make_error_code(errc::invalid_state);
  }
  if (cfg.name.empty() || cfg.memory_mib == 0 || cfg.vcpus == 0 ||
      cfg.disks.size() != vm->cfg.disks.size()) {
    return make_error_code(errc::invalid_argument);
  }
  vm_config next = cfg;
  next.uuid = vm->cfg.uuid;
  next.disks = vm->cfg.disks;  // the chain owns the disks; their list is fixed
  VSNAPD_TRY_VOID(write_file_atomic(vm->dir / "vm.toml", render_vm_config(next)));
  std::lock_guard cfg_lock(vm->cfg_mu);
  vm->cfg = next;
  return {};
}

result<void> qemu_hypervisor::destroy_system(const std::string& id) {
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  auto st = VSNAPD_TRY(live_state(*vm));
  if (st != vm_state::stopped && st != vm_state::saved) {
    return make_error_code(errc::invalid_state);
  }
  VSNAPD_HV_TRY_TX(store_->transaction([&] { return store_->forget_vm(id); }));
  std::error_code ec;
  fs::remove_all(vm->dir, ec);
  std::lock_guard glock(mu_);
  vms_.erase(id);
  return {};
}

result<std::string> qemu_hypervisor::vm_dir(const std::string& id) {
  auto vm = VSNAPD_TRY(find(id));
  return vm->dir.string();
}

result<std::vector<std::string>> qemu_hypervisor::active_images(const std::string& id) {
  VSNAPD_TRY(find(id));
  return store_->active_images(id);
}

result<std::vector<std::string>> qemu_hypervisor::image_files(const std::string& id) {
  VSNAPD_TRY(find(id));
  auto rows = VSNAPD_TRY(store_->images_of(id));
  std::vector<std::string> out;
  for (auto& r : rows) {
    out.push_back(r.path);
  }
  return out;
}

result<std::string> qemu_hypervisor::human_monitor_command_for_test(const std::string& id,
                                                                   const std::string& cmd) {
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  return vm->run<std::string>([&vm, cmd]() -> asio::awaitable<result<std::string>> {
    json::object args = obj({{"command-line", cmd}});
    auto r = co_await qmp(vm->qmp, "human-monitor-command", std::move(args));
    if (!r) {
      co_return r.error();
    }
    co_return std::string(r->as_string());
  });
}

result<std::string> qemu_hypervisor::qmp_command_for_test(const std::string& id,
                                                         const std::string& command,
                                                         const std::string& args_json) {
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  boost::system::error_code jec;
  auto args = json::parse(args_json.empty() ? "{}" : args_json, jec);
  if (jec || !args.is_object()) {
    return make_error_code(errc::invalid_argument);
  }
  return vm->run<std::string>([&vm, command, &args]() -> asio::awaitable<result<std::string>> {
    auto r = co_await qmp(vm->qmp, command, args.as_object());
    if (!r) {
      co_return r.error();
    }
    co_return json::serialize(*r);
  });
}

result<void> qemu_hypervisor::wait_jobs_for_test(const std::string& id,
                                                 std::chrono::milliseconds timeout) {
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  auto r = vm->run<int>([&vm, timeout]() -> asio::awaitable<result<int>> {
    auto c = vm->qmp;
    auto w = c->watch([](const qmp_event& e) { return e.name == "JOB_STATUS_CHANGE"; });
    auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
      auto jobs = co_await qmp(c, "query-jobs");
      if (!jobs) {
        co_return jobs.error();
      }
      bool busy = false;
      for (const auto& j : jobs->as_array()) {
        auto st = j.as_object().at("status").as_string();
        if (st == "concluded") {
          json::object a = obj({{"id", j.as_object().at("id")}});
          (void)co_await qmp(c, "job-dismiss", std::move(a));
        } else if (st != "null") {
          busy = true;
        }
      }
      if (!busy) {
        co_return 0;
      }
      (void)co_await c->wait(*w, 1s);
    }
    co_return make_error_code(errc::timed_out);
  });
  return r ? result<void>{} : result<void>(r.error());
}

result<std::optional<std::string>> qemu_hypervisor::define_demo_if_empty(
    const std::string& guest_dir) {
  {
    std::lock_guard lock(mu_);
    if (!vms_.empty()) {
      return std::optional<std::string>();
    }
  }
  vm_config c;
  c.name = "demo";
  c.memory_mib = 128;
  c.disks = {{"", 1ull << 30}};
  std::error_code ec;
  // The decompressed ELF kernel boots through its PVH entry and skips the bzImage's XZ
  // decompression, which dominates a TCG boot (13 s against about 3 s here); `quiet` keeps the
  // boot messages off the emulated 16550, which drains at about 2 KB/s.
  auto kernel = fs::path(guest_dir) / "vmlinux";
  if (!fs::exists(kernel, ec)) {
    kernel = fs::path(guest_dir) / "vmlinuz";
  }
  auto initrd = fs::path(guest_dir) / "initrd.img";
  if (!guest_dir.empty() && fs::exists(kernel, ec) && fs::exists(initrd, ec)) {
    c.kernel = kernel.string();
    c.initrd = initrd.string();
    c.append = "console=ttyS0 quiet";
  }
  return std::optional<std::string>(VSNAPD_TRY(define_system(c)));
}

bool qemu_hypervisor::crash_here(int step) {
  if (crash_step_ != 0 && crash_step_ == step) {
    crash_step_ = 0;
    log_warn("qemu: simulated crash after journal step " + std::to_string(step));
    if (crash_kill_) {
      ::kill(::getpid(), SIGKILL);
    }
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Processes.

accel qemu_hypervisor::resolve_accel(accel a) {
  if (a != accel::automatic) {
    return a;
  }
  std::call_once(probe_once_, [this] {
    auto r = probe_accelerator(opts_.qemu_binary);
    probed_ = r.chosen;
    log_info("qemu: accelerator " + std::string(to_string(r.chosen)) + " (" + r.reason + ")");
  });
  return probed_;
}

result<void> qemu_hypervisor::attach(vm_rt& vm, std::chrono::milliseconds timeout) {
  std::string sock = vm.file("qmp.sock").string();
  auto exec = vm.strand;
  // 1 TiB/s stands for unlimited (QEMU refuses values above SIZE_MAX); see max-bandwidth below.
  const std::int64_t bandwidth =
      opts_.memory_copy_bytes_per_second == 0
          ? std::int64_t{1} << 40
          : static_cast<std::int64_t>(
                std::min<std::uint64_t>(opts_.memory_copy_bytes_per_second, std::uint64_t{1} << 40));
  return vm.run<int>([&vm, sock, exec, timeout, bandwidth]() -> asio::awaitable<result<int>> {
    auto c = co_await qmp_client::connect(exec, sock, timeout);
    if (!c) {
      co_return c.error();
    }
    vm.qmp = *c;
    // MIGRATION events drive full snapshots, apply and save; enabling them is idempotent. QEMU
    // refuses while a migration runs (a crash left one behind): then it was enabled by us
    // before, and recovery cancels that migration.
    json::array caps{obj({{"capability", "events"}, {"state", true}})};
    json::object cargs = obj({{"capabilities", caps}});
    (void)co_await qmp(vm.qmp, "migrate-set-capabilities", std::move(cargs));
    // Full snapshots and saves migrate into a pipe to a local file, never over a network the
    // guests share: QEMU 7.2's default cap of 128 MiB/s (MAX_THROTTLE) only made a 1 GiB
    // guest's live RAM copy take seconds (1.2 s for 150 MiB of non-zero pages, measured in
    // bench/snapshots) where snapshot-save writes the same RAM uncapped. 1 TiB/s is
    // "unlimited" (QEMU refuses values above SIZE_MAX).
    // downtime-limit 50 ms instead of 300: the switchover happens when the rest fits into that
    // time at the measured rate; at local-file speed (~1 GB/s) 300 ms let the final pass,
    // with the guest stopped, carry 100+ MB (a 161 ms pause measured).
    json::object pargs = obj({{"max-bandwidth", bandwidth}, {"downtime-limit", 50}});
    (void)co_await qmp(vm.qmp, "migrate-set-parameters", std::move(pargs));
    auto kvm = co_await qmp(vm.qmp, "query-kvm");
    if (kvm) {
      vm.accel_used = kvm->as_object().at("enabled").as_bool() ? accel::kvm : accel::tcg;
    }
    co_return 0;
  }).has_value()
             ? result<void>{}
             : result<void>(make_error_code(errc::backend_unavailable));
}

result<void> qemu_hypervisor::launch(vm_rt& vm, bool paused, const std::string& incoming,
                                     int inherit_fd) {
  auto actives = VSNAPD_TRY(store_->active_images(vm.cfg.uuid));
  if (actives.size() != vm.cfg.disks.size()) {
    return make_error_code(errc::backend_failed);
  }
  accel a = resolve_accel(vm.cfg.accelerator);
  std::string sock = vm.file("qmp.sock").string();
  int fd = VSNAPD_TRY(listen_unix(sock));
  std::vector<std::string> argv{
      opts_.qemu_binary, "-name", "guest=" + vm.cfg.name, "-uuid", vm.cfg.uuid, "-nodefaults",
      "-no-user-config", "-display", "none", "-accel", std::string(to_string(a)), "-m",
      std::to_string(vm.cfg.memory_mib), "-smp", std::to_string(vm.cfg.vcpus), "-pidfile",
      vm.file("qemu.pid").string(), "-chardev",
      "socket,id=qmp,server=on,wait=off,fd=" + std::to_string(fd), "-mon",
      "chardev=qmp,mode=control", "-chardev",
      "socket,id=ser0,path=" + vm.file("console.sock").string() +
          ",server=on,wait=off,logfile=" + vm.file("console.log").string() + ",logappend=on",
      "-serial", "chardev:ser0",
      // The guest agent's port; absent agents are detected from frontend-open.
      "-device", "virtio-serial-pci,id=vser0", "-chardev",
      "socket,id=qga0,path=" + vm.file("qga.sock").string() + ",server=on,wait=off", "-device",
      "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"};
  for (std::size_t i = 0; i < actives.size(); ++i) {
    // -blockdev, not -drive: the node names are ours. The qcow2 driver opens the backing chain
    // recorded in the headers.
    json::object bd{{"driver", "qcow2"},
                    {"node-name", "boot" + std::to_string(i)},
                    {"file", json::object{{"driver", "file"}, {"filename", actives[i]}}}};
    argv.insert(argv.end(), {"-blockdev", json::serialize(bd), "-device",
                             "virtio-blk-pci,drive=boot" + std::to_string(i) + ",id=" +
                                 vm.disk_node(i)});
  }
  if (vm.cfg.net == network::user) {
    argv.insert(argv.end(), {"-nic", "user,model=virtio-net-pci"});
  }
  if (!vm.cfg.kernel.empty()) {
    argv.insert(argv.end(), {"-kernel", vm.cfg.kernel});
    if (!vm.cfg.initrd.empty()) {
      argv.insert(argv.end(), {"-initrd", vm.cfg.initrd});
    }
    if (!vm.cfg.append.empty()) {
      argv.insert(argv.end(), {"-append", vm.cfg.append});
    }
  }
  if (paused || !incoming.empty()) {
    argv.push_back("-S");
  }
  if (!incoming.empty()) {
    argv.insert(argv.end(), {"-incoming", "defer"});
  }
  std::error_code ec;
  fs::remove(vm.file("qemu.pid"), ec);
  std::vector<int> keep{fd};
  if (inherit_fd >= 0) {
    keep.push_back(inherit_fd);
  }
  auto pid = spawn_detached(argv, keep, vm.file("qemu.log").string());
  ::close(fd);
  if (!pid) {
    return pid.error();
  }
  vm.pid = *pid;
  if (!attach(vm, 15s)) {
    ::kill(*pid, SIGKILL);
    (void)wait_exit(*pid, 5s);
    vm.pid = -1;
    log_warn("qemu: vm " + vm.cfg.uuid + " did not start; see " + vm.file("qemu.log").string());
    return make_error_code(errc::backend_failed);
  }
  vm.accel_used = a;
  return {};
}

result<void> qemu_hypervisor::stop_process(vm_rt& vm, bool graceful,
                                           std::chrono::milliseconds timeout) {
  if (vm.pid <= 0 || !process_alive(vm.pid)) {
    vm.pid = -1;
    return {};
  }
  auto sent = vm.run<int>([&vm, graceful]() -> asio::awaitable<result<int>> {
    auto r = co_await qmp(vm.qmp, graceful ? "system_powerdown" : "quit");
    co_return r ? result<int>(0) : result<int>(r.error());
  });
  if (!wait_exit(vm.pid, sent ? timeout : 1ms)) {
    if (graceful) {
      return make_error_code(errc::timed_out);
    }
    ::kill(vm.pid, SIGKILL);
    (void)wait_exit(vm.pid, 5s);
  }
  (void)vm.run<int>([&vm]() -> asio::awaitable<result<int>> {
    if (vm.qmp) {
      vm.qmp->close();
      vm.qmp.reset();
    }
    co_return 0;
  });
  vm.pid = -1;
  vm.accel_used.reset();
  return {};
}

result<vm_state> qemu_hypervisor::live_state(vm_rt& vm) {
  if (vm.pid <= 0 || !process_alive(vm.pid)) {
    vm.pid = -1;
    std::error_code ec;
    return fs::exists(vm.file("saved.state"), ec) ? vm_state::saved : vm_state::stopped;
  }
  auto st = vm.run<std::string>([&vm]() -> asio::awaitable<result<std::string>> {
    auto r = co_await qmp(vm.qmp, "query-status");
    if (!r) {
      co_return r.error();
    }
    co_return std::string(r->as_object().at("status").as_string());
  });
  if (!st) {
    return vm_state::starting;  // alive but not answering (yet)
  }
  return *st == "running" ? vm_state::running : vm_state::paused;
}

result<vm_status> qemu_hypervisor::get_status(const std::string& id) {
  auto vm = VSNAPD_TRY(find(id));
  vm_status s;
  std::unique_lock lock(vm->op, std::try_to_lock);
  if (lock.owns_lock()) {
    s.state = VSNAPD_TRY(live_state(*vm));
    if (vm->pid > 0) {
      s.pid = vm->pid;
      s.accelerator = vm->accel_used;
    }
    vm->known_state = s.state;
    vm->known_pid = vm->pid;
  } else {
    // An operation runs (a full snapshot or a merge can take minutes): its process and QMP
    // conversation are its own, and a status query must not wait for it. The state seen last
    // is the answer; the next query after the operation asks QEMU again.
    s.state = vm->known_state;
    if (const pid_t pid = vm->known_pid; pid > 0) {
      s.pid = pid;
    }
  }
  s.current_snapshot = VSNAPD_TRY(store_->current(id));
  s.active_disks = VSNAPD_TRY(store_->active_images(id));
  return s;
}

result<void> qemu_hypervisor::restore_memory(vm_rt& vm, const std::string& file, bool resume,
                                             step_clock* steps) {
  // QEMU reads the state straight from the file, through a descriptor it inherits: the
  // `exec:cat FILE` pipe this replaced cost a context switch between cat and QEMU per 64 KiB
  // and made apply of a 1 GiB guest with 600 MiB in use slower than snapshot-load (1.3-1.6 s
  // against 0.6-1.2 s in bench/snapshots).
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    log_warn("qemu: cannot open " + file);
    return make_error_code(errc::backend_failed);
  }
  auto launched = launch(vm, true, file, fd);
  ::close(fd);  // QEMU holds its own copy
  VSNAPD_TRY_VOID(launched);
  if (steps != nullptr) {
    steps->mark("launch");
  }
  std::string uri = "fd:" + std::to_string(fd);
  auto r = vm.run<int>([&vm, uri, resume, steps]() -> asio::awaitable<result<int>> {
    auto w = vm.qmp->watch(is_migration);
    json::object args861 = obj({{"uri", uri}});  // named: GCC 12 co_await temporaries
    auto m = co_await qmp(vm.qmp, "migrate-incoming", std::move(args861));
    if (!m) {
      co_return m.error();
    }
    std::vector<std::string> want873{"completed"};  // named: GCC 12 co_await temporaries
    auto st = co_await wait_migration(vm.qmp, w, want873, nullptr, nullptr, 10min);
    if (!st) {
      co_return st.error();
    }
    if (steps != nullptr) {
      steps->mark("incoming");
    }
    if (resume) {
      auto c = co_await cont_after_migration(vm.qmp, 10s);
      if (!c) {
        co_return c.error();
      }
    }
    co_return 0;
  });
  if (!r) {
    (void)stop_process(vm, false, 5s);
    return r.error();
  }
  return {};
}

result<void> qemu_hypervisor::change_state(const std::string& id, state_change change,
                                           const op_control& ctl) {
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  auto st = VSNAPD_TRY(live_state(*vm));
  auto simple = [&](const char* cmd) -> result<void> {
    auto r = vm->run<int>([&vm, cmd]() -> asio::awaitable<result<int>> {
      auto a = co_await qmp(vm->qmp, cmd);
      co_return a ? result<int>(0) : result<int>(a.error());
    });
    return r ? result<void>{} : result<void>(r.error());
  };
  bool alive = st == vm_state::running || st == vm_state::paused;
  switch (change) {
    case state_change::start:
      if (st == vm_state::saved) {
        auto file = vm->file("saved.state").string();
        VSNAPD_TRY_VOID(restore_memory(*vm, file, true));
        std::error_code ec;
        fs::remove(file, ec);
        return {};
      }
      if (st != vm_state::stopped) {
        return make_error_code(errc::invalid_state);
      }
      return launch(*vm, false, {});
    case state_change::shutdown:
      if (!alive) {
        return make_error_code(errc::invalid_state);
      }
      return stop_process(*vm, true, 60s);
    case state_change::power_off:
      if (!alive && st != vm_state::starting) {
        return make_error_code(errc::invalid_state);
      }
      return stop_process(*vm, false, 10s);
    case state_change::pause:
      if (st != vm_state::running) {
        return make_error_code(errc::invalid_state);
      }
      return simple("stop");
    case state_change::resume:
      if (st != vm_state::paused) {
        return make_error_code(errc::invalid_state);
      }
      return simple("cont");
    case state_change::reset:
      if (!alive) {
        return make_error_code(errc::invalid_state);
      }
      return simple("system_reset");
    case state_change::save: {
      if (!alive) {
        return make_error_code(errc::invalid_state);
      }
      std::string file = vm->file("saved.state").string();
      std::string uri = "exec:cat > " + shell_quote(file + ".part");
      unsigned last = 0;
      auto r = vm->run<int>([&vm, uri, &ctl, &last]() -> asio::awaitable<result<int>> {
        // A full snapshot leaves pause-before-switchover on; a save must run straight through.
        json::array caps{obj({{"capability", "pause-before-switchover"}, {"state", false}})};
        json::object cargs = obj({{"capabilities", caps}});
        auto sc = co_await qmp(vm->qmp, "migrate-set-capabilities", std::move(cargs));
        if (!sc) {
          co_return sc.error();
        }
        auto w = vm->qmp->watch(is_migration);
        json::object args944 = obj({{"uri", uri}});  // named: GCC 12 co_await temporaries
        auto m = co_await qmp(vm->qmp, "migrate", std::move(args944));
        if (!m) {
          co_return m.error();
        }
        std::vector<std::string> want957{"completed"};  // named: GCC 12 co_await temporaries
        auto s = co_await wait_migration(vm->qmp, w, want957, &ctl, &last, 10min);
        co_return s ? result<int>(0) : result<int>(s.error());
      });
      if (!r) {
        return r.error();
      }
      std::error_code ec;
      fs::rename(file + ".part", file, ec);
      return stop_process(*vm, false, 10s);
    }
  }
  return make_error_code(errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Snapshots.

result<std::vector<snapshot_info>> qemu_hypervisor::list_snapshots(const std::string& id) {
  VSNAPD_TRY(find(id));
  return store_->snapshots(id);
}

result<void> qemu_hypervisor::rename_snapshot(const std::string& id, const std::string& sid,
                                              const std::string& name) {
  VSNAPD_TRY(find(id));
  auto s = VSNAPD_TRY(store_->snapshot(id, sid));
  if (!s) {
    return make_error_code(errc::no_such_snapshot);
  }
  return store_->transaction([&] { return store_->rename_snapshot(sid, name); });
}

result<void> qemu_hypervisor::clear_snapshot_state(const std::string& id, const std::string& sid) {
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  auto snap = VSNAPD_TRY(store_->snapshot(id, sid));
  if (!snap) {
    return make_error_code(errc::no_such_snapshot);
  }
  if (!snap->memory_file) {
    return {};
  }
  // The database forgets the file first, under a journal entry: a crash before the file is
  // deleted leaves the entry, and recovery deletes the file instead of leaking it. The other
  // order could leave a snapshot naming a file that is gone.
  json::object payload = obj({{"snapshot", sid}, {"memory", *snap->memory_file}});
  std::int64_t op = 0;
  VSNAPD_HV_TRY_TX(store_->transaction([&]() -> result<void> {
    op = VSNAPD_TRY(store_->journal_begin(id, "clear", json::serialize(payload)));
    return store_->clear_memory_state(sid);
  }));
  std::error_code ec;
  fs::remove(*snap->memory_file, ec);
  VSNAPD_HV_TRY_TX(store_->transaction([&] { return store_->journal_end(op); }));
  return {};
}

result<snapshot_info> qemu_hypervisor::create_snapshot(const std::string& id,
                                                       const snapshot_request& req,
                                                       const op_control& ctl,
                                                       op_timing* timing) {
  auto t_start = clock_type::now();
  step_clock steps;
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  steps.mark("lock");
  if (ctl.stop.stop_requested()) {
    return make_error_code(errc::cancelled);
  }
  auto st = VSNAPD_TRY(live_state(*vm));
  steps.mark("state");
  bool live = st == vm_state::running || st == vm_state::paused;
  if (req.type == snapshot_type::full && !live) {
    return make_error_code(errc::invalid_state);
  }
  if (st == vm_state::starting || st == vm_state::saved) {
    return make_error_code(errc::invalid_state);
  }
  unsigned last = 0;
  report(ctl, last, 0);
  snapshot_info snap;
  snap.id = random_uuid();
  snap.parent = VSNAPD_TRY(store_->current(id));
  snap.created = std::chrono::system_clock::now();
  snap.type = req.type;
  snap.taken_in = st;
  snap.level = consistency::crash;
  if (req.name.empty()) {
    auto t = std::chrono::system_clock::to_time_t(snap.created);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
    snap.name = vm->cfg.name + " - (" + buf + ")";
  } else {
    snap.name = req.name;
  }
  auto olds = VSNAPD_TRY(store_->active_images(id));
  std::vector<std::string> overlays;
  for (std::size_t i = 0; i < olds.size(); ++i) {
    overlays.push_back(vm->file("disk" + std::to_string(i) + "." + snap.id.substr(0, 8) + "." +
                                random_hex(4) + ".qcow2")
                           .string());
  }
  if (req.type == snapshot_type::full) {
    snap.memory_file = vm->file("snap-" + snap.id + ".mem").string();
  }
  // Journal first: recovery removes whatever of this the crash left half made.
  json::object payload{{"snapshot", snap.id},
                       {"type", static_cast<int>(req.type)},
                       {"overlays", json::value_from(overlays)},
                       {"olds", json::value_from(olds)},
                       {"memory", snap.memory_file ? json::value(*snap.memory_file) : nullptr},
                       {"was_running", st == vm_state::running}};
  auto op = VSNAPD_TRY(store_->journal_begin(id, "create", json::serialize(payload)));
  steps.mark("journal");
  auto cleanup = [&] {
    std::error_code ec;
    for (auto& o : overlays) {
      fs::remove(o, ec);
    }
    if (snap.memory_file) {
      fs::remove(*snap.memory_file, ec);
    }
    (void)store_->journal_end(op);
  };
  for (std::size_t i = 0; i < olds.size(); ++i) {
    storage::overlay_options oo;
    oo.backing_format = "qcow2";
    auto r = storage::create_overlay(overlays[i], olds[i], oo);
    if (!r) {
      log_warn("qemu: overlay " + overlays[i] + " over " + olds[i] + ": " + r.error().message());
      cleanup();
      return make_error_code(errc::backend_failed);
    }
  }
  steps.mark("overlays");
  if (live) {
    // The transaction flushes each old top while the disks' I/O is drained: whatever the guest
    // wrote into the host page cache since its last flush reaches the disk inside that window.
    // Flushing the same files from here first (fsync acts on the file, whoever opened it)
    // leaves the drained flush only what is written in between. Best effort: the transaction
    // flushes anyway.
    for (const auto& o : olds) {
      (void)fsync_path(o, true);
    }
    steps.mark("preflush");
  }
  if (crash_here(1)) {
    return make_error_code(errc::backend_failed);
  }
  report(ctl, last, 5);
  std::chrono::microseconds pause{0};
  if (live) {
    std::string qga = vm->file("qga.sock").string();
    auto agent_timeout = opts_.agent_timeout;
    bool full = req.type == snapshot_type::full;
    bool quiesce = req.quiesce;
    std::string mem = snap.memory_file.value_or("");
    bool was_running = st == vm_state::running;
    std::size_t ndisks = olds.size();
    auto r = vm->run<consistency>([&, qga, agent_timeout, full, quiesce, mem, was_running,
                                   ndisks]() -> asio::awaitable<result<consistency>> {
      auto c = vm->qmp;
      auto nodes = co_await active_nodes(c, ndisks);
      if (!nodes) {
        co_return nodes.error();
      }
      std::vector<std::string> new_nodes;
      for (std::size_t i = 0; i < ndisks; ++i) {
        new_nodes.push_back("s" + snap.id.substr(0, 8) + "d" + std::to_string(i));
        json::object args1073 = overlay_blockdev(new_nodes[i], overlays[i]);  // named: GCC 12 co_await temporaries
        auto a = co_await qmp(c, "blockdev-add", std::move(args1073));
        if (!a) {
          for (std::size_t j = 0; j < i; ++j) {
            json::object args1076 = obj({{"node-name", new_nodes[j]}});  // named: GCC 12 co_await temporaries
            (void)co_await qmp(c, "blockdev-del", std::move(args1076));
          }
          co_return a.error();
        }
      }
      steps.mark("blockdev_add");
      auto drop_nodes = [&]() -> asio::awaitable<void> {
        for (auto& n : new_nodes) {
          json::object args1083 = obj({{"node-name", n}});  // named: GCC 12 co_await temporaries
          (void)co_await qmp(c, "blockdev-del", std::move(args1083));
        }
      };
      consistency level = consistency::crash;
      bool frozen = false;
      if (quiesce && was_running) {
        bool agent = co_await agent_present(c);
        if (agent) {
          auto ping = co_await agent_command(qga, "guest-ping", agent_timeout);
          if (ping) {
            auto fz = co_await agent_command(qga, "guest-fsfreeze-freeze", 10s);
            frozen = fz.has_value();
          }
        }
      }
      // The agent answers only while the guest runs: a disk snapshot thaws right after the
      // switch, a full one after the guest resumed (below). Failure paths thaw too.
      auto thaw = [&]() -> asio::awaitable<void> {
        if (frozen) {
          frozen = false;
          auto th = co_await agent_command(qga, "guest-fsfreeze-thaw", 10s);
          level = th ? consistency::application : consistency::crash;
        }
      };
      std::shared_ptr<event_waiter> mig;
      std::shared_ptr<event_waiter> runstate;
      if (full) {
        json::array caps{obj({{"capability", "pause-before-switchover"}, {"state", true}}),
                         obj({{"capability", "auto-converge"}, {"state", false}}),
                         obj({{"capability", "events"}, {"state", true}})};
        json::object args1104 = obj({{"capabilities", caps}});  // named: GCC 12 co_await temporaries
        auto sc = co_await qmp(c, "migrate-set-capabilities", std::move(args1104));
        if (!sc) {
          co_await drop_nodes();
          co_return sc.error();
        }
        mig = c->watch(is_migration);
        runstate = c->watch([](const qmp_event& e) { return e.name == "STOP" || e.name == "RESUME"; });
        json::object args1111 = obj({{"uri", "exec:cat > " + shell_quote(mem)}});  // named: GCC 12 co_await temporaries
        auto m = co_await qmp(c, "migrate", std::move(args1111));
        if (!m) {
          co_await drop_nodes();
          co_await thaw();
          co_return m.error();
        }
        // Live, iterative RAM copy while the guest runs; QEMU stops the guest for the last
        // pass and then waits for us in pre-switchover.
        std::vector<std::string> want1132{"pre-switchover"};  // named: GCC 12 co_await temporaries
        auto pre = co_await wait_migration(c, mig, want1132, &ctl, &last, 30min);
        if (!pre) {
          (void)co_await qmp(c, "migrate_cancel");
          co_await drop_nodes();
          if (was_running) {
            (void)co_await cont_after_migration(c, 10s);
          }
          co_await thaw();
          co_return pre.error();
        }
        steps.mark("migrate_live");
        // Test hook: die with the guest paused in pre-switchover (SIGKILL mode only; step 3).
        if (crash_kill_ && crash_step_ == 3) {
          (void)crash_here(3);
        }
      }
      json::array actions;
      for (std::size_t i = 0; i < ndisks; ++i) {
        actions.push_back(obj({{"type", "blockdev-snapshot"},
                               {"data", obj({{"node", (*nodes)[i]}, {"overlay", new_nodes[i]}})}}));
      }
      auto t0 = clock_type::now();
      json::object args1131 = obj({{"actions", actions}});  // named: GCC 12 co_await temporaries
      auto tx = co_await qmp(c, "transaction", std::move(args1131));
      auto t1 = clock_type::now();
      steps.mark("transaction");
      if (!full) {
        co_await thaw();
      }
      if (!tx) {
        if (full) {
          (void)co_await qmp(c, "migrate_cancel");
          if (was_running) {
            (void)co_await cont_after_migration(c, 10s);
          }
          co_await thaw();
        }
        co_await drop_nodes();
        co_return tx.error();
      }
      if (!full) {
        // No STOP: the transaction drains the disks' I/O without pausing the vCPUs; its round
        // trip bounds what the guest can notice.
        pause = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0);
        co_return level;
      }
      json::object args1150 = obj({{"state", "pre-switchover"}});  // named: GCC 12 co_await temporaries
      auto cont = co_await qmp(c, "migrate-continue", std::move(args1150));
      if (!cont) {
        co_return cont.error();
      }
      std::vector<std::string> want1170{"completed"};  // named: GCC 12 co_await temporaries
      auto done = co_await wait_migration(c, mig, want1170, &ctl, &last, 10min);
      if (!done) {
        co_return done.error();
      }
      steps.mark("migrate_final");
      if (was_running) {
        auto go = co_await cont_after_migration(c, 10s);
        if (!go) {
          co_return go.error();
        }
        // QEMU's own time stamps of STOP and RESUME give the pause.
        std::int64_t stop_ts = 0;
        std::int64_t resume_ts = 0;
        for (int k = 0; k < 4 && resume_ts == 0; ++k) {
          auto e = co_await c->wait(*runstate, 2s);
          if (!e) {
            break;
          }
          (e->name == "STOP" ? stop_ts : resume_ts) = e->timestamp_us;
        }
        if (stop_ts != 0 && resume_ts >= stop_ts) {
          pause = std::chrono::microseconds(resume_ts - stop_ts);
        }
        steps.mark("cont");
      }
      co_await thaw();
      co_return level;
    });
    if (!r) {
      log_warn("qemu: snapshot of vm " + id + " failed: " + r.error().message());
      cleanup();
      return r.error();
    }
    snap.level = *r;
    if (snap.memory_file) {
      // QEMU's own snapshot-save flushes the image holding the VM state before it records the
      // snapshot; ours is as durable: the state reaches the disk before the snapshot is
      // committed as created. The guest already runs again, so this costs no pause.
      auto synced = fsync_path(*snap.memory_file, true);
      if (synced) {
        synced = fsync_path(vm->dir);
      }
      steps.mark("fsync_memory");
      if (!synced) {
        // The VM already writes to the overlays: as when the commit below fails, the open
        // journal entry lets recovery finish or roll back the operation.
        log_warn("qemu: fsync of " + *snap.memory_file + " failed");
        return make_error_code(errc::backend_failed);
      }
    }
  }
  if (crash_here(2)) {
    return make_error_code(errc::backend_failed);
  }
  // The switch: old tops become the snapshot's frozen images, overlays become active.
  auto committed = store_->transaction([&]() -> result<void> {
    for (std::size_t i = 0; i < olds.size(); ++i) {
      auto old = VSNAPD_TRY(store_->image(olds[i]));
      VSNAPD_TRY_VOID(store_->put_image({olds[i], id, static_cast<std::uint32_t>(i),
                                         old ? old->backing : std::nullopt, snap.id, false}));
      VSNAPD_TRY_VOID(store_->put_image(
          {overlays[i], id, static_cast<std::uint32_t>(i), olds[i], std::nullopt, true}));
    }
    VSNAPD_TRY_VOID(store_->put_snapshot(id, snap));
    VSNAPD_TRY_VOID(store_->set_current(id, snap.id));
    return store_->journal_end(op);
  });
  if (!committed) {
    return committed.error();
  }
  steps.mark("commit");
  snap.disk_images = olds;
  report(ctl, last, 100);
  op_timing t;
  t.total = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t_start);
  t.guest_pause = pause;
  log_op("create", snap.id, id, req.type, t, steps);
  if (timing != nullptr) {
    *timing = t;
  }
  return snap;
}

result<void> qemu_hypervisor::apply_snapshot(const std::string& id, const std::string& sid,
                                             const op_control& ctl, op_timing* timing) {
  auto t_start = clock_type::now();
  step_clock steps;
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  auto snap = VSNAPD_TRY(store_->snapshot(id, sid));
  if (!snap) {
    return make_error_code(errc::no_such_snapshot);
  }
  steps.mark("lock");
  unsigned last = 0;
  report(ctl, last, 0);
  auto st = VSNAPD_TRY(live_state(*vm));
  if (st != vm_state::stopped && st != vm_state::saved) {
    VSNAPD_TRY_VOID(stop_process(*vm, false, 10s));
  }
  std::error_code ec;
  fs::remove(vm->file("saved.state"), ec);  // the saved state belongs to the discarded present
  steps.mark("stop");
  report(ctl, last, 10);
  auto olds = VSNAPD_TRY(store_->active_images(id));
  std::vector<std::string> overlays;
  for (std::size_t i = 0; i < snap->disk_images.size(); ++i) {
    overlays.push_back(vm->file("disk" + std::to_string(i) + ".a" + random_hex(7) + ".qcow2").string());
  }
  json::object payload{{"snapshot", sid},
                       {"overlays", json::value_from(overlays)},
                       {"olds", json::value_from(olds)}};
  auto op = VSNAPD_TRY(store_->journal_begin(id, "apply", json::serialize(payload)));
  steps.mark("journal");
  for (std::size_t i = 0; i < overlays.size(); ++i) {
    storage::overlay_options oo;
    oo.backing_format = "qcow2";
    if (!storage::create_overlay(overlays[i], snap->disk_images[i], oo)) {
      for (auto& o : overlays) {
        fs::remove(o, ec);
      }
      (void)store_->journal_end(op);
      return make_error_code(errc::backend_failed);
    }
  }
  if (crash_here(1)) {
    return make_error_code(errc::backend_failed);
  }
  // The previous tops are owned by no snapshot (a snapshot always freezes its images and moves
  // the VM to a new overlay), so nothing else reads them: they go.
  VSNAPD_HV_TRY_TX(store_->transaction([&]() -> result<void> {
    for (std::size_t i = 0; i < overlays.size(); ++i) {
      VSNAPD_TRY_VOID(store_->remove_image(olds[i]));
      VSNAPD_TRY_VOID(store_->put_image({overlays[i], id, static_cast<std::uint32_t>(i),
                                         snap->disk_images[i], std::nullopt, true}));
    }
    VSNAPD_TRY_VOID(store_->set_current(id, sid));
    return store_->journal_step(op, 2);
  }));
  if (crash_here(2)) {
    return make_error_code(errc::backend_failed);
  }
  for (auto& o : olds) {
    fs::remove(o, ec);
  }
  VSNAPD_HV_TRY_TX(store_->transaction([&] { return store_->journal_end(op); }));
  steps.mark("disks");
  report(ctl, last, 50);
  if (snap->type == snapshot_type::full && snap->memory_file) {
    VSNAPD_TRY_VOID(restore_memory(*vm, *snap->memory_file, snap->taken_in == vm_state::running,
                                   &steps));
  }
  report(ctl, last, 100);
  op_timing t;
  t.total = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t_start);
  log_op("apply", sid, id, snap->type, t, steps);
  if (timing != nullptr) {
    *timing = t;
  }
  return {};
}

result<void> qemu_hypervisor::gc_image(vm_rt& vm, const std::string& path, const op_control& ctl,
                                       step_clock* steps) {
  auto mark = [steps](const char* name) {
    if (steps != nullptr) {
      steps->mark(name);
    }
  };
  std::optional<std::string> cur = path;
  while (cur) {
    auto img = VSNAPD_TRY(store_->image(*cur));
    if (!img || img->snapshot || img->active) {
      return {};
    }
    auto kids = VSNAPD_TRY(store_->children(*cur));
    std::error_code ec;
    if (kids.empty()) {
      VSNAPD_HV_TRY_TX(store_->transaction([&] { return store_->remove_image(*cur); }));
      fs::remove(*cur, ec);
      cur = img->backing;
      continue;
    }
    if (kids.size() > 1) {
      return {};  // shared by two branches: stays as an unnamed chain node
    }
    const auto child = kids.front();
    // Is the child open in the running VM? Then QEMU must do the stream (it owns the file).
    std::map<std::string, std::string> open_nodes;
    bool running = vm.pid > 0 && process_alive(vm.pid);
    if (running) {
      auto n = vm.run<std::map<std::string, std::string>>(
          [&vm]() -> asio::awaitable<result<std::map<std::string, std::string>>> {
            co_return co_await format_nodes(vm.qmp);
          });
      if (!n) {
        return n.error();
      }
      open_nodes = std::move(*n);
      mark("nodes");
    }
    unsigned last = 0;
    if (open_nodes.count(child.path) != 0) {
      std::string job = "gc" + random_hex(6);
      std::string device = open_nodes[child.path];
      std::optional<std::string> base_node;
      if (img->backing) {
        base_node = open_nodes[*img->backing];
      }
      auto r = vm.run<int>([&vm, job, device, base_node, &ctl, &last]() -> asio::awaitable<result<int>> {
        auto c = vm.qmp;
        auto w = c->watch([job](const qmp_event& e) { return is_job_end(e, job); });
        json::object args{{"job-id", job}, {"device", device}};
        if (base_node) {
          args["base-node"] = *base_node;
        }
        auto s = co_await qmp(c, "block-stream", std::move(args));
        if (!s) {
          co_return s.error();
        }
        auto d = co_await wait_block_job(c, w, job, ctl, last, 10, 90);
        co_return d ? result<int>(0) : result<int>(d.error());
      });
      if (!r) {
        return r.error();
      }
      mark("block_stream");
    } else {
      storage::stream_options so;
      if (img->backing) {
        so.base = *img->backing;
      }
      storage::job_control jc;
      jc.stop = ctl.stop;
      jc.progress = [&](std::uint64_t done, std::uint64_t total) {
        if (total > 0) {
          report(ctl, last, 10 + static_cast<unsigned>(80 * done / total));
        }
      };
      auto r = storage::stream(child.path, so, jc);
      if (!r) {
        log_warn("qemu: stream into " + child.path + ": " + r.error().message());
        return r.error() == make_error_code(storage::errc::cancelled)
                   ? make_error_code(errc::cancelled)
                   : make_error_code(errc::backend_failed);
      }
    }
    // The child no longer reads through `cur`.
    VSNAPD_HV_TRY_TX(store_->transaction([&]() -> result<void> {
      auto c = child;
      c.backing = img->backing;
      VSNAPD_TRY_VOID(store_->put_image(c));
      return store_->remove_image(*cur);
    }));
    mark("record");
    fs::remove(*cur, ec);
    mark("unlink");
    return {};
  }
  return {};
}

result<void> qemu_hypervisor::destroy_snapshot(const std::string& id, const std::string& sid,
                                               const op_control& ctl, op_timing* timing) {
  auto t_start = clock_type::now();
  step_clock steps;
  auto vm = VSNAPD_TRY(find(id));
  std::lock_guard lock(vm->op);
  auto snap = VSNAPD_TRY(store_->snapshot(id, sid));
  if (!snap) {
    return make_error_code(errc::no_such_snapshot);
  }
  steps.mark("lock");
  json::object payload{{"snapshot", sid}, {"images", json::value_from(snap->disk_images)}};
  std::int64_t op = 0;
  VSNAPD_HV_TRY_TX(store_->transaction([&]() -> result<void> {
    op = VSNAPD_TRY(store_->journal_begin(id, "destroy", json::serialize(payload)));
    VSNAPD_TRY_VOID(store_->reparent(sid, snap->parent));
    auto cur = VSNAPD_TRY(store_->current(id));
    if (cur == sid) {
      VSNAPD_TRY_VOID(store_->set_current(id, snap->parent));
    }
    return store_->remove_snapshot(sid);
  }));
  if (snap->memory_file) {
    // Unlinking a large file is slow where the file system trims freed extents at once (ext4
    // mounted with discard here: 3.5-3.9 s for a 1 GiB guest's state with 600 MiB in use,
    // five times snapshot-delete). The snapshot is gone once the transaction above committed;
    // its file is renamed aside (atomic, instant) and unlinked in the background.
    reap_later(*vm, *snap->memory_file);
  }
  steps.mark("journal");
  if (crash_here(1)) {
    return make_error_code(errc::backend_failed);
  }
  for (const auto& img : snap->disk_images) {
    VSNAPD_TRY_VOID(gc_image(*vm, img, ctl, &steps));
  }
  steps.mark("merge");
  VSNAPD_HV_TRY_TX(store_->transaction([&] { return store_->journal_end(op); }));
  steps.mark("commit");
  if (ctl.progress) {
    ctl.progress(100);
  }
  op_timing t;
  t.total = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t_start);
  log_op("destroy", sid, id, snap->type, t, steps);
  if (timing != nullptr) {
    *timing = t;
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Recovery.

result<void> qemu_hypervisor::recover() {
  auto entries = VSNAPD_TRY(store_->journal());
  for (const auto& e : entries) {
    auto vmr = find(e.vm);
    boost::system::error_code jec;
    auto pv = json::parse(e.payload, jec);
    if (!vmr || jec || !pv.is_object()) {
      (void)store_->journal_end(e.op);
      continue;
    }
    auto& vm = **vmr;
    const auto& p = pv.as_object();
    auto strings = [&](const char* key) {
      std::vector<std::string> out;
      for (const auto& v : p.at(key).as_array()) {
        out.emplace_back(v.as_string());
      }
      return out;
    };
    std::error_code ec;
    log_info("qemu: recovering interrupted " + e.kind + " on vm " + e.vm);
    if (e.kind == "create") {
      auto overlays = strings("overlays");
      auto olds = strings("olds");
      std::string sid(p.at("snapshot").as_string());
      bool full = p.at("type").to_number<int>() == static_cast<int>(snapshot_type::full);
      bool was_running = p.at("was_running").as_bool();
      std::optional<std::string> mem;
      if (p.at("memory").is_string()) {
        mem = std::string(p.at("memory").as_string());
      }
      // Did QEMU switch to the overlays? Ask it which files its disks write to.
      bool switched = false;
      if (vm.qmp) {
        auto n = vm.cfg.disks.size();
        auto files = vm.run<std::vector<std::string>>(
            [&vm, n]() -> asio::awaitable<result<std::vector<std::string>>> {
              auto c = vm.qmp;
              // A migration the crash left behind is cancelled; the guest runs again below.
              (void)co_await qmp(c, "migrate_cancel");
              auto r = co_await qmp(c, "query-block");
              if (!r) {
                co_return r.error();
              }
              std::vector<std::string> out(n);
              for (const auto& dev : r->as_array()) {
                const auto& d = dev.as_object();
                auto* qdev = d.if_contains("qdev");
                auto* ins = d.if_contains("inserted");
                for (std::size_t i = 0; qdev && ins && i < n; ++i) {
                  if (std::string(qdev->as_string()).find("/disk" + std::to_string(i) + "/") !=
                      std::string::npos) {
                    out[i] = std::string(ins->as_object().at("file").as_string());
                  }
                }
              }
              co_return out;
            });
        switched = files && *files == overlays;
        if (was_running) {
          (void)vm.run<int>([&vm]() -> asio::awaitable<result<int>> {
            auto st = co_await qmp(vm.qmp, "query-status");
            if (st && st->as_object().at("status").as_string() != "running") {
              (void)co_await cont_after_migration(vm.qmp, 10s);
            }
            co_return 0;
          });
        }
        if (!switched) {
          (void)vm.run<int>([&vm, sid, n]() -> asio::awaitable<result<int>> {
            for (std::size_t i = 0; i < n; ++i) {
              json::object del = obj({{"node-name", "s" + sid.substr(0, 8) + "d" + std::to_string(i)}});
              (void)co_await qmp(vm.qmp, "blockdev-del", std::move(del));
            }
            co_return 0;
          });
        }
      }
      if (mem) {
        fs::remove(*mem, ec);
      }
      if (!switched) {
        for (auto& o : overlays) {
          fs::remove(o, ec);
        }
        VSNAPD_HV_TRY_TX(store_->transaction([&] { return store_->journal_end(e.op); }));
        continue;
      }
      // QEMU writes to the overlays: they are the active images now. A disk snapshot is
      // complete (its images are frozen and usable); a full one lost its memory file, so the
      // frozen images stay as unnamed chain nodes and no snapshot is reported.
      VSNAPD_HV_TRY_TX(store_->transaction([&]() -> result<void> {
        for (std::size_t i = 0; i < olds.size(); ++i) {
          auto old = VSNAPD_TRY(store_->image(olds[i]));
          VSNAPD_TRY_VOID(store_->put_image({olds[i], e.vm, static_cast<std::uint32_t>(i),
                                             old ? old->backing : std::nullopt,
                                             full ? std::nullopt : std::optional(sid), false}));
          VSNAPD_TRY_VOID(store_->put_image(
              {overlays[i], e.vm, static_cast<std::uint32_t>(i), olds[i], std::nullopt, true}));
        }
        if (!full) {
          snapshot_info s;
          s.id = sid;
          s.parent = VSNAPD_TRY(store_->current(e.vm));
          s.name = vm.cfg.name + " - (recovered)";
          s.created = std::chrono::system_clock::now();
          s.type = snapshot_type::disk;
          s.taken_in = was_running ? vm_state::running : vm_state::paused;
          VSNAPD_TRY_VOID(store_->put_snapshot(e.vm, s));
          VSNAPD_TRY_VOID(store_->set_current(e.vm, sid));
        }
        return store_->journal_end(e.op);
      }));
    } else if (e.kind == "apply") {
      auto overlays = strings("overlays");
      auto olds = strings("olds");
      if (e.step >= 2) {
        for (auto& o : olds) {  // committed: finish dropping the old tops
          fs::remove(o, ec);
        }
      } else {
        for (auto& o : overlays) {  // not committed: the VM still has its old tops
          fs::remove(o, ec);
        }
      }
      VSNAPD_HV_TRY_TX(store_->transaction([&] { return store_->journal_end(e.op); }));
    } else if (e.kind == "destroy") {
      // The snapshot is gone from the tree; finish merging its images (each merge is
      // idempotent: a stream whose backing already moved copies nothing). A stream the
      // crash left running in QEMU is let finish first: it holds the nodes.
      if (vm.qmp) {
        auto drained = vm.run<int>([&vm]() -> asio::awaitable<result<int>> {
          auto d = co_await drain_block_jobs(vm.qmp, 1h);
          co_return d ? result<int>(0) : result<int>(d.error());
        });
        if (!drained) {
          log_warn("qemu: vm " + e.vm + ": block jobs of the interrupted destroy did not end: " +
                   drained.error().message());
          return drained.error();
        }
      }
      for (const auto& img : strings("images")) {
        VSNAPD_TRY_VOID(gc_image(vm, img, {}));
      }
      VSNAPD_HV_TRY_TX(store_->transaction([&] { return store_->journal_end(e.op); }));
    } else if (e.kind == "clear") {
      // The snapshot already forgot its memory file (same transaction as the entry).
      fs::remove(std::string(p.at("memory").as_string()), ec);
      VSNAPD_HV_TRY_TX(store_->transaction([&] { return store_->journal_end(e.op); }));
    } else {
    }
  }
  return {};
}

}  // namespace vsnapd::hv::qemu
