#include "hypervisor/errc.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

TEST_CASE("hv errc: every enumerator has a distinct name", "[hypervisor][errc]") {
  std::set<std::string_view> names;
  for (auto e : vsnapd::hv::all_errcs) {
    CHECK(names.insert(vsnapd::hv::to_string(e)).second);
    CHECK(std::string(boost::system::error_code(e).category().name()) == "hv");
  }
}
