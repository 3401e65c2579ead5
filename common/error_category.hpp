#pragma once
// One boost::system error_category per module errc enum (STYLE rule 15), without writing the
// category class three times: a module provides `category_name(E)` and `to_string(E)` found by
// argument-dependent lookup, and `make_error_code` wires the enum into error_code.

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>

namespace vsnapd {

template <class E>
class enum_error_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return category_name(E{}); }
  std::string message(int ev) const override { return std::string(to_string(static_cast<E>(ev))); }

  static const enum_error_category& instance() {
    static const enum_error_category category;
    return category;
  }
};

/// error_code for a module enum; call from the module's own `make_error_code(errc)`.
template <class E>
boost::system::error_code make_enum_error_code(E e) {
  return {static_cast<int>(e), enum_error_category<E>::instance()};
}

}  // namespace vsnapd
