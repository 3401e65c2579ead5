#pragma once
// Launching and watching QEMU processes that outlive vsnapd: each runs in its own session
// (setsid), so a daemon restart or SIGKILL does not take the VMs down, and is found again
// through its pid file and its QMP socket.

#include "common/error.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace vsnapd::hv::qemu {

/// Creates a listening unix socket at `path` (replacing a stale one) whose descriptor is
/// inherited by exec, for QEMU's `-chardev socket,fd=N,server=on`. Because the socket listens
/// before QEMU starts, a client can connect at once and simply waits for the greeting: no
/// polling for the socket file to appear. @return the descriptor (the caller closes it after
/// the spawn). Errors: invalid_argument (path too long), backend_failed.
[[nodiscard]] result<int> listen_unix(const std::string& path);

/// Starts `argv` in a new session with stdin from /dev/null and stdout/stderr appended to
/// `log_path`; descriptors in `keep_fds` are inherited, every other one is close-on-exec.
/// @return the child's pid. Errors: backend_failed (spawn failed).
[[nodiscard]] result<pid_t> spawn_detached(const std::vector<std::string>& argv,
                                           const std::vector<int>& keep_fds,
                                           const std::string& log_path);

/// True while `pid` is a live process (reaping it first if it is our exited child).
[[nodiscard]] bool process_alive(pid_t pid);

/// Reads a pid file (QEMU's -pidfile). Errors: not found or malformed -> backend_unavailable.
[[nodiscard]] result<pid_t> read_pid_file(const std::string& path);

}  // namespace vsnapd::hv::qemu
