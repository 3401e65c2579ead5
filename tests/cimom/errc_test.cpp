#include "cimom/errc.hpp"
#include "hypervisor/errc.hpp"
#include "storage/errc.hpp"

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

TEST_CASE("storage and hv errc: every enumerator has a distinct name", "[storage][hypervisor][errc]") {
  std::set<std::string_view> names;
  for (auto e : vsnapd::storage::all_errcs) {
    CHECK(names.insert(vsnapd::storage::to_string(e)).second);
    CHECK(std::string(boost::system::error_code(e).category().name()) == "storage");
  }
  names.clear();
  for (auto e : vsnapd::hv::all_errcs) {
    CHECK(names.insert(vsnapd::hv::to_string(e)).second);
    CHECK(std::string(boost::system::error_code(e).category().name()) == "hv");
  }
}
