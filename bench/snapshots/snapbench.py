"""Snapshot benchmark of issue 7: the real vsnapd daemon driven over WS-Man (python3-winrm, HTTPS,
Basic, one keep-alive session) against real QEMU VMs under TCG running the test guest, with
QEMU's own QMP commands on a separate QEMU of the same shape as the baseline, in the same run.

Run through bench/snapshots/run.sh (it builds what is missing and picks the binaries); this file
does the measuring and prints key=value lines (and '#' lines for people) on stdout.

How things are timed:
  * A WS-Man operation is timed from just before the Invoke request is sent until the client
    sees the job's JobState 7 (Completed) in a Get of the Msvm_ConcreteJob, or the Invoke's own
    ReturnValue 0 when it completed synchronously. The job is followed as a client would: a Get
    every --poll-ms (default 2 ms) after the Invoke answered; the cost of that interval is at
    most one interval plus one Get round trip (both reported: `poll_ms`, `get_rtt_ms`).
  * The guest pause of our operations comes from the backend's op_timing, which vsnapd logs
    per operation (`qemu: op ... total_us=... pause_us=...`): for a full snapshot the QMP STOP
    and RESUME event timestamps (QEMU's own clock), for a disk snapshot the round trip of the
    QMP `transaction` (vCPUs are not stopped; the disks' I/O is drained for that window).
  * The baseline QEMU is a second qemu-system-x86_64 started here with the same kernel, initrd,
    RAM, vCPUs, accelerator and a qcow2 disk; the same memory fill runs in both guests. Its
    pauses are the STOP/RESUME event timestamps of its QMP connection.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import guest_console as gc  # noqa: E402
import test_wsman_support as ws  # noqa: E402
import vsnapd_fixture as fx  # noqa: E402

import winrm.exceptions  # noqa: E402
from winrm.protocol import Protocol  # noqa: E402

WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/virtualization/v2/"
CS = "Msvm_ComputerSystem"
SNAPSVC = "Msvm_VirtualSystemSnapshotService"
MGMTSVC = "Msvm_VirtualSystemManagementService"
JOB_DONE = "7"
JOB_FAILED = ("8", "9", "10")


def log(msg):
    print("[bench/snapshots] %s" % msg, file=sys.stderr, flush=True)


def pct(values, p):
    """Nearest-rank percentile (p in 0..100); with 20 values p99 is the maximum."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def fmt(x):
    return "NA" if x is None or x != x else "%.1f" % x


# ------------------------------------------------------------------------------ WS-Man client

class Client:
    """One pywinrm Protocol (one keep-alive HTTPS session) to the daemon."""

    def __init__(self, url, user, password, poll_s):
        self.p = Protocol(endpoint=url, transport="basic", username=user, password=password,
                          server_cert_validation="ignore", read_timeout_sec=120,
                          operation_timeout_sec=100)
        self.poll_s = poll_s
        self.get_rtts = []

    def send(self, xml):
        try:
            raw = self.p.send_message(xml)
        except winrm.exceptions.WinRMError as e:
            raise RuntimeError("WS-Man fault: %s" % e)
        return ws.parse(raw)

    def enumerate(self, cls):
        root = self.send(ws.enumerate_xml(WMI + cls, optimize=True, max_elements=100))
        page = ws.EnumPage(root)
        items = list(page.items)
        while not page.end:
            page = ws.EnumPage(self.send(ws.pull_xml(WMI + cls, page.context, max_elements=100)))
            items += page.items
        return items

    def invoke(self, cls, method, selectors, params_xml):
        uri = WMI + cls
        body = '<p:%s_INPUT xmlns:p="%s">%s</p:%s_INPUT>' % (method, uri, params_xml, method)
        root = self.send(ws.envelope(uri + "/" + method, uri, body, selectors=selectors))
        out = root.find("s:Body", ws.NS)[0]
        res = {}
        for child in out:
            res[ws.local(child.tag)] = child
        rv = (res["ReturnValue"].text or "").strip()
        return rv, res

    def wait_job(self, res, timeout=600.0):
        """Follows the job of an Invoke reply; returns the job's properties when it completed."""
        uri, sels = ws.epr_selectors(res["Job"])
        xml = ws.envelope(ws.ACT_GET, uri, selectors=sorted(sels.items()))
        deadline = time.monotonic() + timeout
        while True:
            t0 = time.monotonic()
            inst = self.send(xml).find("s:Body", ws.NS)[0]
            self.get_rtts.append((time.monotonic() - t0) * 1000)
            p = ws.props(inst)
            st = p.get("JobState")
            if st == JOB_DONE:
                return p
            if st in JOB_FAILED:
                raise RuntimeError("job failed: %s %s" % (p.get("ErrorCode"), p.get("ErrorDescription")))
            if time.monotonic() > deadline:
                raise RuntimeError("job did not complete within %.0f s" % timeout)
            if self.poll_s > 0:
                time.sleep(self.poll_s)

    def run_method(self, cls, method, selectors, params_xml):
        """Invoke and follow its job; returns (milliseconds to completion, job properties, out)."""
        t0 = time.monotonic()
        rv, res = self.invoke(cls, method, selectors, params_xml)
        job = None
        if rv == "4096":
            job = self.wait_job(res)
        elif rv != "0":
            raise RuntimeError("%s.%s returned %s" % (cls, method, rv))
        return (time.monotonic() - t0) * 1000, job, res


