"""The test guest's serial console, driven from Python (standard library only).

scripts/build-test-guest.sh builds a kernel + busybox initramfs whose /init prints
"vsnapd-guest ready" and runs a root shell with the prompt "~ # " on ttyS0. QEMU exposes that
serial port as a unix socket:

    -chardev socket,id=s0,path=SOCK,server=on,wait=off,logfile=LOG -serial chardev:s0

`GuestConsole` connects to SOCK, waits for the prompt and runs shell commands, returning their
output and exit status. Every wait reads until a pattern or a deadline (no fixed sleeps). The
helpers the snapshot tests need are here too: a marker written to / read from the raw disk
/dev/vda at a sector, and a counter kept in /tmp/counter (the initramfs root lives in RAM, so
the counter is guest memory state that only a full snapshot preserves).

Output framing: each command is sent as one line

    printf '__BEGIN_%s__\\n' 7; CMD; printf '\\n__END_%s__ %d\\n' 7 $?

The terminal echoes that line, but the echo holds `__BEGIN_%s__`, never `__BEGIN_7__`, so only
the command's own printf output matches. The leading newline of the end marker keeps output
without a trailing newline (`head -c`) apart from the marker; it is removed again.

Keep one command's output small: up to the guest's 4 KiB tty buffer it arrives at once, beyond
it the emulated 16550 drains at only ~2 KB/s (10 KB took 8-10 s in measurements here).
"""

import os
import re
import select
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_SCRIPT = os.path.join(ROOT, "scripts", "build-test-guest.sh")
READY_LINE = "vsnapd-guest ready"
PROMPT = "~ # "
# Markers go through printf '%s' and a tty: keep them to characters neither changes.
_MARKER_RE = re.compile(r"^[A-Za-z0-9_.:=+-]+$")


def default_guest_dir():
    """Where scripts/build-test-guest.sh puts the guest by default ($VSNAPD_TEST_GUEST_DIR wins)."""
    if os.environ.get("VSNAPD_TEST_GUEST_DIR"):
        return os.environ["VSNAPD_TEST_GUEST_DIR"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "vsnapd", "test-guest")


class Guest:
    """The built guest's files. `kernel` is the decompressed ELF (QEMU boots it through its PVH
    entry, skipping the bzImage's XZ decompression that dominates a TCG boot); `vmlinuz` is the
    distribution's bzImage it came from."""

    def __init__(self, guest_dir):
        self.dir = guest_dir
        self.kernel = os.path.join(guest_dir, "vmlinux")
        self.vmlinuz = os.path.join(guest_dir, "vmlinuz")
        self.initrd = os.path.join(guest_dir, "initrd.img")
        with open(os.path.join(guest_dir, "VERSION")) as f:
            self.version = f.read().strip()

    def qemu_boot_args(self, append="console=ttyS0 quiet"):
        return ["-kernel", self.kernel, "-initrd", self.initrd, "-append", append]


