#pragma once
// Lets Catch2 print a cim::result in REQUIRE(r): boost's own operator<< for result would need
// operator<< on every value type and on cim::error, which they do not have.

#include "cimom/error.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace Catch {
template <class T>
struct StringMaker<boost::system::result<T, vsnapd::cim::error>> {
  static std::string convert(const boost::system::result<T, vsnapd::cim::error>& r) {
    if (r) {
      return "{value}";
    }
    return "{error " + std::string(vsnapd::cim::to_string(r.error().code)) + ": " +
           r.error().description + "}";
  }
};
}  // namespace Catch