def epr_xml(cls, selectors):
    return ("<a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>%s"
            "</a:ReferenceParameters>" % (ws.ANONYMOUS, WMI + cls, ws.selector_set(selectors)))


def cimxml_instance(cls, props):
    """An embedded instance as Hyper-V clients send it (CIM-XML INSTANCE text, escaped)."""
    out = ['<INSTANCE CLASSNAME="%s">' % cls]
    for name, (typ, val) in props.items():
        out.append('<PROPERTY NAME="%s" TYPE="%s"><VALUE>%s</VALUE></PROPERTY>'
                   % (name, typ, escape(str(val))))
    out.append("</INSTANCE>")
    return escape("".join(out))


# ------------------------------------------------------------------------------ QMP baseline

class Qmp:
    """A minimal QMP client on a unix socket: commands in order, events kept with timestamps."""

    def __init__(self, path, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.f = self.s.makefile("rb")
        self.events = []
        json.loads(self.f.readline())  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.f.readline()
        if not line:
            raise RuntimeError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            m = self._read()
            if "event" in m:
                self.events.append(m)
                continue
            if "error" in m:
                raise RuntimeError("QMP %s: %s" % (name, m["error"]))
            return m["return"]

    def wait_event(self, pred, timeout=600.0):
        """Returns the first kept or new event matching pred (and drops that one)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if pred(e):
                    del self.events[i]
                    return e
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.events.append(self._read())
            finally:
                self.s.settimeout(None)

    def wait_job(self, job_id):
        e = self.wait_event(lambda e: e["event"] == "JOB_STATUS_CHANGE"
                            and e["data"]["id"] == job_id and e["data"]["status"] == "concluded")
        jobs = self.cmd("query-jobs")
        err = [j.get("error") for j in jobs if j["id"] == job_id and j.get("error")]
        self.cmd("job-dismiss", id=job_id)
        if err:
            raise RuntimeError("QMP job %s: %s" % (job_id, err[0]))
        return e

    def pause_ms(self):
        """STOP .. RESUME of the last pause, from QEMU's event timestamps; None without one."""
        stop = resume = None
        for e in self.events:
            if e["event"] == "STOP":
                stop = e["timestamp"]
            elif e["event"] == "RESUME" and stop is not None:
                resume = e["timestamp"]
        self.events = [e for e in self.events if e["event"] not in ("STOP", "RESUME")]
        if stop is None or resume is None:
            return None
        return ((resume["seconds"] - stop["seconds"]) * 1e6
                + resume["microseconds"] - stop["microseconds"]) / 1000.0


def ts_ms(e):
    return e["timestamp"]["seconds"] * 1000.0 + e["timestamp"]["microseconds"] / 1000.0


class BaselineVm:
    """A QEMU of the same shape as vsnapd's VM (see hypervisor/qemu launch()), driven over QMP."""

    def __init__(self, work, guest, mem_mib, disk_bytes):
        self.dir = os.path.join(work, "baseline")
        os.makedirs(self.dir)
        self.disk = os.path.join(self.dir, "disk0.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", self.disk, str(disk_bytes)],
                       check=True)
        qmp = os.path.join(self.dir, "qmp.sock")
        cons = os.path.join(self.dir, "console.sock")
        bd = {"driver": "qcow2", "node-name": "boot0",
              "file": {"driver": "file", "filename": self.disk}}
        argv = ["qemu-system-x86_64", "-name", "guest=baseline", "-nodefaults", "-no-user-config",
                "-display", "none", "-accel", "tcg", "-m", str(mem_mib), "-smp", "1",
                "-qmp", "unix:%s,server=on,wait=off" % qmp,
                "-blockdev", json.dumps(bd), "-device", "virtio-blk-pci,drive=boot0,id=disk0",
                ] + gc.qemu_serial_args(cons, os.path.join(self.dir, "console.log")) + \
            guest.qemu_boot_args("console=ttyS0")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.dir, "qemu.log"), "wb"),
                                     stderr=subprocess.STDOUT)
        try:
            self.qmp = Qmp(qmp)
            self.console = gc.GuestConsole.connect(cons, alive=lambda: self.proc.poll() is None)
            self.console.wait_ready(120)
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.qmp.s.settimeout(10)
            try:
                self.qmp.cmd("quit")
            except (RuntimeError, OSError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------------------------ the guest

def guest_console(state_dir, vm):
    """The console of a VM vsnapd just started: wait for the boot (or a prompt if it was
    quicker than our connection)."""
    path = os.path.join(state_dir, "vms", vm, "console.sock")
    con = gc.GuestConsole.connect(path, timeout=30)
    try:
        con.wait_ready(120)
    except gc.ConsoleTimeout:
        con.send("\n")
        con.expect(gc.PROMPT, 10)
    return con


def fill_memory(con, mib):
    """Makes `mib` MiB of the guest's RAM hold non-zero data: a file in a ramfs written from
    /dev/urandom. Zero pages cost neither migration
    nor snapshot-save anything, so an idle guest would measure nothing."""
    t0 = time.monotonic()
    # ramfs, not the initramfs root: that is a tmpfs capped at half the RAM.
    con.run("mkdir -p /ram && (mountpoint -q /ram || mount -t ramfs ramfs /ram)")
    con.run("dd if=/dev/urandom of=/ram/fill bs=1M count=%d 2>/dev/null" % mib, timeout=600)
    size = int(con.run("wc -c < /ram/fill", timeout=120).strip())
    if size != mib << 20:
        raise RuntimeError("the guest wrote %d bytes of %d MiB (RAM too small?)" % (size, mib))
    log("guest filled %d MiB in %.1f s" % (mib, time.monotonic() - t0))


def disk_series(q, dirname, base, prefix, size, runs, R):
    """`runs` external snapshots with blockdev-snapshot-sync on top of node `base`, then the
    oldest image merged into its child with block-stream (no base) `runs` times, as our destroy
    of the oldest snapshot does. Fills R[qmp_<size>_*]."""
    bs, bstream = [], []
    for i in range(runs):
        f = os.path.join(dirname, "%s%d.qcow2" % (prefix, i))
        t0 = time.monotonic()
        q.cmd("blockdev-snapshot-sync", **{"node-name": base if i == 0 else "%s%d" % (prefix, i - 1),
                                           "snapshot-file": f, "snapshot-node-name": "%s%d" % (prefix, i),
                                           "format": "qcow2"})
        bs.append((time.monotonic() - t0) * 1000)
    for i in range(runs):
        t0 = time.monotonic()
        job = "st%s%d" % (prefix, i)
        q.cmd("block-stream", **{"job-id": job, "device": "%s%d" % (prefix, i), "auto-dismiss": False})
        q.wait_job(job)
        bstream.append((time.monotonic() - t0) * 1000)
    R["qmp_%s_blockdev_snapshot_sync_median_ms" % size] = statistics.median(bs)
    R["qmp_%s_block_stream_median_ms" % size] = statistics.median(bstream)
    log("QMP %s: blockdev-snapshot-sync median %.1f ms, block-stream median %.1f ms"
        % (size, statistics.median(bs), statistics.median(bstream)))


TARGET_DISK_MEDIAN_MS = 50.0
TARGET_DISK_SIZE_RATIO = 1.2
TARGET_DISK_PAUSE_MS = 5.0
TARGET_FULL_RATIO = 1.2


def summary(R, a):
    """'#' lines for people, with PASS/MISS against issue 7's targets (also stored in R)."""
    def g(k):
        v = R.get(k)
        return v if isinstance(v, (int, float)) else float("nan")

    def verdict(name, ok):
        R[name + "_result"] = "NA" if ok is None else ("PASS" if ok else "MISS")
        return R[name + "_result"]

    d1, d100 = g("disk_1g_median_ms"), g("disk_100g_median_ms")
    size_ratio = max(d1, d100) / min(d1, d100) if d1 == d1 and d100 == d100 else float("nan")
    R["disk_size_ratio"] = size_ratio
    pause = max(g("disk_1g_pause_median_ms"), g("disk_100g_pause_median_ms"))
    full_ratio = g("full_ratio")
    nan = lambda x: x != x  # noqa: E731
    out = [
        "# vsnapd snapshot benchmark, issue 7 (%s UTC, %d cores shared with other work, load "
        "average %s at start, %s at end)" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                                             os.cpu_count(), R.get("loadavg_start"), R.get("loadavg_end")),
        "# the real vsnapd over WS-Man (python3-winrm, HTTPS, Basic, keep-alive), QEMU %s under TCG, "
        "test guest, %d MiB RAM with %d MiB filled from /dev/urandom; job followed with a Get "
        "every %.0f ms (Get round trip %s ms)" % (qemu_version(), a.mem_mib, a.fill_mib, a.poll_ms,
                                                  fmt(g("get_rtt_ms"))),
        "#   disk snapshot, running VM, %d runs: 1 GiB disk median %s ms p99 %s ms; 100 GiB disk "
        "median %s ms p99 %s ms (target median < %.0f ms) %s" % (
            a.runs, fmt(d1), fmt(g("disk_1g_p99_ms")), fmt(d100), fmt(g("disk_100g_p99_ms")),
            TARGET_DISK_MEDIAN_MS,
            verdict("disk_median", None if nan(d1) or nan(d100) else max(d1, d100) < TARGET_DISK_MEDIAN_MS)),
        "#     sizes 100 GiB / 1 GiB within %.2fx (target <= %.1fx) %s; backend share (op_timing) "
        "median %s / %s ms" % (size_ratio, TARGET_DISK_SIZE_RATIO,
                               verdict("disk_size", None if nan(size_ratio) else size_ratio <= TARGET_DISK_SIZE_RATIO),
                               fmt(g("disk_1g_backend_median_ms")), fmt(g("disk_100g_backend_median_ms"))),
        "#     guest pause (QMP transaction round trip; vCPUs are not stopped, disk I/O is "
        "drained) median %s / %s ms, p99 %s / %s ms (target < %.0f ms) %s" % (
            fmt(g("disk_1g_pause_median_ms")), fmt(g("disk_100g_pause_median_ms")),
            fmt(g("disk_1g_pause_p99_ms")), fmt(g("disk_100g_pause_p99_ms")), TARGET_DISK_PAUSE_MS,
            verdict("disk_pause", None if nan(pause) else pause < TARGET_DISK_PAUSE_MS)),
        "#     QMP blockdev-snapshot-sync on the baseline QEMU: median %s ms (1 GiB) / %s ms (100 GiB)"
        % (fmt(g("qmp_1g_blockdev_snapshot_sync_median_ms")), fmt(g("qmp_100g_blockdev_snapshot_sync_median_ms"))),
        "#   destroy disk snapshot (block-stream of the oldest image into its child), medians: "
        "1 GiB %s ms vs QMP block-stream %s ms; 100 GiB %s ms vs %s ms" % (
            fmt(g("disk_1g_destroy_median_ms")), fmt(g("qmp_1g_block_stream_median_ms")),
            fmt(g("disk_100g_destroy_median_ms")), fmt(g("qmp_100g_block_stream_median_ms"))),
        "#   full snapshot (live RAM copy to a file, pause-before-switchover), %d runs, medians: "
        "%s ms, guest pause %s ms; QEMU snapshot-save %s ms, guest pause %s ms; ratio %s "
        "(target <= %.1f) %s" % (
            a.full_runs, fmt(g("full_ours_ms_median")), fmt(g("full_ours_pause_ms_median")),
            fmt(g("full_save_ms_median")), fmt(g("full_save_pause_ms_median")),
            "NA" if nan(full_ratio) else "%.2f" % full_ratio, TARGET_FULL_RATIO,
            verdict("full", None if nan(full_ratio) else full_ratio <= TARGET_FULL_RATIO)),
        "#   apply full snapshot (ApplySnapshot on the VM turned off: new overlay, QEMU started "
        "with -incoming, RAM read back, resumed): %s ms (+ turn off %s ms) vs snapshot-load + "
        "cont %s ms, ratio %s; memory counter back: %s" % (
            fmt(g("full_apply_ms_median")), fmt(g("full_off_ms_median")), fmt(g("full_load_ms_median")),
            fmt(g("full_apply_ratio")) if False else ("%.2f" % g("full_apply_ratio")),
            R.get("full_apply_counter_check", "NA")),
        "#   destroy full snapshot: %s ms vs snapshot-delete %s ms" % (
            fmt(g("full_destroy_ms_median")), fmt(g("full_delete_ms_median"))),
    ]
    return out


