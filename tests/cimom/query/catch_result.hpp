#pragma once
// Lets Catch print a cim::result<T> in assertions (`REQUIRE(q)`): the value is summarized and an
// error shows its code and description, which is what a failing test needs to say.

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
