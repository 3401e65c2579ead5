#include "cimom/errc.hpp"

#include <catch2/catch.hpp>

#include <set>

TEST_CASE("cim errc: every status has a distinct DSP0200 name and its numeric value", "[cimom][errc]") {
  std::set<std::string_view> names;
  for (auto e : vsnapd::cim::all_errcs) {
    const auto name = vsnapd::cim::to_string(e);
    CHECK(name.starts_with("CIM_ERR_"));
    CHECK(names.insert(name).second);
    const boost::system::error_code ec = e;
    CHECK(ec.value() == static_cast<int>(e));
    CHECK(ec.message() == name);
  }
  CHECK(static_cast<int>(vsnapd::cim::errc::not_found) == 6);
  CHECK(static_cast<int>(vsnapd::cim::errc::server_is_shutting_down) == 28);
}
