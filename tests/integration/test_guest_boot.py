"""The test guest boots under QEMU (TCG) and answers on its serial console.

Builds the guest with scripts/build-test-guest.sh when needed (it returns at once when the
guest is up to date) and skips only when that is impossible (no network, no apt). Then boots
it the way the snapshot tests will: 128 MiB, TCG, a 16 MiB qcow2 disk on virtio-blk, a
virtio-serial port named as qemu-guest-agent's, the serial console on a unix socket. Checks the
disk marker round trip (also from the host, in the qcow2 file), the in-RAM counter, command
exit statuses, and that `poweroff -f` ends QEMU. Prints the time from launch to prompt.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest_console  # noqa: E402

PROMPT_TIMEOUT = 90.0   # TCG on a loaded 2-core machine under a sanitizer run; ~2 s when idle
EXIT_TIMEOUT = 30.0
MARKER_SECTOR = 2048    # byte offset 1 MiB


class GuestBoot(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in ("qemu-system-x86_64", "qemu-img"):
            if shutil.which(tool) is None:
                raise AssertionError("%s missing (scripts/setup.sh installs it)" % tool)
        try:
            cls.guest = guest_console.ensure_guest()
        except RuntimeError as e:
            raise unittest.SkipTest("test guest could not be built (no network or apt?): %s" % e)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vsnapd-it-guest-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def boot(self, kernel, disk=None):
        """Starts QEMU and returns (process, console, timing text: wall and QEMU CPU seconds
        from launch to prompt; CPU time shows the cost apart from the machine's load)."""
        sock, log = self.path("console.sock"), self.path("console.log")
        argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-nographic",
                "-monitor", "none", "-nic", "none",
                "-kernel", kernel, "-initrd", self.guest.initrd,
                "-append", "console=ttyS0 quiet",
                # The port qemu-guest-agent will use; the guest's virtio_console binds it.
                "-device", "virtio-serial-pci",
                "-chardev", "socket,id=ga,path=%s,server=on,wait=off" % self.path("ga.sock"),
                "-device", "virtserialport,chardev=ga,name=org.qemu.guest_agent.0"]
        if disk:
            argv += ["-drive", "file=%s,format=qcow2,if=virtio" % disk]
        argv += guest_console.qemu_serial_args(sock, log)
        qemu_log = open(self.path("qemu.log"), "wb")
        self.addCleanup(qemu_log.close)
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=qemu_log,
                                stderr=subprocess.STDOUT)
        self.addCleanup(self.reap, proc)
        console = guest_console.GuestConsole.connect(sock, alive=lambda: proc.poll() is None)
        self.addCleanup(console.close)
        console.wait_ready(PROMPT_TIMEOUT)
        wall = time.monotonic() - start
        with open("/proc/%d/stat" % proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return proc, console, "%.2f s (QEMU CPU %.2f s)" % (wall, cpu)

    def reap(self, proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def power_off(self, proc, console):
        console.poweroff()
        try:
            code = proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("QEMU still running %.0f s after poweroff -f\n%s"
                      % (EXIT_TIMEOUT, console.tail()))
        with open(self.path("qemu.log"), "rb") as f:
            qemu_out = f.read().decode(errors="replace")
        self.assertEqual(code, 0, "QEMU exit status; its output:\n" + qemu_out)

    def disk_bytes(self, disk, offset, length):
        """Guest-visible bytes of a qcow2 image, read on the host through qemu-img."""
        raw = self.path("disk.raw")
        subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", disk, raw], check=True)
        with open(raw, "rb") as f:
            f.seek(offset)
            return f.read(length)

    def test_guest_boots_and_round_trips_disk_marker_and_memory_counter(self):
        disk = self.path("disk.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "16M"], check=True)
        proc, con, timing = self.boot(self.guest.kernel, disk)
        print("\nguest_boot: launch to prompt %s, TCG, PVH vmlinux %s"
              % (timing, self.guest.version), file=sys.stderr)

        # Framing: output, exit status and output without a trailing newline come back exactly.
        self.assertEqual(con.run_status("echo one; echo two; false"), (1, "one\ntwo\n"))
        self.assertEqual(con.run("printf 'no-newline'"), "no-newline")
        self.assertEqual(con.run("uname -r"), self.guest.version + "\n")
        with self.assertRaises(RuntimeError):
            con.run("exit_status_7() { return 7; }; exit_status_7")
        # The devices the snapshot tests rely on were bound by the initramfs modules.
        self.assertEqual(con.run("ls /sys/block | grep '^vd'"), "vda\n")
        self.assertEqual(con.run("cat /sys/class/virtio-ports/vport*/name"),
                         "org.qemu.guest_agent.0\n")

        marker = "vsnapd-marker-%d" % os.getpid()
        con.write_disk_marker(marker, MARKER_SECTOR)
        self.assertEqual(con.read_disk_marker(len(marker), MARKER_SECTOR), marker)
        self.assertEqual(con.read_disk_marker(8, MARKER_SECTOR + 8), "\0" * 8)

        self.assertIsNone(con.counter_read())
        self.assertEqual(con.counter_increment(), 1)
        self.assertEqual(con.counter_increment(), 2)
        self.assertEqual(con.counter_read(), 2)

        # Written last and never read in the guest (an O_DIRECT read would flush it first):
        # the write helper alone must get it into the image before poweroff -f.
        last = "vsnapd-last-%d" % os.getpid()
        con.write_disk_marker(last, MARKER_SECTOR + 1)

        self.power_off(proc, con)
        self.assertEqual(self.disk_bytes(disk, MARKER_SECTOR * 512, 512 + len(last) + 1),
                         marker.encode().ljust(512, b"\0") + last.encode() + b"\0")
        check = subprocess.run(["qemu-img", "check", "-q", disk], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_distribution_bzimage_boots_too(self):
        proc, con, timing = self.boot(self.guest.vmlinuz)
        print("\nguest_boot: launch to prompt %s, TCG, bzImage vmlinuz" % timing,
              file=sys.stderr)
        self.assertEqual(con.run("uname -r"), self.guest.version + "\n")
        self.power_off(proc, con)



class ConsoleInput(unittest.TestCase):
    """What the helper refuses before anything reaches a guest (needs no guest)."""

    def test_markers_outside_the_safe_set_are_refused(self):
        con = guest_console.GuestConsole(None)
        for bad in ("", "has space", "quote'", "semi;colon", "new\nline", "dollar$x", "pct%s"):
            with self.subTest(marker=bad), self.assertRaises(ValueError):
                con.write_disk_marker(bad, 0)

    def test_multi_line_and_tab_commands_are_refused(self):
        con = guest_console.GuestConsole(None)
        for bad in ("echo a\necho b", "echo\ta"):
            with self.subTest(command=bad), self.assertRaises(ValueError):
                con.run(bad)


if __name__ == "__main__":
    unittest.main()
