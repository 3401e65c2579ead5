#include "hypervisor/qemu/snapshot_store.hpp"
#include "hypervisor/errc.hpp"

#include <catch2/catch.hpp>

#include "qmp_test_util.hpp"

using namespace vsnapd::hv;
using namespace vsnapd::hv::qemu;

namespace {
snapshot_info snap(std::string id, std::optional<std::string> parent, int t) {
  snapshot_info s;
  s.id = std::move(id);
  s.parent = std::move(parent);
  s.name = "n-" + s.id;
  s.created = std::chrono::system_clock::time_point(std::chrono::seconds(1000 + t));
  return s;
}
}  // namespace

TEST_CASE("snapshot_store: tree, images and current survive a reopen", "[hypervisor][snapshot_store]") {
  test::temp_dir dir;
  auto db = (dir.path / "h.sqlite").string();
  {
    auto s = snapshot_store::open(db);
    REQUIRE(s);
    auto& st = **s;
    REQUIRE(st.transaction([&]() -> vsnapd::result<void> {
      VSNAPD_TRY_VOID(st.put_image({"/b", "vm", 0, std::nullopt, "s1", false}));
      VSNAPD_TRY_VOID(st.put_image({"/o1", "vm", 0, "/b", "s2", false}));
      VSNAPD_TRY_VOID(st.put_image({"/o2", "vm", 0, "/o1", std::nullopt, true}));
      VSNAPD_TRY_VOID(st.put_snapshot("vm", snap("s1", std::nullopt, 1)));
      VSNAPD_TRY_VOID(st.put_snapshot("vm", snap("s2", "s1", 2)));
      return st.set_current("vm", std::string("s2"));
    }));
  }
  auto s = snapshot_store::open(db);
  REQUIRE(s);
  auto& st = **s;
  auto all = st.snapshots("vm");
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == "s1");
  CHECK((*all)[1].parent == std::optional<std::string>("s1"));
  CHECK((*all)[1].disk_images == std::vector<std::string>{"/o1"});
  CHECK(*st.current("vm") == std::optional<std::string>("s2"));
  CHECK(*st.active_images("vm") == std::vector<std::string>{"/o2"});
  auto kids = st.children("/b");
  REQUIRE(kids);
  REQUIRE(kids->size() == 1);
  CHECK(kids->front().path == "/o1");

  SECTION("removing a snapshot frees its images and moves its children up") {
    REQUIRE(st.transaction([&]() -> vsnapd::result<void> {
      VSNAPD_TRY_VOID(st.reparent("s1", std::nullopt));
      return st.remove_snapshot("s1");
    }));
    auto left = st.snapshots("vm");
    REQUIRE(left->size() == 1);
    CHECK(!left->front().parent);
    CHECK(!(*st.image("/b"))->snapshot);
  }
}

TEST_CASE("snapshot_store: a failed transaction leaves nothing behind", "[hypervisor][snapshot_store]") {
  test::temp_dir dir;
  auto s = snapshot_store::open((dir.path / "h.sqlite").string());
  REQUIRE(s);
  auto& st = **s;
  auto r = st.transaction([&]() -> vsnapd::result<void> {
    VSNAPD_TRY_VOID(st.put_snapshot("vm", snap("x", std::nullopt, 1)));
    VSNAPD_TRY(st.journal_begin("vm", "create", "{}"));
    return make_error_code(errc::backend_failed);
  });
  CHECK(r.error() == make_error_code(errc::backend_failed));
  CHECK(st.snapshots("vm")->empty());
  CHECK(st.journal()->empty());
}

TEST_CASE("snapshot_store: journal entries persist until ended", "[hypervisor][snapshot_store]") {
  test::temp_dir dir;
  auto db = (dir.path / "h.sqlite").string();
  std::int64_t op = 0;
  {
    auto s = snapshot_store::open(db);
    REQUIRE(s);
    auto o = (*s)->journal_begin("vm", "destroy", R"({"snapshot":"a"})");
    REQUIRE(o);
    op = *o;
    REQUIRE((*s)->journal_step(op, 2));
  }
  auto s = snapshot_store::open(db);
  REQUIRE(s);
  auto j = (*s)->journal();
  REQUIRE(j);
  REQUIRE(j->size() == 1);
  CHECK(j->front().kind == "destroy");
  CHECK(j->front().step == 2);
  CHECK(j->front().payload == R"({"snapshot":"a"})");
  REQUIRE((*s)->journal_end(op));
  CHECK((*s)->journal()->empty());
}
