#pragma once
// Helpers shared by the qcow2 tests: temporary folders, running qemu-img, patterns.

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/cow/image.hpp"
#include "storage/errc.hpp"

namespace vsnapd::storage::test {

/// A fresh directory removed at scope exit.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    char tmpl[] = "/tmp/vsnapd-storage-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    REQUIRE(p != nullptr);
    path = p;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

/// Runs a shell command; returns its exit status and fills `out` with stdout+stderr.
inline int run(const std::string& cmd, std::string* out = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
    text.append(buf, n);
  }
  int st = ::pclose(p);
  if (out != nullptr) {
    *out = text;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/// `qemu-img check` verdict: 0 clean, 3 leaks only, 2 corruptions, 1 check error (its
/// documented exit codes).
inline int qemu_check(const std::string& path, std::string* out = nullptr) {
  return run("qemu-img check -f qcow2 '" + path + "'", out);
}

/// Deterministic pattern byte for (seed, offset), so a reader can verify any range.
inline std::byte pattern(std::uint64_t seed, std::uint64_t off) {
  std::uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ull + seed * 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return static_cast<std::byte>((x >> ((off & 7) * 8)) & 0xff);
}

inline std::vector<std::byte> make_pattern(std::uint64_t seed, std::uint64_t off, std::size_t len) {
  std::vector<std::byte> v(len);
  for (std::size_t i = 0; i < len; ++i) {
    v[i] = pattern(seed, off + i);
  }
  return v;
}

/// REQUIREs a result to be a value, printing the storage error detail if not.
#define REQUIRE_OK(expr)                                                                      \
  do {                                                                                        \
    auto&& r_ = (expr);                                                                       \
    INFO(#expr << " -> "                                                                      \
               << (r_ ? std::string("ok")                                                     \
                      : r_.error().message() + ": " + vsnapd::storage::last_error_detail())); \
    REQUIRE(r_.has_value());                                                                  \
  } while (false)

/// Unwraps a result<T> or fails the test with the error detail.
template <class T>
T must(result<T> r) {
  INFO((r ? std::string("ok") : r.error().message() + ": " + last_error_detail()));
  REQUIRE(r.has_value());
  return std::move(*r);
}
inline void must(result<void> r) {
  INFO((r ? std::string("ok") : r.error().message() + ": " + last_error_detail()));
  REQUIRE(r.has_value());
}

inline std::unique_ptr<image> open_rw(const std::string& path) {
  open_options o;
  o.writable = true;
  return must(image::open(path, o));
}
inline std::unique_ptr<image> open_ro(const std::string& path) {
  return must(image::open(path, open_options{}));
}

}  // namespace vsnapd::storage::test
