#include "cimom/persistence/instance_store.hpp"

#include "tests/cimom/persistence/temp_dir.hpp"

#include "tests/cimom/catch_result.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <atomic>
#include <csignal>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace vsnapd::cim;
using vsnapd::cim::persistence::instance_store;
using vsnapd::cim::persistence::store_options;

namespace {

constexpr const char* ns = "root/virtualization/v2";

object_path vssd_path(int n) {
  object_path p(ns, "Msvm_VirtualSystemSnapshotSettingData");
  p.set_key("InstanceID", value(std::string_view("Microsoft:snap-" + std::to_string(n))));
  return p;
}

instance vssd(int n, std::string_view generation) {
  instance i("Msvm_VirtualSystemSnapshotSettingData");
  i.set("InstanceID", value(std::string_view("Microsoft:snap-" + std::to_string(n))));
  i.set("ElementName", value(generation));
  // ~1 KiB per row, so a long transaction spills pages into the WAL before it commits.
  i.set("Notes", value(std::string_view(std::string(1000, static_cast<char>('a' + n % 26)))));
  i.set("Index", value(scalar(static_cast<std::uint32_t>(n))));
  return i;
}

std::unique_ptr<instance_store> open_store(const std::string& file, std::size_t batch = 256) {
  auto s = instance_store::open(store_options{file, std::chrono::milliseconds(5000), batch});
  REQUIRE(s);
  return std::move(*s);
}

std::vector<instance> drain(instance_cursor& c, std::size_t max) {
  std::vector<instance> out;
  for (bool more = true; more;) {
    auto r = c.next(out, max);
    REQUIRE(r);
    more = *r;
  }
  return out;
}

std::string generation_of(instance_store& s, int n) {
  auto got = s.get(vssd_path(n));
  REQUIRE(got);
  REQUIRE(got->has_value());
  return *(*got)->get("ElementName")->get_if<std::string>();
}

}  // namespace

TEST_CASE("instance_store: put, get, overwrite and erase by canonical path",
          "[cimom][persistence][store]") {
  vsnapd::test::temp_dir dir;
  auto s = open_store(dir.file("state.db"));
  REQUIRE(s->put(vssd_path(1), vssd(1, "one")));
  CHECK(generation_of(*s, 1) == "one");
  REQUIRE(s->put(vssd_path(1), vssd(1, "two")));
  CHECK(generation_of(*s, 1) == "two");
  CHECK(*s->count(ns, "Msvm_VirtualSystemSnapshotSettingData") == 1);

  // Namespace, class and key names are case-insensitive (with either separator); values are not.
  object_path other_case("ROOT\\Virtualization\\V2", "msvm_virtualsystemsnapshotsettingdata");
  other_case.set_key("instanceid", value("Microsoft:snap-1"));
  auto got = s->get(other_case);
  REQUIRE(got);
  CHECK(got->has_value());
  object_path other_value = vssd_path(1);
  other_value.set_key("InstanceID", value("MICROSOFT:SNAP-1"));
  CHECK_FALSE(s->get(other_value)->has_value());

  CHECK(*s->erase(vssd_path(1)) == true);
  CHECK(*s->erase(vssd_path(1)) == false);
  CHECK_FALSE(s->get(vssd_path(1))->has_value());
  CHECK(*s->count(ns, "") == 0);
}

TEST_CASE("instance_store: data survives closing and reopening", "[cimom][persistence][store]") {
  vsnapd::test::temp_dir dir;
  {
    auto s = open_store(dir.file("state.db"));
    REQUIRE(s->put(vssd_path(7), vssd(7, "kept")));
  }
  auto s = open_store(dir.file("state.db"));
  CHECK(generation_of(*s, 7) == "kept");
}

TEST_CASE("instance_store: enumeration is a batched cursor of exactly one class",
          "[cimom][persistence][store]") {
  vsnapd::test::temp_dir dir;
  auto s = open_store(dir.file("state.db"), 16);
  {
    auto tx = s->begin();
    REQUIRE(tx);
    for (int n = 0; n < 100; ++n) {
      REQUIRE(tx->put(vssd_path(n), vssd(n, "g1")));
    }
    object_path other(ns, "Msvm_ComputerSystem");
    other.set_key("Name", value("vm"));
    REQUIRE(tx->put(other, instance("Msvm_ComputerSystem")));
    object_path elsewhere = vssd_path(1000);
    elsewhere.set_ns("root/cimv2");
    REQUIRE(tx->put(elsewhere, vssd(1000, "g1")));
    REQUIRE(tx->commit());
  }
  auto cur = s->enumerate(ns, "MSVM_VirtualSystemSnapshotSettingData");
  REQUIRE(cur);
  std::vector<instance> batch;
  auto more = (*cur)->next(batch, 7);
  REQUIRE(more);
  CHECK(*more);
  CHECK(batch.size() == 7);  // never more than asked
  batch.clear();
  // Rows written while the cursor is open are updated in place: no row comes back twice.
  for (int n = 0; n < 100; ++n) {
    REQUIRE(s->put(vssd_path(n), vssd(n, "g2")));
  }
  auto rest = drain(**cur, 1000);
  CHECK(rest.size() == 93);
  std::set<std::uint32_t> seen;
  for (const auto& i : rest) {
    CHECK(seen.insert(*i.get("Index")->get_if<std::uint32_t>()).second);
    CHECK(*i.get("ElementName")->get_if<std::string>() == "g2");
  }
  CHECK(seen.count(0) == 0);
  CHECK(seen.count(99) == 1);
  auto none = s->enumerate("root/interop", "Msvm_VirtualSystemSnapshotSettingData");
  CHECK(drain(**none, 10).empty());
}

