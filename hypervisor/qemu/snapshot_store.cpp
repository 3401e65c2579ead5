#include "hypervisor/qemu/snapshot_store.hpp"

#include "common/log.hpp"
#include "hypervisor/errc.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <map>

namespace vsnapd::hv::qemu {

namespace {

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS images(
  path TEXT PRIMARY KEY, vm TEXT NOT NULL, disk INTEGER NOT NULL, backing TEXT,
  snapshot TEXT, active INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS images_backing ON images(backing);
CREATE TABLE IF NOT EXISTS snapshots(
  id TEXT PRIMARY KEY, vm TEXT NOT NULL, parent TEXT, name TEXT NOT NULL,
  created_us INTEGER NOT NULL, type INTEGER NOT NULL, memory_file TEXT,
  level INTEGER NOT NULL, taken_in INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS current(vm TEXT PRIMARY KEY, snapshot TEXT);
CREATE TABLE IF NOT EXISTS journal(
  op INTEGER PRIMARY KEY AUTOINCREMENT, vm TEXT NOT NULL, kind TEXT NOT NULL,
  step INTEGER NOT NULL, payload TEXT NOT NULL);
)sql";

result<void> fail(sqlite3* db, const char* what) {
  log::write(log::level::error, "hv",
             std::string("snapshot store: ") + what + ": " + sqlite3_errmsg(db));
  return make_error_code(errc::journal_failed);
}

}  // namespace

struct snapshot_store::stmt {
  sqlite3_stmt* s = nullptr;
  sqlite3* db = nullptr;
  stmt(sqlite3_stmt* st, sqlite3* d) : s(st), db(d) {}
  stmt(stmt&& o) noexcept : s(o.s), db(o.db) { o.s = nullptr; }
  ~stmt() { sqlite3_finalize(s); }
  int idx = 0;
  stmt& bind(const std::string& v) {
    sqlite3_bind_text(s, ++idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  stmt& bind(const std::optional<std::string>& v) {
    if (v) {
      return bind(*v);
    }
    sqlite3_bind_null(s, ++idx);
    return *this;
  }
  stmt& bind(std::int64_t v) {
    sqlite3_bind_int64(s, ++idx, v);
    return *this;
  }
  /// SQLITE_ROW -> true, SQLITE_DONE -> false.
  result<bool> step() {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    (void)fail(db, "step");
    // in_place_error: result<bool> would otherwise try to convert the code to bool.
    return result<bool>(boost::system::in_place_error, make_error_code(errc::journal_failed));
  }
  result<void> run() {
    VSNAPD_TRY(step());
    return {};
  }
  std::string text(int col) const {
    auto* p = sqlite3_column_text(s, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  std::optional<std::string> opt_text(int col) const {
    if (sqlite3_column_type(s, col) == SQLITE_NULL) {
      return std::nullopt;
    }
    return text(col);
  }
  std::int64_t i64(int col) const { return sqlite3_column_int64(s, col); }
};

result<std::unique_ptr<snapshot_store>> snapshot_store::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    auto r = fail(db, "open");
    sqlite3_close(db);
    return r.error();
  }
  std::unique_ptr<snapshot_store> s(new snapshot_store(db));
  sqlite3_busy_timeout(db, 5000);
  // WAL + FULL: each commit is durable once it returns, the property the journal relies on.
  VSNAPD_TRY_VOID(s->exec("PRAGMA journal_mode=WAL"));
  VSNAPD_TRY_VOID(s->exec("PRAGMA synchronous=FULL"));
  VSNAPD_TRY_VOID(s->exec(schema_sql));
  return s;
}

snapshot_store::~snapshot_store() { sqlite3_close(db_); }

result<void> snapshot_store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    log::write(log::level::error, "hv",
               std::string("snapshot store: ") + (err ? err : "exec failed"));
    sqlite3_free(err);
    return make_error_code(errc::journal_failed);
  }
  return {};
}

result<snapshot_store::stmt> snapshot_store::prepare(const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
    VSNAPD_TRY_VOID(fail(db_, "prepare"));
  }
  return stmt(st, db_);
}

result<void> snapshot_store::transaction(const std::function<result<void>()>& fn) {
  std::lock_guard lock(mu_);
  if (tx_depth_ > 0) {
    ++tx_depth_;
    auto r = fn();
    --tx_depth_;
    return r;
  }
  VSNAPD_TRY_VOID(exec("BEGIN IMMEDIATE"));
  ++tx_depth_;
  auto r = fn();
  --tx_depth_;
  if (!r) {
    (void)exec("ROLLBACK");
    return r;
  }
  return exec("COMMIT");
}

result<void> snapshot_store::put_image(const image_row& img) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare(
      "INSERT OR REPLACE INTO images(path, vm, disk, backing, snapshot, active) "
      "VALUES(?,?,?,?,?,?)"));
  st.bind(img.path).bind(img.vm).bind(static_cast<std::int64_t>(img.disk)).bind(img.backing);
  st.bind(img.snapshot).bind(static_cast<std::int64_t>(img.active ? 1 : 0));
  return st.run();
}