def qemu_version():
    try:
        out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout
        return out.split()[3]
    except (OSError, IndexError):
        return "?"


# ------------------------------------------------------------------------------ main

OP_RE = re.compile(r"qemu: op (\w+) (\S+) vm (\S+)(?: \((\w+)\))?: total_us=(\d+) pause_us=(\d+)")


def backend_ops(d, start):
    """The backend's op_timing lines logged since log line `start`."""
    out = []
    for line in d.log_lines()[start:]:
        m = OP_RE.search(line)
        if m:
            out.append({"op": m.group(1), "snap": m.group(2), "type": m.group(4),
                        "total_ms": int(m.group(5)) / 1000.0, "pause_ms": int(m.group(6)) / 1000.0})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vsnapd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--full-runs", type=int, default=3)
    ap.add_argument("--mem-mib", type=int, default=1024)
    ap.add_argument("--fill-mib", type=int, default=600)
    ap.add_argument("--poll-ms", type=float, default=2.0)
    a = ap.parse_args()
    # run.sh forwards INT/TERM: unwind through the finally blocks that stop the daemon, its VMs
    # and the baseline QEMU.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ["VSNAPD_BIN"] = a.vsnapd
    guest = gc.ensure_guest()
    state = os.path.join(a.work, "state")
    os.makedirs(state, mode=0o700)
    R = {"loadavg_start": open("/proc/loadavg").read().split()[0], "runs": a.runs,
         "full_runs": a.full_runs, "mem_mib": a.mem_mib, "fill_mib": a.fill_mib}
    vms = {}

    def save_log(d, name):
        with open(os.path.join(a.work, name), "w") as f:
            f.write("\n".join(d.log_lines()) + "\n")

    def start_daemon():
        d = fx.Vsnapd(http=False, https=True, state_dir=state,
                      extra_args=["--log-level", "info"])
        d.start(timeout=60)
        return d

    # 1. Define the two VMs over WS-Man (DefineSystem), then give them the test guest's kernel
    #    in their vm.toml (DefineSystem has no boot settings; the file format is documented).
    d = start_daemon()
    user, password = d.admin_user, d.admin_password
    (open(os.path.join(a.work, "admin"), "w")).write("%s %s\n" % (user, password))
    c = Client(d.url("https"), user, password, a.poll_ms / 1000)
    mgmt = ws.props(c.enumerate(MGMTSVC)[0])
    mgmt_sel = [(k, mgmt[k]) for k in ("CreationClassName", "Name", "SystemCreationClassName", "SystemName")]
    for name, gib in (("bench-1g", 1), ("bench-100g", 100)):
        vssd = cimxml_instance("Msvm_VirtualSystemSettingData", {"ElementName": ("string", name)})
        mem = cimxml_instance("Msvm_MemorySettingData", {"ResourceType": ("uint16", 4),
                                                         "VirtualQuantity": ("uint64", a.mem_mib)})
        disk = cimxml_instance("Msvm_StorageAllocationSettingData", {
            "ResourceType": ("uint16", 31), "HostResource": ("string", "disk0.qcow2"),
            "VirtualQuantity": ("uint64", gib << 30)})
        params = ("<p:SystemSettings>%s</p:SystemSettings><p:ResourceSettings>%s</p:ResourceSettings>"
                  "<p:ResourceSettings>%s</p:ResourceSettings>" % (vssd, mem, disk))
        _, _, res = c.run_method(MGMTSVC, "DefineSystem", mgmt_sel, params)
        _, sels = ws.epr_selectors(res["ResultingSystem"])
        vms[name] = sels["Name"]
        log("defined %s = %s" % (name, vms[name]))
    d.stop()
    save_log(d, "vsnapd-define.log")
    for vm in vms.values():
        p = os.path.join(state, "vms", vm, "vm.toml")
        text = open(p).read()
        if "[boot]" not in text:
            text += '\n[boot]\nkernel = "%s"\ninitrd = "%s"\nappend = "console=ttyS0 quiet"\n' % (
                guest.kernel, guest.initrd)
            open(p, "w").write(text)
    d = start_daemon()
    c = Client(d.url("https"), user, password, a.poll_ms / 1000)
    snapsvc = ws.props(c.enumerate(SNAPSVC)[0])
    snap_sel = [(k, snapsvc[k]) for k in ("CreationClassName", "Name", "SystemCreationClassName", "SystemName")]
    baseline = None
    try:
        def cs_sel(vm):
            return [("CreationClassName", CS), ("Name", vm)]

        def state_change(vm, st):
            ms, _, _ = c.run_method(CS, "RequestStateChange", cs_sel(vm),
                                    "<p:RequestedState>%d</p:RequestedState>" % st)
            return ms

        def create(vm, typ):
            start = d.log_count()
            ms, job, _ = c.run_method(SNAPSVC, "CreateSnapshot", snap_sel,
                                      "<p:AffectedSystem>%s</p:AffectedSystem><p:SnapshotType>%d</p:SnapshotType>"
                                      % (epr_xml(CS, cs_sel(vm)), typ))
            # The new snapshot: the job's AffectedElement with ElementEffects 5, here read from
            # the backend's op line (same id) to save a round trip that is not part of the timing.
            ops = wait_ops(start, "create")
            return ms, ops

        def wait_ops(start, op):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                ops = [o for o in backend_ops(d, start) if o["op"] == op]
                if ops:
                    return ops[-1]
                time.sleep(0.01)
            raise RuntimeError("no backend op line for %s\n%s" % (op, d.log_tail(20)))

        def snap_ref(sid):
            return epr_xml("Msvm_VirtualSystemSettingData", [("InstanceID", "Microsoft:" + sid)])

        def destroy(sid):
            start = d.log_count()
            ms, _, _ = c.run_method(SNAPSVC, "DestroySnapshot", snap_sel,
                                    "<p:AffectedSnapshot>%s</p:AffectedSnapshot>" % snap_ref(sid))
            return ms, wait_ops(start, "destroy")

        def apply(sid):
            start = d.log_count()
            ms, _, _ = c.run_method(SNAPSVC, "ApplySnapshot", snap_sel,
                                    "<p:Snapshot>%s</p:Snapshot>" % snap_ref(sid))
            return ms, wait_ops(start, "apply")

        # 2. Disk-only snapshots of a running VM, 1 GiB and 100 GiB disks.
        for name in ("bench-1g", "bench-100g"):
            vm = vms[name]
            R["%s_start_ms" % name] = state_change(vm, 2)
            con = guest_console(state, vm)
            totals, backend, pauses, sids = [], [], [], []
            for i in range(a.runs):
                con.run("echo run%d > /dev/vda; sync" % i)  # the disk has new data each time
                ms, op = create(vm, 3)
                totals.append(ms)
                backend.append(op["total_ms"])
                pauses.append(op["pause_ms"])
                sids.append(op["snap"])
            key = "disk_%s" % name.split("-")[1]
            R[key + "_median_ms"] = statistics.median(totals)
            R[key + "_p99_ms"] = pct(totals, 99)
            R[key + "_backend_median_ms"] = statistics.median(backend)
            R[key + "_pause_median_ms"] = statistics.median(pauses)
            R[key + "_pause_p99_ms"] = pct(pauses, 99)
            log("%s: disk snapshot median %.1f ms p99 %.1f ms (backend %.1f ms, pause median %.2f p99 %.2f)"
                % (name, R[key + "_median_ms"], R[key + "_p99_ms"], R[key + "_backend_median_ms"],
                   R[key + "_pause_median_ms"], R[key + "_pause_p99_ms"]))
            # Destroy them oldest first: each one merges into its child with block-stream.
            dts = []
            for sid in sids:
                ms, op = destroy(sid)
                dts.append(ms)
            R[key + "_destroy_median_ms"] = statistics.median(dts)
            R[key + "_destroy_p99_ms"] = pct(dts, 99)
            log("%s: destroy disk snapshot median %.1f ms p99 %.1f ms" % (name, R[key + "_destroy_median_ms"], R[key + "_destroy_p99_ms"]))
            if name == "bench-100g":
                state_change(vm, 3)
            else:
                vms["con"] = con

        # 3. Full snapshots of the 1 GiB-RAM VM against snapshot-save on the baseline QEMU.
        vm = vms["bench-1g"]
        con = vms.pop("con")
        fill_memory(con, a.fill_mib)
        log("starting the baseline QEMU (same kernel, initrd, %d MiB, TCG)" % a.mem_mib)
        baseline = BaselineVm(a.work, guest, a.mem_mib, 1 << 30)
        fill_memory(baseline.console, a.fill_mib)
        q = baseline.qmp
        # Baseline disk-only external snapshot and its block-stream on the same 1 GiB disk.
        disk_series(q, baseline.dir, "boot0", "ov", "1g", a.runs, R)
        q.events.clear()
        full = {"ours_ms": [], "ours_backend_ms": [], "ours_pause_ms": [], "save_ms": [],
                "save_pause_ms": [], "apply_ms": [], "off_ms": [], "load_ms": [],
                "destroy_ms": [], "delete_ms": []}
        full_sids = []
        for i in range(a.full_runs):
            con.run("echo %d > /tmp/counter" % i)
            ms, op = create(vm, 2)
            full["ours_ms"].append(ms)
            full["ours_backend_ms"].append(op["total_ms"])
            full["ours_pause_ms"].append(op["pause_ms"])
            full_sids.append(op["snap"])
            t0 = time.monotonic()
            q.cmd("snapshot-save", **{"job-id": "sv%d" % i, "tag": "b%d" % i, "vmstate": "ov%d" % (a.runs - 1),
                                       "devices": ["ov%d" % (a.runs - 1)]})
            q.wait_job("sv%d" % i)
            full["save_ms"].append((time.monotonic() - t0) * 1000)
            full["save_pause_ms"].append(q.pause_ms())
            log("full %d: ours %.0f ms (backend %.0f, pause %.1f) vs snapshot-save %.0f ms (pause %s)"
                % (i, ms, op["total_ms"], op["pause_ms"], full["save_ms"][-1], fmt(full["save_pause_ms"][-1])))
        # Apply each (ours: turn off, then ApplySnapshot, which restores memory and resumes;
        # QEMU: snapshot-load on the running VM), then check the guest is back at that point.
        for i, sid in enumerate(full_sids):
            full["off_ms"].append(state_change(vm, 3))
            ms, op = apply(sid)
            full["apply_ms"].append(ms)
            t0 = time.monotonic()
            q.cmd("snapshot-load", **{"job-id": "ld%d" % i, "tag": "b%d" % i, "vmstate": "ov%d" % (a.runs - 1),
                                       "devices": ["ov%d" % (a.runs - 1)]})
            q.wait_job("ld%d" % i)
            q.cmd("cont")  # snapshot-load leaves the VM stopped; ours resumes it
            full["load_ms"].append((time.monotonic() - t0) * 1000)
            log("apply %d: ours %.0f ms (+ turn off %.0f ms) vs snapshot-load+cont %.0f ms"
                % (i, ms, full["off_ms"][-1], full["load_ms"][-1]))
        con.close()
        con = gc.GuestConsole.connect(os.path.join(state, "vms", vm, "console.sock"))
        con.send("\n")
        con.expect(gc.PROMPT, 30)
        got = con.run("cat /tmp/counter").strip()
        R["full_apply_counter_check"] = "ok" if got == str(a.full_runs - 1) else "WRONG(%s)" % got
        for i, sid in enumerate(full_sids):
            ms, op = destroy(sid)
            full["destroy_ms"].append(ms)
            t0 = time.monotonic()
            q.cmd("snapshot-delete", **{"job-id": "dl%d" % i, "tag": "b%d" % i,
                                         "devices": ["ov%d" % (a.runs - 1)]})
            q.wait_job("dl%d" % i)
            full["delete_ms"].append((time.monotonic() - t0) * 1000)
        for k, v in full.items():
            vals = [x for x in v if x is not None]
            R["full_%s_median" % k] = statistics.median(vals) if vals else float("nan")
        R["full_ratio"] = R["full_ours_ms_median"] / R["full_save_ms_median"]
        R["full_apply_ratio"] = R["full_apply_ms_median"] / R["full_load_ms_median"]
        R["full_destroy_ratio"] = R["full_destroy_ms_median"] / R["full_delete_ms_median"]
        # The same series on a 100 GiB qcow2 disk hot-plugged into the baseline QEMU.
        big = os.path.join(baseline.dir, "big0.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", big, str(100 << 30)], check=True)
        q.cmd("blockdev-add", **{"driver": "qcow2", "node-name": "big0",
                                 "file": {"driver": "file", "filename": big}})
        # A node nobody uses would drop each new overlay at once: give it a guest device.
        q.cmd("device_add", driver="virtio-blk-pci", drive="big0", id="bigdisk")
        disk_series(q, baseline.dir, "big0", "bg", "100g", a.runs, R)
        for size in ("1g", "100g"):
            R["disk_%s_destroy_ratio" % size] = (R["disk_%s_destroy_median_ms" % size]
                                                 / R["qmp_%s_block_stream_median_ms" % size])
        state_change(vm, 3)
    finally:
        if baseline is not None:
            baseline.stop()
        R["get_rtt_ms"] = statistics.median(c.get_rtts) if c.get_rtts else float("nan")
        R["poll_ms"] = a.poll_ms
        d.stop()
        save_log(d, "vsnapd.log")
        for vm in list(vms.values()):
            if not isinstance(vm, str):
                continue
            pidf = os.path.join(state, "vms", vm, "qemu.pid")
            try:
                pid = int(open(pidf).read().strip())
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        R["loadavg_end"] = open("/proc/loadavg").read().split()[0]
        for line in summary(R, a):
            print(line)
        for k in sorted(R):
            v = R[k]
            print("%s=%s" % (k, ("%.3f" % v) if isinstance(v, float) else v))


if __name__ == "__main__":
    main()