def ensure_guest(guest_dir=None, timeout=600):
    """Builds the guest if needed (the script returns at once when it is up to date).

    @return a Guest; raises RuntimeError with the script's output when it could not be built
            (for example without network), which callers turn into a skip.
    """
    guest_dir = guest_dir or default_guest_dir()
    try:
        p = subprocess.run(["bash", BUILD_SCRIPT, guest_dir], capture_output=True, text=True,
                           timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError("build-test-guest.sh did not run: %s" % e)
    if p.returncode != 0:
        raise RuntimeError("build-test-guest.sh exited %d:\n%s%s"
                           % (p.returncode, p.stdout, p.stderr))
    return Guest(guest_dir)


def qemu_serial_args(sock, log):
    """QEMU arguments that put the guest's ttyS0 on a unix socket server (and a log file)."""
    return ["-chardev", "socket,id=s0,path=%s,server=on,wait=off,logfile=%s" % (sock, log),
            "-serial", "chardev:s0"]


class ConsoleTimeout(TimeoutError):
    """A wait on the console ran out; the message ends with what the console printed last."""


class GuestConsole:
    """One connection to a guest serial console socket. Not thread-safe: one user at a time."""

    def __init__(self, sock):
        self._sock = sock
        self._buf = ""          # received, not yet consumed by a wait
        self.transcript = []    # everything received, for failure messages
        self._seq = 0

    @classmethod
    def connect(cls, path, timeout=10.0, alive=None):
        """Connects to QEMU's socket, retrying until QEMU has created it.

        @param alive  optional callable; False means the QEMU process is gone, so stop early.
        """
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                s.setblocking(False)
                return cls(s)
            except (FileNotFoundError, ConnectionRefusedError) as e:
                s.close()
                if alive is not None and not alive():
                    raise RuntimeError("QEMU exited before its console socket %s appeared" % path)
                if time.monotonic() >= deadline:
                    raise ConsoleTimeout("console socket %s: %s" % (path, e))
                # QEMU creates the socket while it starts up; back off briefly and look again.
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def tail(self, n=2000):
        return "".join(self.transcript)[-n:]

    def send(self, text):
        data = text.encode()
        while data:
            _, w, _ = select.select([], [self._sock], [], 10.0)
            if not w:
                raise ConsoleTimeout("console does not accept input\n--- console ---\n" + self.tail())
            data = data[self._sock.send(data):]

    def expect(self, pattern, timeout):
        """Reads until `pattern` (a compiled regex or a plain string) appears.

        @return the match object; the buffer keeps only what follows the match.
        """
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self._buf)
            if m:
                self._buf = self._buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConsoleTimeout("no %r on the console within %.1f s\n--- console ---\n%s"
                                     % (regex.pattern, timeout, self.tail()))
            r, _, _ = select.select([self._sock], [], [], left)
            if not r:
                continue
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConsoleTimeout("console closed (QEMU exited?) while waiting for %r"
                                     "\n--- console ---\n%s" % (regex.pattern, self.tail()))
            text = chunk.decode("utf-8", "replace")
            self.transcript.append(text)
            self._buf += text

    def wait_ready(self, timeout=60.0):
        """Waits for the boot to finish: the readiness line, then the first prompt."""
        self.expect(READY_LINE, timeout)
        self.expect(PROMPT, timeout)

    def run_status(self, command, timeout=30.0):
        """Runs one shell command line (no newlines, no tabs: the shell's line editor would
        complete on a tab) and returns (exit status, output with \\r\\n turned into \\n)."""
        if "\n" in command or "\t" in command:
            raise ValueError("one command line without newline or tab: %r" % command)
        self._seq += 1
        n = self._seq
        self.send("printf '__BEGIN_%%s__\\n' %d; %s; printf '\\n__END_%%s__ %%d\\n' %d $?\n"
                  % (n, command, n))
        self.expect(re.compile(r"__BEGIN_%d__\r?\n" % n), timeout)
        m = self.expect(re.compile(r"(.*?)\r?\n__END_%d__ (\d+)\r?\n" % n, re.S), timeout)
        # The tty turns every \n into \r\n (onlcr); undo it so callers see what the command wrote.
        return int(m.group(2)), m.group(1).replace("\r\n", "\n")

    def run(self, command, timeout=30.0):
        """Like run_status, but a non-zero exit status raises RuntimeError."""
        status, output = self.run_status(command, timeout)
        if status != 0:
            raise RuntimeError("guest command %r exited %d: %s" % (command, status, output))
        return output

    # The snapshot tests' probes ------------------------------------------------------------

    def write_disk_marker(self, marker, sector, device="/dev/vda"):
        """Writes `marker` at byte 512*sector of the raw disk, synced through to the image."""
        _check_marker(marker)
        self.run("printf '%%s' '%s' | dd of=%s bs=512 seek=%d conv=notrunc,fsync 2>/dev/null"
                 " && sync" % (marker, device, int(sector)))

    def read_disk_marker(self, length, sector, device="/dev/vda"):
        """Reads `length` bytes at byte 512*sector of the raw disk. O_DIRECT bypasses the
        guest's page cache, so this is what the disk image holds, not a cached copy."""
        return self.run("dd if=%s bs=512 skip=%d count=%d iflag=direct 2>/dev/null | head -c %d"
                        % (device, int(sector), (int(length) + 511) // 512, int(length)))

    def counter_increment(self):
        """Adds one to the in-RAM counter (absent counts as 0) and returns the new value."""
        out = self.run("c=$(cat /tmp/counter 2>/dev/null || echo 0); echo $((c + 1)) >/tmp/counter"
                       " && cat /tmp/counter")
        return int(out.strip())

    def counter_read(self):
        """The in-RAM counter, or None when it was never set (a freshly booted guest)."""
        status, out = self.run_status("cat /tmp/counter 2>/dev/null")
        return int(out.strip()) if status == 0 else None

    def poweroff(self):
        """Powers the guest off at once (no orderly shutdown: there is nothing to stop).
        QEMU then exits; the caller waits for the process."""
        self.send("poweroff -f\n")


def _check_marker(marker):
    if not _MARKER_RE.match(marker):
        raise ValueError("marker %r: use letters, digits and _.:=+- only" % marker)
