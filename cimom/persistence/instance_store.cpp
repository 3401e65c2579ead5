#include "cimom/persistence/instance_store.hpp"

#include "cimom/name.hpp"
#include "cimom/persistence/instance_codec.hpp"
#include "common/assert.hpp"
#include "common/c_handle.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace vsnapd::cim::persistence {

using stmt_handle = c_handle<sqlite3_stmt, sqlite3_finalize>;

// Prepared once per connection; every use resets and clears bindings first.
struct instance_store::statements {
  stmt_handle put, get, erase, enumerate, count_class, count_all, begin, commit, rollback;
};

namespace {

// Resets a statement after use even on an early return, so it never holds a read snapshot
// open (a live statement would keep the WAL from being checkpointed).
struct stmt_use {
  sqlite3_stmt* s;
  explicit stmt_use(sqlite3_stmt* st) : s(st) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
  ~stmt_use() { sqlite3_reset(s); }
  stmt_use(const stmt_use&) = delete;
  stmt_use& operator=(const stmt_use&) = delete;
};

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string_view column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p == nullptr ? std::string_view() : std::string_view(p, sqlite3_column_bytes(s, i));
}

std::string_view column_blob(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
  return p == nullptr ? std::string_view() : std::string_view(p, sqlite3_column_bytes(s, i));
}

std::string ns_key(std::string_view ns) { return fold_name(normalize_namespace(ns)); }

}  // namespace

// Reads one batch per next() with a keyset query (id > last), so no statement stays open
// between calls and rows updated in place (upsert keeps the id) are never returned twice.
class instance_store::cursor_impl final : public instance_cursor {
 public:
  cursor_impl(instance_store* store, std::string ns, std::string cls)
      : store_(store), ns_(std::move(ns)), class_(std::move(cls)) {}

  result<bool> next(std::vector<instance>& batch, std::size_t max) override {
    if (done_) {
      return false;
    }
    const std::size_t want = std::min(max, store_->options_.enumerate_batch);
    std::lock_guard lock(store_->mutex_);
    sqlite3_stmt* s = store_->stmts_->enumerate.get();
    stmt_use use(s);
    bind_text(s, 1, ns_);
    bind_text(s, 2, class_);
    sqlite3_bind_int64(s, 3, last_id_);
    sqlite3_bind_int64(s, 4, static_cast<sqlite3_int64>(want));
    std::size_t got = 0;
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) {
        break;
      }
      if (rc != SQLITE_ROW) {
        return store_->sqlite_error("enumerating " + ns_ + ":" + class_);
      }
      last_id_ = sqlite3_column_int64(s, 0);
      auto inst = decode_instance(column_blob(s, 1));
      if (!inst) {
        return fail(errc::failed, "stored instance " + std::string(column_text(s, 2)) + ": " +
                                      inst.error().description);
      }
      batch.push_back(std::move(*inst));
      ++got;
    }
    // Fewer rows than asked means the end; a full batch may be followed by more.
    done_ = got < want;
    return !done_;
  }

 private:
  instance_store* store_;
  std::string ns_;
  std::string class_;
  sqlite3_int64 last_id_ = 0;
  bool done_ = false;
};

instance_store::instance_store(store_options options)
    : options_(std::move(options)), stmts_(std::make_unique<statements>()) {}

instance_store::~instance_store() {
  stmts_.reset();  // statements must be finalized before the connection closes
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
  }
}

error instance_store::sqlite_error(std::string_view what) const {
  return fail(errc::failed, std::string(what) + " in " + options_.file + ": " +
                                (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory"));
}

result<void> instance_store::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg != nullptr ? msg : "unknown error";
    sqlite3_free(msg);
    return fail(errc::failed, "'" + std::string(sql) + "' in " + options_.file + ": " + text);
  }
  return {};
}

result<std::unique_ptr<instance_store>> instance_store::open(store_options options) {
  if (options.enumerate_batch == 0) {
    options.enumerate_batch = 1;
  }
  std::unique_ptr<instance_store> store(new instance_store(std::move(options)));
  VSNAPD_TRY_VOID(store->init());
  return store;
}

