#pragma once
// Helpers for tests that talk to a real QEMU: a temporary directory, a paused QEMU with a QMP
// socket (`-machine none -S` starts in a few tens of milliseconds), and running a coroutine
// on a test-owned io_context.

#include "common/error.hpp"
#include "hypervisor/qemu/process.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <exception>
#include <filesystem>
#include <optional>
#include <type_traits>
#include <random>
#include <string>
#include <vector>

// Catch prints the operands of a failed REQUIRE; results of types without operator<< print as
// their error (or "value").
namespace Catch {
template <class T>
struct StringMaker<boost::system::result<T, boost::system::error_code>> {
  static std::string convert(const boost::system::result<T, boost::system::error_code>& r) {
    return r ? std::string("value") : "error: " + r.error().message();
  }
};
}  // namespace Catch

namespace vsnapd::hv::test {

struct temp_dir {
  temp_dir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("vsnapd-hv-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

/// A QEMU process with QMP on `<dir>/qmp.sock`, killed at destruction.
struct qemu_process {
  qemu_process(const std::filesystem::path& dir, std::vector<std::string> extra = {}) {
    socket = (dir / "qmp.sock").string();
    auto fd = qemu::listen_unix(socket);
    REQUIRE(fd);
    std::vector<std::string> argv{"qemu-system-x86_64", "-nodefaults", "-display", "none",
                                  "-chardev",
                                  "socket,id=qmp,server=on,wait=off,fd=" + std::to_string(*fd),
                                  "-mon", "chardev=qmp,mode=control"};
    if (extra.empty()) {
      extra = {"-machine", "none", "-S"};
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = qemu::spawn_detached(argv, {*fd}, (dir / "qemu.log").string());
    ::close(*fd);
    REQUIRE(p);
    pid = *p;
  }
  ~qemu_process() { kill(); }
  void kill() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  std::string socket;
  pid_t pid = -1;
};

/// Runs `aw` to completion on `ioc` (the calling thread drives it), then stops the context so
/// that detached helpers (a client's read loop) do not keep the test waiting; rethrows a
/// failed REQUIRE from inside the coroutine.
template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> aw) {
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<T>, int, T>> out;
  auto body = [&]() -> boost::asio::awaitable<void> {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(aw);
      out.emplace(0);
    } else {
      out.emplace(co_await std::move(aw));
    }
  };
  boost::asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
    error = e;
    ioc.stop();
  });
  ioc.restart();
  ioc.run();
  if (error) {
    std::rethrow_exception(error);
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*out);
  }
}

}  // namespace vsnapd::hv::test