TEST_CASE("instance_store: a transaction commits all or nothing", "[cimom][persistence][store]") {
  vsnapd::test::temp_dir dir;
  auto s = open_store(dir.file("state.db"));
  REQUIRE(s->put(vssd_path(1), vssd(1, "old")));
  SECTION("explicit rollback") {
    auto tx = s->begin();
    REQUIRE(tx);
    REQUIRE(tx->put(vssd_path(1), vssd(1, "new")));
    REQUIRE(tx->put(vssd_path(2), vssd(2, "new")));
    tx->rollback();
    CHECK_FALSE(tx->put(vssd_path(3), vssd(3, "late")));  // finished transactions refuse work
  }
  SECTION("destroyed without commit") {
    auto tx = s->begin();
    REQUIRE(tx);
    REQUIRE(tx->put(vssd_path(1), vssd(1, "new")));
    REQUIRE(*tx->erase(vssd_path(1)));
    REQUIRE(tx->put(vssd_path(2), vssd(2, "new")));
  }
  CHECK(generation_of(*s, 1) == "old");
  CHECK_FALSE(s->get(vssd_path(2))->has_value());

  auto tx = s->begin();
  REQUIRE(tx);
  REQUIRE(tx->put(vssd_path(1), vssd(1, "new")));
  REQUIRE(tx->put(vssd_path(2), vssd(2, "new")));
  REQUIRE(tx->commit());
  CHECK_FALSE(tx->commit());
  CHECK(generation_of(*s, 1) == "new");
  CHECK(generation_of(*s, 2) == "new");
}

TEST_CASE("instance_store: other threads wait for an open transaction",
          "[cimom][persistence][store]") {
  vsnapd::test::temp_dir dir;
  auto s = open_store(dir.file("state.db"));
  auto tx = s->begin();
  REQUIRE(tx);
  REQUIRE(tx->put(vssd_path(1), vssd(1, "batch")));
  std::string seen;
  std::thread reader([&] {
    // Blocks until the commit below: it can only ever see the committed batch.
    auto got = s->get(vssd_path(1));
    if (got && got->has_value()) {
      seen = *(*got)->get("ElementName")->get_if<std::string>();
    }
  });
  REQUIRE(tx->put(vssd_path(2), vssd(2, "batch")));
  REQUIRE(tx->commit());
  reader.join();
  CHECK(seen == "batch");
}

TEST_CASE("instance_store: WAL mode, synchronous FULL and the schema version are in effect",
          "[cimom][persistence][store]") {
  vsnapd::test::temp_dir dir;
  const std::string file = dir.file("state.db");
  { auto s = open_store(file); }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  const auto scalar_of = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    std::string out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  };
  CHECK(scalar_of("PRAGMA journal_mode") == "wal");  // persistent in the file
  CHECK(scalar_of("SELECT version FROM schema_version") == "1");
  // A layout written by a newer vsnapd is refused, not misread.
  REQUIRE(sqlite3_exec(db, "UPDATE schema_version SET version = 2", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
  auto s = instance_store::open(store_options{file});
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().description, Catch::Contains("layout version 2"));
}

TEST_CASE("instance_store: unopenable files and corrupt rows are errors that name the file",
          "[cimom][persistence][store]") {
  vsnapd::test::temp_dir dir;
  auto bad = instance_store::open(store_options{dir.file("no/such/dir/state.db")});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == errc::failed);
  CHECK_THAT(bad.error().description, Catch::Contains("no/such/dir/state.db"));

  const std::string file = dir.file("state.db");
  {
    auto s = open_store(file);
    REQUIRE(s->put(vssd_path(1), vssd(1, "x")));
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE instances SET data = x'564349010163'", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto s = open_store(file);
  auto got = s->get(vssd_path(1));
  REQUIRE_FALSE(got);
  CHECK_THAT(got.error().description, Catch::Contains("corrupt instance record"));
  auto cur = s->enumerate(ns, "Msvm_VirtualSystemSnapshotSettingData");
  std::vector<instance> batch;
  CHECK_FALSE((*cur)->next(batch, 10));
}