result<void> instance_store::init() {
  // FULLMUTEX is belt and braces: our own mutex already serializes every use of the connection.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(options_.file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    return sqlite_error("cannot open the instance store");
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(options_.busy_timeout.count()));

  // WAL must be confirmed, not assumed: the pragma answers with the mode actually in effect
  // (a file system without shared memory support silently stays in "delete" mode).
  {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &raw, nullptr) != SQLITE_OK) {
      return sqlite_error("cannot set journal_mode");
    }
    stmt_handle s(raw);
    if (sqlite3_step(s.get()) != SQLITE_ROW || !iequals(column_text(s.get(), 0), "wal")) {
      return fail(errc::failed, "the instance store " + options_.file +
                                    " cannot use write-ahead logging (journal_mode is " +
                                    std::string(column_text(s.get(), 0)) + ")");
    }
  }
  // FULL, not NORMAL: with WAL, NORMAL skips the fsync at commit, so a power loss could undo
  // a job state or snapshot record that a client was already told about. Commits here are a
  // few per snapshot operation, so the fsync costs nothing that matters.
  VSNAPD_TRY_VOID(exec("PRAGMA synchronous=FULL"));

  // Layout and version check in one write transaction: two daemons starting on the same
  // file cannot both create the tables or both insert a version row.
  VSNAPD_TRY_VOID(exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> result<void> {
    VSNAPD_TRY_VOID(exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"));
    VSNAPD_TRY_VOID(
        exec("CREATE TABLE IF NOT EXISTS instances("
             " id INTEGER PRIMARY KEY,"    // rowid alias: stable across upserts, the cursor's order
             " ns TEXT NOT NULL,"          // folded namespace
             " class TEXT NOT NULL,"       // folded class name
             " key TEXT NOT NULL UNIQUE,"  // storage_key(path)
             " data BLOB NOT NULL)"));     // encode_instance
    VSNAPD_TRY_VOID(
        exec("CREATE INDEX IF NOT EXISTS instances_by_class ON instances(ns, class, id)"));
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT max(version) FROM schema_version", -1, &raw, nullptr) !=
        SQLITE_OK) {
      return sqlite_error("cannot read schema_version");
    }
    stmt_handle s(raw);
    if (sqlite3_step(s.get()) != SQLITE_ROW) {
      return sqlite_error("cannot read schema_version");
    }
    if (sqlite3_column_type(s.get(), 0) == SQLITE_NULL) {
      s.reset();
      return exec("INSERT INTO schema_version(version) VALUES (1)");
    }
    const auto version = sqlite3_column_int64(s.get(), 0);
    if (version != store_schema_version) {
      return fail(errc::failed, "the instance store " + options_.file + " has layout version " +
                                    std::to_string(version) + "; this vsnapd reads version " +
                                    std::to_string(store_schema_version));
    }
    return {};
  };
  if (auto r = body(); !r) {
    (void)exec("ROLLBACK");
    return r;
  }
  VSNAPD_TRY_VOID(exec("COMMIT"));

  const auto prepare = [&](stmt_handle& h, const char* sql) -> result<void> {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      return sqlite_error(std::string("cannot prepare '") + sql + "'");
    }
    h.reset(raw);
    return {};
  };
  VSNAPD_TRY_VOID(
      prepare(stmts_->put,
              "INSERT INTO instances(ns, class, key, data) VALUES (?1, ?2, ?3, ?4) "
              "ON CONFLICT(key) DO UPDATE SET class = excluded.class, data = excluded.data"));
  VSNAPD_TRY_VOID(prepare(stmts_->get, "SELECT data FROM instances WHERE key = ?1"));
  VSNAPD_TRY_VOID(prepare(stmts_->erase, "DELETE FROM instances WHERE key = ?1"));
  VSNAPD_TRY_VOID(
      prepare(stmts_->enumerate,
              "SELECT id, data, key FROM instances WHERE ns = ?1 AND class = ?2 AND id > ?3 "
              "ORDER BY id LIMIT ?4"));
  VSNAPD_TRY_VOID(
      prepare(stmts_->count_class, "SELECT count(*) FROM instances WHERE ns = ?1 AND class = ?2"));
  VSNAPD_TRY_VOID(prepare(stmts_->count_all, "SELECT count(*) FROM instances WHERE ns = ?1"));
  // IMMEDIATE takes the write lock at BEGIN, so a batch never fails half-way with SQLITE_BUSY
  // on its first write after reading (the deferred-transaction upgrade deadlock).
  VSNAPD_TRY_VOID(prepare(stmts_->begin, "BEGIN IMMEDIATE"));
  VSNAPD_TRY_VOID(prepare(stmts_->commit, "COMMIT"));
  VSNAPD_TRY_VOID(prepare(stmts_->rollback, "ROLLBACK"));
  return {};
}

std::string instance_store::storage_key(const object_path& path) {
  object_path key(ns_key(path.ns()), fold_name(path.class_name()));
  key.set_singleton(path.is_singleton());
  for (const auto& k : path.keys()) {
    key.set_key(fold_name(k.name), k.v);
  }
  return key.to_string();
}

