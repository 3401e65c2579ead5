#pragma once
// The instance store: CIM instances that are not computed live (snapshot metadata, jobs, profile
// data) kept in one SQLite database in the state directory, keyed by namespace and canonical
// object path, so that a crash at any moment leaves either the old or the new state.
//
// Durability choices (see instance_store.cpp for the reasoning):
//   - journal_mode=WAL: readers never block the writer, and a torn transaction is just WAL
//     frames without a commit record, which recovery ignores;
//   - synchronous=FULL: the WAL is fsync'ed at every commit, so once commit() returns the new
//     state survives a power loss too (NORMAL would only survive a process crash);
//   - busy_timeout: another process holding the lock (an offline tool) is waited for, not failed.
// A `schema_version` table records the layout; a database written by a newer layout is refused.
//
// Thread safety: every member may be called from any thread. The store has one connection and
// one mutex; a `transaction` holds that mutex from begin() until commit() or destruction, so
// other threads' calls wait (the calling thread must use only the transaction meanwhile, or it
// deadlocks).

#include "cimom/error.hpp"
#include "cimom/instance.hpp"
#include "cimom/object_path.hpp"
#include "cimom/provider.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;

namespace vsnapd::cim::persistence {

/// Where and how to open the store.
struct store_options {
  std::string file;                              ///< database file; created when missing
  std::chrono::milliseconds busy_timeout{5000};  ///< wait this long for another process's lock
  std::size_t enumerate_batch = 256;             ///< rows fetched per cursor query
};

/// The store's layout version (the `schema_version` table).
inline constexpr int store_schema_version = 1;

class instance_store {
 public:
  class transaction;

  /// Opens (creating when missing) the database, sets WAL/FULL, and checks the layout version.
  /// @return the store, or errc::failed naming the file and SQLite's message.
  [[nodiscard]] static result<std::unique_ptr<instance_store>> open(store_options options);
  ~instance_store();
  instance_store(const instance_store&) = delete;
  instance_store& operator=(const instance_store&) = delete;

  /// Writes (inserts or replaces) the instance at `path`; namespace and class come from `path`.
  /// One implicit transaction.
  [[nodiscard]] result<void> put(const object_path& path, const instance& inst);
  /// The instance at `path`, or nullopt when absent; errc::failed on a corrupt record.
  [[nodiscard]] result<std::optional<instance>> get(const object_path& path);
  /// Deletes the instance at `path`. @return false when there was none.
  [[nodiscard]] result<bool> erase(const object_path& path);
  /// The instances of exactly `class_name` in `ns` (case-insensitive), as a pull cursor that
  /// reads `enumerate_batch` rows per query: memory stays bounded, and concurrent writes made
  /// meanwhile are seen or not, but no row is returned twice. The store must outlive the cursor.
  [[nodiscard]] result<std::unique_ptr<instance_cursor>> enumerate(std::string_view ns,
                                                                   std::string_view class_name);
  /// The number of stored instances of `class_name` in `ns` (all classes when empty).
  [[nodiscard]] result<std::uint64_t> count(std::string_view ns, std::string_view class_name);

  /// Starts a batch: every put/erase through the returned object commits together or not at all.
  [[nodiscard]] result<transaction> begin();

  /// The key a path is stored under: folded namespace, class and key names, canonical values.
  static std::string storage_key(const object_path& path);

  /// A batch of writes; rolls back on destruction unless committed. Holds the store's lock, so
  /// it must be finished (committed, rolled back or destroyed) on the thread that began it.
  class transaction {
   public:
    transaction(transaction&& other) noexcept;
    transaction& operator=(transaction&&) = delete;
    ~transaction();

    [[nodiscard]] result<void> put(const object_path& path, const instance& inst);
    [[nodiscard]] result<bool> erase(const object_path& path);
    /// Commits (fsync'ed before returning, synchronous=FULL). The transaction is then finished.
    [[nodiscard]] result<void> commit();
    /// Rolls back explicitly; also done by the destructor.
    void rollback();

   private:
    friend class instance_store;
    transaction(instance_store* store, std::unique_lock<std::mutex> lock);
    instance_store* store_;
    std::unique_lock<std::mutex> lock_;
    bool open_;
  };

 private:
  class cursor_impl;
  struct statements;
  explicit instance_store(store_options options);

  result<void> init();
  result<void> exec(const char* sql);
  result<void> put_locked(const object_path& path, const instance& inst);
  result<bool> erase_locked(const object_path& path);
  error sqlite_error(std::string_view what) const;

  store_options options_;
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<statements> stmts_;
};

}  // namespace vsnapd::cim::persistence
