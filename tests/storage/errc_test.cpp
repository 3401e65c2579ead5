#include "storage/errc.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

TEST_CASE("storage errc: every enumerator has a distinct name", "[storage][errc]") {
  std::set<std::string_view> names;
  for (auto e : vsnapd::storage::all_errcs) {
    CHECK(names.insert(vsnapd::storage::to_string(e)).second);
    CHECK(std::string(boost::system::error_code(e).category().name()) == "storage");
  }
}
