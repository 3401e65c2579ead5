#include "hypervisor/qemu/accel_probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

extern char** environ;

namespace vsnapd::hv::qemu {

namespace {
constexpr std::string_view marker = "KVM\n";
}

std::string probe_boot_sector() {
  // Real-mode code at 0x7c00: write "KVM\n" to COM1 (0x3f8; QEMU's UART transmits without
  // initialisation), then write 0 to isa-debug-exit (0xf4) so QEMU exits at once, then halt.
  const unsigned char code[] = {
      0xBA, 0xF8, 0x03,        // mov dx, 0x3f8
      0xB0, 'K',  0xEE,        // mov al, 'K'; out dx, al
      0xB0, 'V',  0xEE,        // mov al, 'V'; out dx, al
      0xB0, 'M',  0xEE,        // mov al, 'M'; out dx, al
      0xB0, 0x0A, 0xEE,        // mov al, '\n'; out dx, al
      0xB0, 0x00, 0xE6, 0xF4,  // mov al, 0; out 0xf4, al
      0xFA, 0xF4, 0xEB, 0xFD,  // cli; hlt; jmp hlt
  };
  std::string sector(512, '\0');
  std::copy(std::begin(code), std::end(code), sector.begin());
  sector[510] = static_cast<char>(0x55);
  sector[511] = static_cast<char>(0xAA);
  return sector;
}

std::string run_probe_guest(const std::string& qemu_binary, accel accelerator,
                            std::chrono::milliseconds limit) {
  std::random_device rd;
  auto img = std::filesystem::temp_directory_path() /
             ("vsnapd-accel-probe-" + std::to_string(rd()) + ".img");
  {
    std::ofstream out(img, std::ios::binary);
    out << probe_boot_sector();
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::filesystem::remove(img);
    return {};
  }
  std::vector<std::string> argv{qemu_binary, "-accel", std::string(to_string(accelerator)),
                                "-nodefaults", "-display", "none", "-m", "16", "-serial",
                                "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                                "-drive", "file=" + img.string() + ",format=raw,if=ide"};
  std::vector<char*> args;
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  std::string out;
  if (rc == 0) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    // Read until the marker, EOF (QEMU exited) or the deadline: a KVM that cannot run the
    // guest hangs or spins, which the deadline turns into "no".
    while (out.find(marker) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        break;
      }
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        break;
      }
      char buf[256];
      auto n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  ::close(fds[0]);
  std::filesystem::remove(img);
  return out;
}

accel_probe_result probe_accelerator(const std::string& qemu_binary,
                                     std::chrono::milliseconds limit) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  bool flags = false;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line);
      std::string w;
      while (words >> w) {
        flags = flags || w == "vmx" || w == "svm";
      }
      break;
    }
  }
  if (!flags) {
    return {accel::tcg, "no vmx/svm CPU flag"};
  }
  if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    return {accel::tcg, "/dev/kvm not usable"};
  }
  auto out = run_probe_guest(qemu_binary, accel::kvm, limit);
  if (out.find(marker) != std::string::npos) {
    return {accel::kvm, "trial guest ran under KVM"};
  }
  return {accel::tcg, "trial guest did not run under KVM"};
}

}  // namespace vsnapd::hv::qemu
