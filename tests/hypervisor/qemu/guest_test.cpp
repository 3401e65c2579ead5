// End to end with the test guest (scripts/build-test-guest.sh: a Debian kernel and a busybox
// initramfs with a root shell on ttyS0): a marker on the disk and a counter in the shell's
// memory, a full and a disk snapshot, changes, apply, and both come back. Skipped (with a
// warning) when the guest has not been built on this machine.

#include "hypervisor/qemu/qemu_hypervisor.hpp"

#include <catch2/catch.hpp>

#include "qmp_test_util.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

using namespace vsnapd::hv;
using namespace std::chrono_literals;

namespace {

std::filesystem::path guest_dir() {
  if (const char* d = std::getenv("VSNAPD_TEST_GUEST")) {
    return d;
  }
  const char* cache = std::getenv("XDG_CACHE_HOME");
  std::filesystem::path base = cache != nullptr ? std::filesystem::path(cache)
                                                : std::filesystem::path(std::getenv("HOME")) / ".cache";
  auto p = base / "vsnapd" / "test-guest";
  if (std::filesystem::exists(p / "vmlinuz")) {
    return p;
  }
  return std::filesystem::path(VSNAPD_SOURCE_DIR) / "build" / "test-guest";
}

/// The guest's serial console through the VM's console socket.
class console {
 public:
  explicit console(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~console() { ::close(fd_); }
  void send(const std::string& line) {
    std::string l = line + "\n";
    REQUIRE(::write(fd_, l.data(), l.size()) == static_cast<ssize_t>(l.size()));
  }
  /// Reads until `text` appears (bounded by `timeout`); returns what was read.
  std::string expect(const std::string& text, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.find(text) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      INFO("console so far: " << buf_);
      REQUIRE(left.count() > 0);
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        continue;
      }
      char b[4096];
      auto n = ::read(fd_, b, sizeof b);
      REQUIRE(n > 0);
      buf_.append(b, static_cast<std::size_t>(n));
    }
    auto at = buf_.find(text) + text.size();
    std::string out = buf_.substr(0, at);
    buf_.erase(0, at);
    return out;
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

}  // namespace

TEST_CASE("qemu_hypervisor: the test guest gets its disk marker and memory counter back",
          "[hypervisor][qemu_hypervisor][integration][slow]") {
  auto g = guest_dir();
  if (!std::filesystem::exists(g / "vmlinuz") || !std::filesystem::exists(g / "initrd.img")) {
    WARN("test guest not built (scripts/build-test-guest.sh); skipped");
    return;
  }
  test::temp_dir dir;
  qemu::qemu_options o;
  o.state_dir = dir.path.string();
  auto hr = qemu::qemu_hypervisor::open(o);
  REQUIRE(hr);
  auto& h = **hr;
  vm_config c;
  c.name = "guest";
  c.memory_mib = 128;
  c.accelerator = accel::tcg;
  c.kernel = (g / "vmlinuz").string();
  c.initrd = (g / "initrd.img").string();
  c.append = "console=ttyS0 quiet";
  c.disks = {{"", 64u << 20}};
  auto id = h.define_system(c);
  REQUIRE(id);
  auto vmdir = *h.vm_dir(*id);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(h.change_state(*id, state_change::start, {}));
  {
    console con(vmdir + "/console.sock");
    con.send("");
    con.expect("~ # ", 90s);
    std::cout << "guest: shell after "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
    con.send("C=1; echo MARK1 | dd of=/dev/vda conv=fsync 2>/dev/null; echo done-$C");
    con.expect("done-1", 30s);
  }
  op_timing tf;
  auto full = h.create_snapshot(*id, {snapshot_type::full, "full", true}, {}, &tf);
  REQUIRE(full);
  std::cout << "guest: full snapshot " << tf.total.count() / 1000.0 << " ms, pause "
            << tf.guest_pause.count() / 1000.0 << " ms\n";
  {
    console con(vmdir + "/console.sock");
    con.send("C=2; echo MARK2 | dd of=/dev/vda conv=fsync 2>/dev/null; echo done-$C");
    con.expect("done-2", 30s);
  }
  op_timing td;
  auto disk = h.create_snapshot(*id, {snapshot_type::disk, "disk", true}, {}, &td);
  REQUIRE(disk);
  std::cout << "guest: disk snapshot " << td.total.count() / 1000.0 << " ms, transaction "
            << td.guest_pause.count() / 1000.0 << " ms\n";
  {
    console con(vmdir + "/console.sock");
    con.send("C=3; echo MARK3 | dd of=/dev/vda conv=fsync 2>/dev/null; echo done-$C");
    con.expect("done-3", 30s);
  }
  // Back to the full snapshot: the shell resumes with C=1 and the disk says MARK1.
  REQUIRE(h.apply_snapshot(*id, full->id, {}, nullptr));
  CHECK(h.get_status(*id)->state == vm_state::running);
  {
    console con(vmdir + "/console.sock");
    con.send("echo counter-$C; dd if=/dev/vda bs=5 count=1 iflag=direct 2>/dev/null; echo; echo ==E\"\"ND==");
    auto out = con.expect("==END==", 30s);
    INFO(out);
    CHECK(out.find("counter-1") != std::string::npos);
    CHECK(out.find("MARK1") != std::string::npos);
  }
  // The disk snapshot: the VM is stopped and its disk reads MARK2 (read with qemu-io rather
  // than a second boot, which would double the test's time under TCG).
  REQUIRE(h.apply_snapshot(*id, disk->id, {}, nullptr));
  CHECK(h.get_status(*id)->state == vm_state::stopped);
  {
    std::string cmd = "qemu-io -r -f qcow2 -c 'read -v 0 5' '" + h.active_images(*id)->at(0) + "'";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char b[4096];
    std::size_t n;
    while ((n = std::fread(b, 1, sizeof b, p)) > 0) {
      out.append(b, n);
    }
    ::pclose(p);
    INFO(out);
    CHECK(out.find("MARK2") != std::string::npos);
  }
  REQUIRE(h.destroy_snapshot(*id, full->id, {}, nullptr));
  for (const auto& f : *h.image_files(*id)) {
    CHECK(std::system(("qemu-img check -q '" + f + "'").c_str()) == 0);
  }
}