namespace {
image_row read_image(const auto& st) {
  image_row r;
  r.path = st.text(0);
  r.vm = st.text(1);
  r.disk = static_cast<std::uint32_t>(st.i64(2));
  r.backing = st.opt_text(3);
  r.snapshot = st.opt_text(4);
  r.active = st.i64(5) != 0;
  return r;
}
constexpr const char* image_cols = "SELECT path, vm, disk, backing, snapshot, active FROM images ";
}  // namespace

result<std::optional<image_row>> snapshot_store::image(const std::string& path) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare((std::string(image_cols) + "WHERE path=?").c_str()));
  st.bind(path);
  if (VSNAPD_TRY(st.step())) {
    return std::optional<image_row>(read_image(st));
  }
  return std::optional<image_row>();
}

result<std::vector<image_row>> snapshot_store::images_of(const std::string& vm) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare((std::string(image_cols) + "WHERE vm=? ORDER BY disk, path").c_str()));
  st.bind(vm);
  std::vector<image_row> out;
  while (VSNAPD_TRY(st.step())) {
    out.push_back(read_image(st));
  }
  return out;
}

result<std::vector<image_row>> snapshot_store::children(const std::string& path) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare((std::string(image_cols) + "WHERE backing=? ORDER BY path").c_str()));
  st.bind(path);
  std::vector<image_row> out;
  while (VSNAPD_TRY(st.step())) {
    out.push_back(read_image(st));
  }
  return out;
}

result<std::vector<std::string>> snapshot_store::active_images(const std::string& vm) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("SELECT disk, path FROM images WHERE vm=? AND active=1 ORDER BY disk"));
  st.bind(vm);
  std::vector<std::string> out;
  while (VSNAPD_TRY(st.step())) {
    auto d = static_cast<std::size_t>(st.i64(0));
    if (out.size() <= d) {
      out.resize(d + 1);
    }
    out[d] = st.text(1);
  }
  return out;
}

result<void> snapshot_store::remove_image(const std::string& path) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("DELETE FROM images WHERE path=?"));
  st.bind(path);
  return st.run();
}

result<void> snapshot_store::put_snapshot(const std::string& vm, const snapshot_info& s) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare(
      "INSERT OR REPLACE INTO snapshots(id, vm, parent, name, created_us, type, memory_file, "
      "level, taken_in) VALUES(?,?,?,?,?,?,?,?,?)"));
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(s.created.time_since_epoch());
  st.bind(s.id).bind(vm).bind(s.parent).bind(s.name).bind(static_cast<std::int64_t>(us.count()));
  st.bind(static_cast<std::int64_t>(s.type)).bind(s.memory_file);
  st.bind(static_cast<std::int64_t>(s.level)).bind(static_cast<std::int64_t>(s.taken_in));
  return st.run();
}

result<std::vector<snapshot_info>> snapshot_store::snapshots(const std::string& vm) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare(
      "SELECT id, parent, name, created_us, type, memory_file, level, taken_in FROM snapshots "
      "WHERE vm=? ORDER BY created_us, id"));
  st.bind(vm);
  std::vector<snapshot_info> all;
  while (VSNAPD_TRY(st.step())) {
    snapshot_info s;
    s.id = st.text(0);
    s.parent = st.opt_text(1);
    s.name = st.text(2);
    s.created = std::chrono::system_clock::time_point(std::chrono::microseconds(st.i64(3)));
    s.type = static_cast<snapshot_type>(st.i64(4));
    s.memory_file = st.opt_text(5);
    s.level = static_cast<consistency>(st.i64(6));
    s.taken_in = static_cast<vm_state>(st.i64(7));
    all.push_back(std::move(s));
  }
  auto img = VSNAPD_TRY(prepare(
      "SELECT snapshot, path FROM images WHERE vm=? AND snapshot IS NOT NULL ORDER BY disk"));
  img.bind(vm);
  std::map<std::string, std::vector<std::string>> disks;
  while (VSNAPD_TRY(img.step())) {
    disks[img.text(0)].push_back(img.text(1));
  }
  for (auto& s : all) {
    s.disk_images = disks[s.id];
  }
  // Creation order already puts parents first (a child is always newer than its parent).
  return all;
}