result<void> instance_store::put_locked(const object_path& path, const instance& inst) {
  sqlite3_stmt* s = stmts_->put.get();
  stmt_use use(s);
  const std::string key = storage_key(path);
  const std::string data = encode_instance(inst);
  bind_text(s, 1, ns_key(path.ns()));
  bind_text(s, 2, fold_name(path.class_name()));
  bind_text(s, 3, key);
  sqlite3_bind_blob(s, 4, data.data(), static_cast<int>(data.size()), SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_DONE) {
    return sqlite_error("cannot store " + key);
  }
  return {};
}

result<bool> instance_store::erase_locked(const object_path& path) {
  sqlite3_stmt* s = stmts_->erase.get();
  stmt_use use(s);
  const std::string key = storage_key(path);
  bind_text(s, 1, key);
  if (sqlite3_step(s) != SQLITE_DONE) {
    return sqlite_error("cannot delete " + key);
  }
  return sqlite3_changes(db_) > 0;
}

result<void> instance_store::put(const object_path& path, const instance& inst) {
  std::lock_guard lock(mutex_);
  return put_locked(path, inst);
}

result<std::optional<instance>> instance_store::get(const object_path& path) {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* s = stmts_->get.get();
  stmt_use use(s);
  const std::string key = storage_key(path);
  bind_text(s, 1, key);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) {
    return std::optional<instance>();
  }
  if (rc != SQLITE_ROW) {
    return sqlite_error("cannot read " + key);
  }
  auto inst = decode_instance(column_blob(s, 0));
  if (!inst) {
    return fail(errc::failed, "stored instance " + key + ": " + inst.error().description);
  }
  return std::optional<instance>(std::move(*inst));
}

result<bool> instance_store::erase(const object_path& path) {
  std::lock_guard lock(mutex_);
  return erase_locked(path);
}

result<std::unique_ptr<instance_cursor>> instance_store::enumerate(std::string_view ns,
                                                                   std::string_view class_name) {
  return std::unique_ptr<instance_cursor>(
      std::make_unique<cursor_impl>(this, ns_key(ns), fold_name(class_name)));
}

result<std::uint64_t> instance_store::count(std::string_view ns, std::string_view class_name) {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* s = class_name.empty() ? stmts_->count_all.get() : stmts_->count_class.get();
  stmt_use use(s);
  bind_text(s, 1, ns_key(ns));
  if (!class_name.empty()) {
    bind_text(s, 2, fold_name(class_name));
  }
  if (sqlite3_step(s) != SQLITE_ROW) {
    return sqlite_error("cannot count instances");
  }
  return static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
}

result<instance_store::transaction> instance_store::begin() {
  std::unique_lock lock(mutex_);
  sqlite3_stmt* s = stmts_->begin.get();
  stmt_use use(s);
  if (sqlite3_step(s) != SQLITE_DONE) {
    return sqlite_error("cannot begin a transaction");
  }
  return transaction(this, std::move(lock));
}

// instance_store::transaction

instance_store::transaction::transaction(instance_store* store, std::unique_lock<std::mutex> lock)
    : store_(store), lock_(std::move(lock)), open_(true) {}

instance_store::transaction::transaction(transaction&& other) noexcept
    : store_(other.store_),
      lock_(std::move(other.lock_)),
      open_(std::exchange(other.open_, false)) {}

instance_store::transaction::~transaction() { rollback(); }

result<void> instance_store::transaction::put(const object_path& path, const instance& inst) {
  if (!open_) {
    return fail(errc::failed, "put on a finished transaction");
  }
  return store_->put_locked(path, inst);
}

result<bool> instance_store::transaction::erase(const object_path& path) {
  if (!open_) {
    return fail(errc::failed, "erase on a finished transaction");
  }
  return store_->erase_locked(path);
}

result<void> instance_store::transaction::commit() {
  if (!open_) {
    return fail(errc::failed, "commit of a finished transaction");
  }
  sqlite3_stmt* s = store_->stmts_->commit.get();
  stmt_use use(s);
  // Flush barrier: with synchronous=FULL, COMMIT returns only after the WAL frames and their
  // commit record are fsync'ed; callers may tell clients about the new state after this.
  if (sqlite3_step(s) != SQLITE_DONE) {
    auto e = store_->sqlite_error("cannot commit");
    rollback();
    return e;
  }
  open_ = false;
  lock_.unlock();
  return {};
}

void instance_store::transaction::rollback() {
  if (!open_) {
    return;
  }
  open_ = false;
  sqlite3_stmt* s = store_->stmts_->rollback.get();
  stmt_use use(s);
  // A failed COMMIT may already have rolled back; ROLLBACK then reports "no transaction is
  // active", which is the state we want.
  (void)sqlite3_step(s);
  lock_.unlock();
}

}  // namespace vsnapd::cim::persistence