TEST_CASE("instance_store: a second connection reads during a write and reports a held lock",
          "[cimom][persistence][store]") {
  vsnapd::test::temp_dir dir;
  const std::string file = dir.file("state.db");
  auto writer = open_store(file);
  REQUIRE(writer->put(vssd_path(1), vssd(1, "old")));
  auto impatient = instance_store::open(store_options{file, std::chrono::milliseconds(0)});
  REQUIRE(impatient);
  auto tx = writer->begin();
  REQUIRE(tx);
  REQUIRE(tx->put(vssd_path(1), vssd(1, "new")));
  // WAL: a reader on another connection is not blocked and sees the last committed state.
  CHECK(generation_of(**impatient, 1) == "old");
  // Without a busy timeout a second writer fails at once, with SQLite's reason.
  auto refused = (*impatient)->put(vssd_path(2), vssd(2, "other"));
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().description, Catch::Contains("locked"));
  REQUIRE(tx->commit());
  REQUIRE((*impatient)->put(vssd_path(2), vssd(2, "other")));
  CHECK(generation_of(**impatient, 1) == "new");
  // With one, a writer waits for the lock instead of failing.
  auto patient = open_store(file);
  auto tx2 = writer->begin();
  REQUIRE(tx2);
  std::atomic<bool> ok{false};
  std::thread second([&] { ok = patient->put(vssd_path(3), vssd(3, "waited")).has_value(); });
  REQUIRE(tx2->commit());
  second.join();
  CHECK(ok);
}

namespace {

// Runs `child` in a forked process that reports progress over a pipe; returns the pipe's read end.
struct child_process {
  pid_t pid = -1;
  int from_child = -1;
};

template <class F>
child_process fork_child(F child) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1]);
    ::_exit(0);  // never return into Catch2 in the child
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// Blocks until the child writes one byte; a generous read, not a sleep.
char read_byte(int fd) {
  char c = 0;
  REQUIRE(::read(fd, &c, 1) == 1);
  return c;
}

void kill_child(const child_process& c) {
  REQUIRE(::kill(c.pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(c.pid, &status, 0) == c.pid);
  CHECK(WIFSIGNALED(status));
  ::close(c.from_child);
}

constexpr int rows = 2000;

}  // namespace

TEST_CASE("instance_store: SIGKILL in the middle of a long transaction leaves the old state",
          "[cimom][persistence][store][crash]") {
  vsnapd::test::temp_dir dir;
  const std::string file = dir.file("state.db");
  {
    auto s = open_store(file);
    auto tx = s->begin();
    REQUIRE(tx);
    for (int n = 0; n < rows; ++n) {
      REQUIRE(tx->put(vssd_path(n), vssd(n, "old")));
    }
    REQUIRE(tx->commit());
  }
  const auto child = fork_child([&](int to_parent) {
    auto s = instance_store::open(store_options{file});
    if (!s) {
      ::_exit(2);
    }
    auto tx = (*s)->begin();
    if (!tx) {
      ::_exit(3);
    }
    // Rewrite every row and add as many again (about 4 MB: more than SQLite's page cache,
    // so dirty pages spill into the WAL before any commit record exists).
    for (int n = 0; n < 2 * rows; ++n) {
      if (!tx->put(vssd_path(n), vssd(n, "new"))) {
        ::_exit(4);
      }
    }
    const char c = 'w';
    (void)::write(to_parent, &c, 1);
    ::pause();  // killed here, transaction open
  });
  CHECK(read_byte(child.from_child) == 'w');
  // The uncommitted frames really reached the file: the kill interrupts a spilled transaction.
  CHECK(std::filesystem::file_size(file + "-wal") > 1000000);
  kill_child(child);

  auto s = open_store(file);
  CHECK(*s->count(ns, "Msvm_VirtualSystemSnapshotSettingData") == rows);
  for (int n : {0, 1, rows / 2, rows - 1}) {
    CHECK(generation_of(*s, n) == "old");
  }
  CHECK_FALSE(s->get(vssd_path(rows))->has_value());
}

TEST_CASE("instance_store: SIGKILL right after commit returns keeps the new state",
          "[cimom][persistence][store][crash]") {
  vsnapd::test::temp_dir dir;
  const std::string file = dir.file("state.db");
  {
    auto s = open_store(file);
    REQUIRE(s->put(vssd_path(0), vssd(0, "old")));
  }
  const auto child = fork_child([&](int to_parent) {
    auto s = instance_store::open(store_options{file});
    if (!s) {
      ::_exit(2);
    }
    auto tx = (*s)->begin();
    if (!tx) {
      ::_exit(3);
    }
    for (int n = 0; n < rows; ++n) {
      if (!tx->put(vssd_path(n), vssd(n, "new"))) {
        ::_exit(4);
      }
    }
    // Flush barrier under test: commit() returns only after the WAL commit is fsync'ed, so
    // the parent may kill us the moment it hears about it.
    const char c = tx->commit() ? 'c' : 'f';
    (void)::write(to_parent, &c, 1);
    ::pause();
  });
  CHECK(read_byte(child.from_child) == 'c');
  kill_child(child);

  auto s = open_store(file);
  CHECK(*s->count(ns, "Msvm_VirtualSystemSnapshotSettingData") == rows);
  for (int n : {0, rows / 3, rows - 1}) {
    CHECK(generation_of(*s, n) == "new");
  }
}
