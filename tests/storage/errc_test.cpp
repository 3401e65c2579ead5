#include "storage/errc.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>

TEST_CASE("storage errc: every enumerator has a distinct name", "[storage][errc]") {
  std::set<std::string_view> names;
  for (auto e : vsnapd::storage::all_errcs) {
    CHECK(names.insert(vsnapd::storage::to_string(e)).second);
    CHECK(std::string(boost::system::error_code(e).category().name()) == "storage");
  }
}

TEST_CASE("storage errc: fail records a per-thread detail", "[storage][errc]") {
  auto ec = vsnapd::storage::fail(vsnapd::storage::errc::not_found, "no 'x' here");
  CHECK(ec == make_error_code(vsnapd::storage::errc::not_found));
  CHECK(ec.message() == "not_found");
  CHECK(vsnapd::storage::last_error_detail() == "no 'x' here");
  std::string other = "unset";
  std::thread([&] { other = vsnapd::storage::last_error_detail(); }).join();
  CHECK(other.empty());
}
