#pragma once
// Helpers shared by the chain_ops tests: a scratch directory, and qemu-img / qemu-io as the
// oracle (qemu-utils is a test dependency, see scripts/setup.sh).

#include "common/error.hpp"
#include "storage/errc.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace vsnapd::storage::test {

/// True for a value; for an error, logs its message and the engine's detail into the failing
/// assertion (Catch cannot print a result<T> itself).
template <class T>
bool ok(const result<T>& r) {
  if (!r) {
    UNSCOPED_INFO(r.error().message() << ": " << last_error_detail());
  }
  return r.has_value();
}

/// A fresh directory under $TMPDIR, removed with everything in it at scope exit.
class scratch_dir {
 public:
  scratch_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vsnapd-chain-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::abort();
    }
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  /// The path of `name` inside the directory.
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Runs a shell command with stdout and stderr captured; returns the exit status.
inline int sh(const std::string& cmd, std::string* output = nullptr) {
  std::string out;
  std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return -1;
  }
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) {
    out += buf.data();
  }
  const int status = ::pclose(p);
  if (output != nullptr) {
    *output = out;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Single-quotes a path for the shell.
inline std::string q(const std::string& s) {
  std::string r = "'";
  for (char c : s) {
    r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return r + "'";
}

/// `qemu-img check` exit status (0 clean, 2 corrupt, 3 leaks).
inline int qemu_check(const std::string& path, std::string* out = nullptr) {
  return sh("qemu-img check " + q(path), out);
}

/// `qemu-img compare` exit status (0 identical guest content, 1 different).
inline int qemu_compare(const std::string& a, const std::string& b, std::string* out = nullptr) {
  return sh("qemu-img compare " + q(a) + " " + q(b), out);
}

}  // namespace vsnapd::storage::test
