#pragma once
// Error plumbing shared by every module (STYLE rules 15-16, 20).

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace vsnapd {

/// A value or an error_code. Fallible functions return this and mark it [[nodiscard]];
/// the alias lets us move to std::expected later without touching callers.
template <class T>
using result = boost::system::result<T, boost::system::error_code>;

using boost::system::error_code;

}  // namespace vsnapd

/// Propagates the error of a result-returning expression, or yields its value.
/// Usage: `auto v = VSNAPD_TRY(parse(x));` (GNU statement expression, g++ and clang).
#define VSNAPD_TRY(expr)                        \
  (__extension__({  /* GNU statement expression */ \
    auto&& vsnapd_try_r_ = (expr);              \
    if (!vsnapd_try_r_) {                       \
      return vsnapd_try_r_.error();             \
    }                                           \
    std::move(*vsnapd_try_r_);                  \
  }))

/// VSNAPD_TRY for a result<void> in statement position: propagates the error, yields nothing.
/// Usage: `VSNAPD_TRY_VOID(file.flush());`
#define VSNAPD_TRY_VOID(expr)                  \
  do {                                         \
    if (auto vsnapd_r_ = (expr); !vsnapd_r_) { \
      return vsnapd_r_.error();                \
    }                                          \
  } while (false)