result<std::optional<snapshot_info>> snapshot_store::snapshot(const std::string& vm,
                                                              const std::string& id) {
  auto all = VSNAPD_TRY(snapshots(vm));
  for (auto& s : all) {
    if (s.id == id) {
      return std::optional<snapshot_info>(std::move(s));
    }
  }
  return std::optional<snapshot_info>();
}

result<void> snapshot_store::remove_snapshot(const std::string& id) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("DELETE FROM snapshots WHERE id=?"));
  st.bind(id);
  VSNAPD_TRY_VOID(st.run());
  auto im = VSNAPD_TRY(prepare("UPDATE images SET snapshot=NULL WHERE snapshot=?"));
  im.bind(id);
  VSNAPD_TRY_VOID(im.run());
  auto cur = VSNAPD_TRY(prepare("UPDATE current SET snapshot=NULL WHERE snapshot=?"));
  cur.bind(id);
  return cur.run();
}

result<void> snapshot_store::rename_snapshot(const std::string& id, const std::string& name) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("UPDATE snapshots SET name=? WHERE id=?"));
  st.bind(name).bind(id);
  return st.run();
}

result<void> snapshot_store::clear_memory_state(const std::string& id) {
  std::lock_guard lock(mu_);
  static const std::string sql = "UPDATE snapshots SET memory_file=NULL, type=" +
                                 std::to_string(static_cast<int>(snapshot_type::disk)) +
                                 " WHERE id=?";
  auto st = VSNAPD_TRY(prepare(sql.c_str()));
  st.bind(id);
  return st.run();
}

result<void> snapshot_store::reparent(const std::string& id,
                                      const std::optional<std::string>& new_parent) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("UPDATE snapshots SET parent=? WHERE parent=?"));
  st.bind(new_parent).bind(id);
  return st.run();
}

result<std::optional<std::string>> snapshot_store::current(const std::string& vm) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("SELECT snapshot FROM current WHERE vm=?"));
  st.bind(vm);
  if (VSNAPD_TRY(st.step())) {
    return st.opt_text(0);
  }
  return std::optional<std::string>();
}

result<void> snapshot_store::set_current(const std::string& vm,
                                         const std::optional<std::string>& id) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("INSERT OR REPLACE INTO current(vm, snapshot) VALUES(?,?)"));
  st.bind(vm).bind(id);
  return st.run();
}

result<void> snapshot_store::forget_vm(const std::string& vm) {
  std::lock_guard lock(mu_);
  for (const char* sql : {"DELETE FROM images WHERE vm=?", "DELETE FROM snapshots WHERE vm=?",
                          "DELETE FROM current WHERE vm=?", "DELETE FROM journal WHERE vm=?"}) {
    auto st = VSNAPD_TRY(prepare(sql));
    st.bind(vm);
    VSNAPD_TRY_VOID(st.run());
  }
  return {};
}

result<std::int64_t> snapshot_store::journal_begin(const std::string& vm, const std::string& kind,
                                                   const std::string& payload) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("INSERT INTO journal(vm, kind, step, payload) VALUES(?,?,0,?)"));
  st.bind(vm).bind(kind).bind(payload);
  VSNAPD_TRY_VOID(st.run());
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
}

result<void> snapshot_store::journal_step(std::int64_t op, std::int64_t step) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("UPDATE journal SET step=? WHERE op=?"));
  st.bind(step).bind(op);
  return st.run();
}

result<void> snapshot_store::journal_end(std::int64_t op) {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("DELETE FROM journal WHERE op=?"));
  st.bind(op);
  return st.run();
}

result<std::vector<journal_entry>> snapshot_store::journal() {
  std::lock_guard lock(mu_);
  auto st = VSNAPD_TRY(prepare("SELECT op, vm, kind, step, payload FROM journal ORDER BY op"));
  std::vector<journal_entry> out;
  while (VSNAPD_TRY(st.step())) {
    out.push_back({st.i64(0), st.text(1), st.text(2), st.i64(3), st.text(4)});
  }
  return out;
}

}  // namespace vsnapd::hv::qemu
