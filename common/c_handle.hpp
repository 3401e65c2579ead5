#pragma once
// unique_ptr with a C deleter, for OpenSSL and other C API handles (STYLE rule 14).

#include <memory>

namespace vsnapd {

/// Calls the C function `Free` on destruction. Example:
/// `c_handle<EVP_PKEY, EVP_PKEY_free> key{EVP_PKEY_new()};`
template <class T, auto Free>
struct c_deleter {
  void operator()(T* p) const noexcept {
    if (p != nullptr) {
      Free(p);
    }
  }
};

template <class T, auto Free>
using c_handle = std::unique_ptr<T, c_deleter<T, Free>>;

}  // namespace vsnapd
