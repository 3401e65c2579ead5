#include "hypervisor/qemu/process.hpp"

#include "hypervisor/errc.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

extern char** environ;

namespace vsnapd::hv::qemu {

result<int> listen_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return make_error_code(errc::invalid_argument);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // Not SOCK_CLOEXEC: QEMU inherits this descriptor.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) {
    return make_error_code(errc::backend_failed);
  }
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 8) != 0) {
    ::close(fd);
    return make_error_code(errc::backend_failed);
  }
  return fd;
}

result<pid_t> spawn_detached(const std::vector<std::string>& argv,
                             const std::vector<int>& keep_fds, const std::string& log_path) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  // A new session: the VM is not in vsnapd's process group, so signals to the daemon (and its
  // death) do not reach it. Signals are reset to defaults for the child.
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  for (int fd : keep_fds) {
    int flags = ::fcntl(fd, F_GETFD);
    ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return make_error_code(errc::backend_failed);
  }
  return pid;
}

bool process_alive(pid_t pid) {
  if (pid <= 0) {
    return false;
  }
  int status = 0;
  // Our own child stays a zombie (and kill(0) succeeds) until reaped.
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    return false;
  }
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

result<pid_t> read_pid_file(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) {
    return make_error_code(errc::backend_unavailable);
  }
  return static_cast<pid_t>(pid);
}

}  // namespace vsnapd::hv::qemu
