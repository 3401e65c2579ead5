"""Issue 7 end to end: the product daemon (build/bin/vsnapd or $VSNAPD_BIN), a real QEMU VM
running the test guest under TCG (or KVM), and python3-winrm sending raw envelopes as Hyper-V
clients write them (hyperv_client), through both the Msvm_ and the CIM_ resource URIs.

`SnapshotScenario` is one daemon and one VM (the `demo` VM the daemon defines on a fresh state
directory), its tests run in name order and build on each other: start, full and disk snapshots
with jobs followed to completion, the tree through associations, every bad-parameter path,
apply of both kinds, destroy in the middle of a chain and of the tree, and SIGKILL of the
daemon in the middle of CreateSnapshot and DestroySnapshot with a restart on the same state.
Guest state is read over the serial console (guest_console): markers on the raw disk
/dev/vda and a counter in the guest's RAM.

With VSNAPD_E2E_REDUCED=1 (the ThreadSanitizer build, where the daemon is instrumented) only
`SnapshotRound` runs: one full snapshot, its apply and its destroy.
"""

import glob
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hyperv_client as hc  # noqa: E402  (before vsnapd_fixture users: restores VSNAPD_BIN)
import vsnapd_fixture as fx  # noqa: E402
from guest_console import GuestConsole, ensure_guest, READY_LINE  # noqa: E402

REDUCED = os.environ.get("VSNAPD_E2E_REDUCED") == "1"

# Disk sectors of the markers: one shared sector that every state overwrites, and one sector
# per marker that only that marker writes (so a merge that lost an image's data shows).
SHARED = 2048
OWN = {"A": 4096, "B": 4100, "C": 4104, "D": 4108, "E": 4112}
MARKER_LEN = 24

# RequestStateChange / EnabledState
ENABLED, DISABLED = 2, 3


def setUpModule():
    try:
        ensure_guest()
    except RuntimeError as e:
        raise unittest.SkipTest("the test guest cannot be built here: %s" % e)


def marker(tag):
    return ("%s-%s" % (tag, uuid.uuid4().hex))[:MARKER_LEN]


def kill_pid_file(path):
    """SIGKILL the process whose id a QEMU pid file holds (a VM the daemon left running)."""
    try:
        with open(path) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class E2ECase(unittest.TestCase):
    """One daemon on a state directory of its own, one pywinrm client, the demo VM."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        fx.scrub_process_env()
        cls.state_dir = tempfile.mkdtemp(prefix="vsnapd-e2e-")
        cls.d = None
        cls.c = None
        cls.con = None
        cls.password = None
        try:
            cls.start_daemon()
            cls.vm = cls.c.find_vm("demo")
            cls.vmdir = os.path.join(cls.state_dir, "vms", cls.vm)
        except BaseException:
            cls.cleanup()
            raise

    # Full snapshots copy the guest's RAM at most this fast, so that the copy of the 32 MiB the
    # busy and crash tests put in guest memory lasts seconds, however fast the disk is: those
    # tests stop QEMU (or kill the daemon) while it runs. Uncapped it took a few milliseconds.
    CONFIG = "[virtualization]\nmemory_copy_mib_per_second = 16\n"

    @classmethod
    def start_daemon(cls):
        cls.d = fx.Vsnapd(config=cls.CONFIG, http=False, state_dir=cls.state_dir)
        cls.d.start()
        if cls.password is None:
            cls.user, cls.password = cls.d.admin_user, cls.d.admin_password
        cls.c = hc.HyperVClient(cls.d.url("https"), cls.user, cls.password)

    @classmethod
    def cleanup(cls):
        if cls.con is not None:
            cls.con.close()
            cls.con = None
        if cls.c is not None:
            cls.c.close()
        # The daemon leaves VMs running when it stops (it re-attaches on start): end them.
        for pid_file in glob.glob(os.path.join(cls.state_dir, "vms", "*", "qemu.pid")):
            kill_pid_file(pid_file)
        reports = []
        if cls.d is not None:
            reports = [line for line in cls.d.log_lines()
                       if "runtime error:" in line or "Sanitizer" in line]
            try:
                if cls.d.running():
                    cls.d.stop()
            finally:
                cls.d.close()
        shutil.rmtree(cls.state_dir, ignore_errors=True)
        if reports:
            raise AssertionError("sanitizer report in the vsnapd log:\n" + "\n".join(reports[:20]))

    @classmethod
    def tearDownClass(cls):
        cls.cleanup()

    # ------------------------------------------------------------------------ VM and console
    def console(self):
        """The guest's console (reconnected when QEMU was restarted by an apply or a start)."""
        if self.con is None:
            type(self).con = GuestConsole.connect(os.path.join(self.vmdir, "console.sock"),
                                                  timeout=15.0)
        return self.con

    def drop_console(self):
        if self.con is not None:
            self.con.close()
            type(self).con = None

    def console_log_size(self):
        try:
            return os.path.getsize(os.path.join(self.vmdir, "console.log"))
        except OSError:
            return 0

    def wait_guest_ready(self, log_offset):
        """Waits for the boot's ready line and the first prompt. The console log (appended
        from `log_offset` by this boot) covers a console attached after the line went by."""
        con = self.console()
        deadline = time.monotonic() + 90
        while True:
            try:
                con.expect(READY_LINE, timeout=0.5)
                con.expect("~ # ", timeout=30)
                return con
            except TimeoutError:
                with open(os.path.join(self.vmdir, "console.log"), "rb") as f:
                    f.seek(log_offset)
                    if READY_LINE.encode() in f.read():
                        con.send("\n")
                        con.expect("~ # ", timeout=30)
                        return con
                if time.monotonic() > deadline:
                    raise

    def qemu_pid(self):
        with open(os.path.join(self.vmdir, "qemu.pid")) as f:
            return int(f.read().strip())

    def state(self):
        return self.c.vm_state(self.vm)

    def start_vm(self):
        self.drop_console()
        offset = self.console_log_size()
        self.c.run_job(self.c.request_state_change(self.vm, ENABLED))
        self.assertEqual(self.state(), ENABLED)
        return self.wait_guest_ready(offset)

    def turn_off(self):
        self.drop_console()
        self.c.run_job(self.c.request_state_change(self.vm, DISABLED))
        self.assertEqual(self.state(), DISABLED)

    def write(self, tag, value):
        con = self.console()
        con.write_disk_marker(value, SHARED)
        con.write_disk_marker(value, OWN[tag])

    def read(self, sector):
        return self.console().read_disk_marker(MARKER_LEN, sector)

    # ------------------------------------------------------------------------ snapshots
    def create(self, snapshot_type, dialect=hc.MSVM, settings=""):
        """CreateSnapshot followed to completion; returns (snapshot id, [(state, percent)])."""
        out = self.c.create_snapshot(self.vm, snapshot_type, settings, dialect=dialect)
        self.assertEqual(out.return_value, 4096, out.params)
        self.assertIn("ResultingSnapshot", out.params)  # empty until the job ends, as Hyper-V
        job = self.c.job(out)
        props, seen = self.c.run_job(out)
        ids = self.c.affected_snapshot(job, dialect)
        self.assertEqual(len(ids), 1, "AffectedJobElement of %r: %r" % (job, ids))
        self.assertTrue(ids[0].startswith("Microsoft:"))
        return ids[0][len("Microsoft:"):], seen

    def apply(self, snap, dialect=hc.MSVM):
        self.drop_console()
        out = self.c.apply_snapshot(snap, dialect)
        self.assertEqual(out.return_value, 4096, out.params)
        self.c.run_job(out)

    def destroy(self, snap, dialect=hc.MSVM):
        out = self.c.destroy_snapshot(snap, dialect)
        self.assertEqual(out.return_value, 4096, out.params)
        return self.c.run_job(out)

    def vm_sel(self):
        return [("CreationClassName", "Msvm_ComputerSystem"), ("Name", self.vm)]

    def snapshots(self, dialect=hc.MSVM):
        """{snapshot id: VSSD properties} through SnapshotOfVirtualSystem."""
        assoc = "Msvm_SnapshotOfVirtualSystem" if dialect is hc.MSVM else "CIM_SnapshotOfVirtualSystem"
        out = {}
        for cls, p in self.c.related(dialect, "AssociatedInstances", "Msvm_ComputerSystem",
                                     self.vm_sel(), assoc):
            self.assertEqual(cls, "Msvm_VirtualSystemSettingData")
            out[p["InstanceID"][len("Microsoft:"):]] = p
        return out

    def linked(self, assoc, dialect=hc.MSVM):
        """The snapshot ids an association from the VM names (MostCurrent..., LastApplied...)."""
        return sorted(p["InstanceID"][len("Microsoft:"):] for _, p in self.c.related(
            dialect, "AssociatedInstances", "Msvm_ComputerSystem", self.vm_sel(), assoc))

    def parent_child(self):
        """(parent, child) pairs of Msvm_ParentChildSettingData among the snapshots and the
        VM's current settings (child "current")."""
        pairs = set()
        sources = list(self.snapshots()) + [self.vm]
        for sid in sources:
            for _, p in self.c.related(hc.MSVM, "AssociationInstances",
                                       "Msvm_VirtualSystemSettingData",
                                       [("InstanceID", "Microsoft:" + sid)],
                                       "Msvm_ParentChildSettingData"):
                _, a = hc.ws.epr_selectors(p["Antecedent"])
                _, b = hc.ws.epr_selectors(p["Dependent"])
                child = b["InstanceID"][len("Microsoft:"):]
                pairs.add((a["InstanceID"][len("Microsoft:"):],
                           "current" if child == self.vm else child))
        return pairs

    # ------------------------------------------------------------------------ images
    def images(self):
        return sorted(glob.glob(os.path.join(self.vmdir, "*.qcow2")))

    def check_images(self):
        """qemu-img check on every image in the VM directory. Run with the VM off: an image
        QEMU has open for writing can look leaky to a concurrent reader, so -U would not be an
        honest check."""
        self.assertEqual(self.state(), DISABLED)
        images = self.images()
        self.assertTrue(images)
        for img in images:
            r = subprocess.run(["qemu-img", "check", img], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, "qemu-img check %s:\n%s%s" % (img, r.stdout, r.stderr))
            self.assertIn("No errors were found", r.stdout, img)
        return images

    def reachable_images(self):
        """Every image file some snapshot or the VM's current settings needs: the HostResource
        of each settings' disks (VirtualSystemSettingDataComponent) and their backing chains."""
        tops = set()
        for sid in list(self.snapshots()) + [self.vm]:
            for cls, p in self.c.related(hc.MSVM, "AssociatedInstances",
                                         "Msvm_VirtualSystemSettingData",
                                         [("InstanceID", "Microsoft:" + sid)],
                                         "Msvm_VirtualSystemSettingDataComponent"):
                hr = p["HostResource"]
                tops.update(hr if isinstance(hr, list) else [hr])
        files = set()
        for top in tops:
            r = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", top],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            for img in json.loads(r.stdout):
                files.add(os.path.realpath(img["filename"]))
        return files


class SnapshotScenario(E2ECase):
    """The whole scenario of issue 7 on one VM (tests in name order, each building on the last)."""

    @classmethod
    def setUpClass(cls):
        if REDUCED:
            raise unittest.SkipTest("VSNAPD_E2E_REDUCED=1: SnapshotRound only")
        super().setUpClass()
        cls.s = {}   # snapshot ids by role
        cls.m = {}   # marker values by tag
        cls.counter = {}

    def test_1_start_then_full_and_disk_snapshots_of_the_running_vm(self):
        self.assertEqual(self.state(), DISABLED)
        con = self.start_vm()
        self.m["A"] = marker("A")
        self.write("A", self.m["A"])
        for _ in range(3):
            self.counter["A"] = con.counter_increment()
        # Full snapshot through the Msvm_ URIs, SnapshotSettings as PowerShell embeds it.
        self.s["full"], seen = self.create(2, hc.MSVM, hc.snapshot_settings_cimxml(2, True))
        states = [s for s, _ in seen]
        percents = [p for _, p in seen]
        self.assertEqual(states[-1], hc.JOB_COMPLETED)
        self.assertEqual(percents[-1], 100)
        self.assertEqual(percents, sorted(percents), "PercentComplete went back: %r" % seen)
        self.assertTrue(any(0 < p < 100 for p in percents),
                        "PercentComplete never moved between 0 and 100: %r" % seen)
        # A full snapshot does not stop the guest: it still answers, counter intact.
        self.assertEqual(self.state(), ENABLED)
        self.assertEqual(con.counter_read(), self.counter["A"])
        self.m["B"] = marker("B")
        self.write("B", self.m["B"])
        self.counter["B"] = con.counter_increment()
        # Disk snapshot through the CIM_ URIs (__cimnamespace selector, CIM_ComputerSystem EPR).
        self.s["disk"], _ = self.create(3, hc.CIM)
        self.m["C"] = marker("C")
        self.write("C", self.m["C"])
        self.assertEqual(self.read(SHARED), self.m["C"])

    def test_2_tree_through_associations(self):
        full, disk = self.s["full"], self.s["disk"]
        for dialect in (hc.MSVM, hc.CIM):
            snaps = self.snapshots(dialect)
            self.assertEqual(set(snaps), {full, disk}, dialect.name)
            for p in snaps.values():
                self.assertEqual(p["VirtualSystemType"], hc.SNAPSHOT_REALIZED)
                self.assertEqual(p["VirtualSystemIdentifier"], self.vm)
        snaps = self.snapshots()
        self.assertIsNone(snaps[full]["Parent"])
        self.assertIn('InstanceID="Microsoft:%s"' % full, snaps[disk]["Parent"])
        self.assertEqual(snaps[full]["IsSaved"], "true")
        self.assertEqual(snaps[disk]["IsSaved"], "false")
        self.assertEqual(self.parent_child(), {(full, disk), (disk, "current")})
        self.assertEqual(self.linked("Msvm_MostCurrentSnapshotInBranch"), [disk])
        self.assertEqual(self.linked("CIM_MostCurrentSnapshotInBranch", hc.CIM), [disk])
        self.assertEqual(self.linked("Msvm_LastAppliedSnapshot"), [])

    def test_3_bad_parameters_answer_their_documented_codes(self):
        c, vm = self.c, self.vm
        full = self.s["full"]
        ghost_vm = str(uuid.uuid4())
        ghost_snap = str(uuid.uuid4())
        settings = hc.snapshot_settings_cimxml
        M, C = hc.MSVM, hc.CIM
        foreign_vm = M.epr("Msvm_ComputerSystem", [("CreationClassName", "Foreign_ComputerSystem"),
                                                   ("Name", vm)])
        unprefixed = M.epr("Msvm_VirtualSystemSettingData", [("InstanceID", full)])
        not_a_vssd = C.epr("Msvm_ComputerSystem", [("CreationClassName", "Msvm_ComputerSystem"),
                                                   ("Name", vm)])
        # (what, call, expected ReturnValue, refusal text in the daemon's log)
        rows = [
            ("Msvm unknown AffectedSystem",
             lambda: c.create_snapshot(ghost_vm, 2, "", M), 4, "AffectedSystem"),
            ("CIM unknown AffectedSystem",
             lambda: c.create_snapshot(ghost_vm, 3, "", C), 4, "AffectedSystem"),
            ("Msvm foreign AffectedSystem",
             lambda: c.create_snapshot(vm, 2, "", M, vm_ref=foreign_vm), 4, "not a virtual machine"),
            ("Msvm SnapshotType 5",
             lambda: c.create_snapshot(vm, 5, "", M), 6, "SnapshotType 5 is not supported"),
            ("CIM SnapshotType 32769",
             lambda: c.create_snapshot(vm, 32769, "", C), 6, "SnapshotType 32769 is not supported"),
            ("Msvm settings of another class",
             lambda: c.create_snapshot(vm, 2, settings(2, class_name="Msvm_ComputerSystem"), M),
             4, "SnapshotSettings"),
            ("CIM ConsistencyLevel out of range",
             lambda: c.create_snapshot(vm, 3, settings(7), C), 4, "ConsistencyLevel"),
            ("Msvm apply while running", lambda: c.apply_snapshot(full, M), 5, "turn it off"),
            ("CIM apply while running", lambda: c.apply_snapshot(full, C), 5, "turn it off"),
            ("Msvm apply unknown snapshot", lambda: c.apply_snapshot(ghost_snap, M), 4, ghost_snap),
            ("CIM apply unknown snapshot", lambda: c.apply_snapshot(ghost_snap, C), 4, ghost_snap),
            ("Msvm apply InstanceID without prefix",
             lambda: c.apply_snapshot(None, M, ref=unprefixed), 4, "is not a snapshot"),
            ("CIM destroy a reference to a VM", lambda: c.destroy_snapshot(None, C, ref=not_a_vssd),
             4, "is not a snapshot"),
            ("Msvm destroy unknown snapshot", lambda: c.destroy_snapshot(ghost_snap, M), 4, ghost_snap),
            ("CIM destroy unknown snapshot", lambda: c.destroy_snapshot(ghost_snap, C), 4, ghost_snap),
            # DestroySnapshotTree answers in the Msvm code set: 32773 Invalid parameter.
            ("Msvm destroy tree of unknown snapshot",
             lambda: c.destroy_snapshot_tree(ghost_snap), 32773, ghost_snap),
        ]
        for what, call, code, text in rows:
            with self.subTest(what):
                mark = self.d.log_count()
                out = call()
                self.assertEqual(out.return_value, code, "%s: %r" % (what, out.params))
                line = self.d.wait_for_log(r"returns %d \(" % code, timeout=5, start=mark)
                self.assertIn(text, line.string)
        # A malformed embedded instance is not a parameter value at all: a SOAP fault.
        broken = "&lt;INSTANCE CLASSNAME=&quot;Msvm_VirtualSystemSnapshotSettingData&quot;&gt;&lt;PROP"
        for dialect in (M, C):
            with self.subTest("%s malformed embedded instance" % dialect.name):
                with self.assertRaises(hc.Fault) as f:
                    c.create_snapshot(vm, 2, broken, dialect)
                self.assertEqual(f.exception.data.get("http_status_code"), 500)
                self.assertEqual(f.exception.data.get("fault_code"), "s:Sender")
                self.assertEqual(f.exception.data.get("fault_subcode"), "wsman:InvalidParameter")
        # One operation per VM: while a full snapshot runs, the others are refused at once with
        # 5 (DMTF methods) or 32775 (Msvm-only DestroySnapshotTree, Msvm RequestStateChange).
        # QEMU is stopped (SIGSTOP) while they are sent: the snapshot's memory copy cannot end
        # meanwhile, however slow this machine is; SIGCONT lets it finish.
        # It is stopped once the memory copy runs (PercentComplete past 5), which 32 MiB of
        # data in the guest's RAM and the daemon's 16 MiB/s cap (CONFIG) make last seconds.
        self.console().run("dd if=/dev/urandom of=/tmp/fill bs=1M count=32 2>/dev/null",
                           timeout=60)
        out = c.create_snapshot(vm, 2, settings(2))
        self.assertEqual(out.return_value, 4096)
        c.wait_job(c.job(out), until=lambda s, p: p > 5)
        qemu = self.qemu_pid()
        os.kill(qemu, signal.SIGSTOP)
        try:
            state, _, _ = c.poll_job(c.job(out))
            self.assertNotIn(state, hc.FINAL_JOB_STATES, "the snapshot ended before the test")
            # Reading the VM's state does not wait for the operation either.
            vms = {p["Name"]: p for p in c.instances(M, "Msvm_ComputerSystem")}
            self.assertEqual(vms[vm]["EnabledState"], str(ENABLED))
            busy = [
                ("Msvm turn off while busy", lambda: c.request_state_change(vm, DISABLED), 32775),
                ("CIM create while busy", lambda: c.create_snapshot(vm, 3, "", C), 5),
                ("Msvm destroy while busy", lambda: c.destroy_snapshot(self.s["disk"], M), 5),
                ("Msvm destroy tree while busy",
                 lambda: c.destroy_snapshot_tree(self.s["disk"]), 32775),
                ("CIM apply while busy", lambda: c.apply_snapshot(self.s["disk"], C), 5),
            ]
            for what, call, code in busy:
                with self.subTest(what):
                    mark = self.d.log_count()
                    self.assertEqual(call().return_value, code, what)
                    line = self.d.wait_for_log(r"returns %d \(" % code, timeout=5, start=mark)
                    self.assertIn("busy with CreateSnapshot", line.string)
        finally:
            os.kill(qemu, signal.SIGCONT)
        c.run_job(out)
        self.s["extra"] = c.affected_snapshot(c.job(out))[0][len("Microsoft:"):]

    def test_4_apply_full_then_disk_snapshot(self):
        self.turn_off()
        self.apply(self.s["full"])
        # A full snapshot restores memory and resumes the guest as it ran.
        self.assertEqual(self.state(), ENABLED)
        con = self.console()
        self.assertEqual(con.counter_read(), self.counter["A"])
        self.assertEqual(self.read(SHARED), self.m["A"])
        self.assertEqual(self.read(OWN["A"]), self.m["A"])
        self.assertEqual(self.read(OWN["B"]), "\0" * MARKER_LEN)
        self.assertEqual(self.linked("Msvm_LastAppliedSnapshot"), [self.s["full"]])
        self.assertEqual(self.linked("Msvm_MostCurrentSnapshotInBranch"), [self.s["full"]])
        # A disk snapshot leaves the VM off, as Hyper-V does.
        self.turn_off()
        self.apply(self.s["disk"], hc.CIM)
        self.assertEqual(self.state(), DISABLED)
        con = self.start_vm()
        self.assertEqual(self.read(SHARED), self.m["B"])
        self.assertEqual(self.read(OWN["A"]), self.m["A"])
        self.assertEqual(self.read(OWN["B"]), self.m["B"])
        self.assertEqual(self.read(OWN["C"]), "\0" * MARKER_LEN)
        self.assertIsNone(con.counter_read())  # booted afresh: the counter was in RAM
        self.assertEqual(self.linked("CIM_LastAppliedSnapshot", hc.CIM), [self.s["disk"]])

    def test_5_destroy_in_the_middle_of_a_chain_then_the_tree(self):
        full, disk, extra = self.s["full"], self.s["disk"], self.s["extra"]
        # The snapshot the busy test took is a leaf of the abandoned branch: it goes alone.
        self.destroy(extra)
        self.assertEqual(set(self.snapshots()), {full, disk})
        self.m["D"] = marker("D")
        self.write("D", self.m["D"])
        top, _ = self.create(3)
        self.m["E"] = marker("E")
        self.write("E", self.m["E"])
        # full -> disk -> top -> current; `disk` has a child that reads through its images.
        self.assertEqual(self.parent_child(), {(full, disk), (disk, top), (top, "current")})
        self.destroy(disk)
        self.assertEqual(self.parent_child(), {(full, top), (top, "current")})
        # The running state lost nothing: B was only in the destroyed snapshot's image.
        self.assertEqual(self.state(), ENABLED)
        for tag, sector in (("E", SHARED), ("A", OWN["A"]), ("B", OWN["B"]), ("D", OWN["D"]),
                            ("E", OWN["E"])):
            self.assertEqual(self.read(sector), self.m[tag], tag)
        self.turn_off()
        self.check_images()
        # The remaining snapshots still come back whole.
        self.apply(top)
        self.start_vm()
        for tag, sector in (("D", SHARED), ("A", OWN["A"]), ("B", OWN["B"]), ("D", OWN["D"])):
            self.assertEqual(self.read(sector), self.m[tag], tag)
        self.assertEqual(self.read(OWN["E"]), "\0" * MARKER_LEN)
        self.turn_off()
        self.apply(full)
        self.assertEqual(self.console().counter_read(), self.counter["A"])
        self.assertEqual(self.read(SHARED), self.m["A"])
        self.turn_off()
        self.check_images()
        # DestroySnapshotTree from the root: every snapshot goes, the present stays.
        out = self.c.destroy_snapshot_tree(full)
        self.assertEqual(out.return_value, 4096)
        self.c.run_job(out)
        self.assertEqual(self.snapshots(), {})
        self.assertEqual(self.linked("Msvm_MostCurrentSnapshotInBranch"), [])
        images = self.check_images()
        self.assertEqual({os.path.realpath(i) for i in images}, self.reachable_images())
        self.start_vm()
        self.assertEqual(self.read(SHARED), self.m["A"])

    def test_6_sigkill_in_create_and_destroy_then_restart(self):
        con = self.console()
        # Memory the migration has to copy (the RAM root file system), so the full snapshot
        # runs long enough to be killed in the middle.
        con.run("dd if=/dev/urandom of=/tmp/fill bs=1M count=32 2>/dev/null", timeout=60)
        self.counter["K"] = con.counter_increment()
        out = self.c.create_snapshot(self.vm, 2, hc.snapshot_settings_cimxml(2))
        self.assertEqual(out.return_value, 4096)
        job = self.c.job(out)
        # Killed while the memory copy runs (past 5 %), with QEMU stopped so that the copy
        # cannot complete in between.
        qemu = self.qemu_pid()
        _, seen = self.c.wait_job(job, until=lambda s, p: s == hc.JOB_RUNNING and p > 5)
        os.kill(qemu, signal.SIGSTOP)
        try:
            self.assertEqual(seen[-1][0], hc.JOB_RUNNING, "snapshot ended before the kill: %r" % seen)
            self.wait_journal("create")
            self.kill_daemon()
        finally:
            os.kill(qemu, signal.SIGCONT)
        self.restart("create")
        self.check_recovered(job)
        # The guest never noticed: still running, its RAM counter intact.
        con = self.console()
        self.assertEqual(con.counter_read(), self.counter["K"])

        # DestroySnapshot with data to merge: 64 MiB in the image of `base`, which `child`'s
        # image reads through, so destroying `base` streams it into `child` while QEMU runs.
        con.run("dd if=/dev/urandom of=/dev/vda bs=1M seek=64 count=64 conv=fsync 2>/dev/null",
                timeout=90)
        digest = con.run("dd if=/dev/vda bs=1M skip=64 count=64 2>/dev/null | md5sum", timeout=60)
        base, _ = self.create(3)
        self.m["K"] = marker("K")
        self.write("A", self.m["K"])
        child, _ = self.create(3)
        out = self.c.destroy_snapshot(base)
        self.assertEqual(out.return_value, 4096)
        job = self.c.job(out)
        # QEMU is stopped once the job runs: the merge cannot finish, and the daemon waits on
        # QEMU once it has journaled the destroy, which is when it is killed.
        qemu = self.qemu_pid()
        _, seen = self.c.wait_job(job, until=lambda s, p: s == hc.JOB_RUNNING)
        os.kill(qemu, signal.SIGSTOP)
        try:
            self.assertEqual(seen[-1][0], hc.JOB_RUNNING, "destroy ended before the kill: %r" % seen)
            self.wait_journal("destroy")
            self.kill_daemon()
        finally:
            os.kill(qemu, signal.SIGCONT)
        self.restart("destroy")
        self.check_recovered(job)
        self.assertNotIn(base, self.snapshots())
        self.assertIn(child, self.snapshots())
        self.turn_off()
        self.check_images()
        self.apply(child)
        con = self.start_vm()
        self.assertEqual(self.read(OWN["A"]), self.m["K"])
        self.assertEqual(con.run("dd if=/dev/vda bs=1M skip=64 count=64 2>/dev/null | md5sum",
                                 timeout=60), digest)

    def wait_journal(self, kind, timeout=10.0):
        """Waits until the backend's journal (hypervisor.sqlite, read-only) holds an unfinished
        `kind` operation on the VM: the operation is under way, not yet committed."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.state_dir, "hypervisor.sqlite"),
                             uri=True, timeout=5)
        try:
            deadline = time.monotonic() + timeout
            while True:
                n = db.execute("SELECT count(*) FROM journal WHERE vm = ? AND kind = ?",
                               (self.vm, kind)).fetchone()[0]
                if n:
                    return
                self.assertLess(time.monotonic(), deadline, "no %s in the journal" % kind)
                time.sleep(0.01)  # polling another process's database: no event to wait on
        finally:
            db.close()

    def kill_daemon(self):
        self.drop_console()
        self.d.send_signal(signal.SIGKILL)
        self.d.proc.wait(timeout=10)

    def restart(self, interrupted):
        """Starts the daemon again on the same state directory; the backend must find the VM's
        QEMU still running and the `interrupted` operation in its journal."""
        pid = self.d.proc.pid
        self.c.close()
        self.d.close()
        type(self).d = None
        self.start_daemon()
        self.assertNotEqual(self.d.proc.pid, pid)
        self.d.wait_for_log(r"re-attached to vm %s" % self.vm, timeout=1)
        self.d.wait_for_log(r"recovering interrupted %s on vm %s" % (interrupted, self.vm),
                            timeout=1)

    def check_recovered(self, job):
        # The job that was running when the daemon died reports a final state.
        state, _, props = self.c.poll_job(job)
        self.assertIn(state, (hc.JOB_KILLED, hc.JOB_EXCEPTION, hc.JOB_TERMINATED), props)
        # The VM kept running under the killed daemon and was re-attached.
        self.assertEqual(self.state(), ENABLED)
        # No half-made overlay or memory file: every file is needed by a snapshot or the VM.
        files = {os.path.realpath(f) for f in self.images()}
        self.assertEqual(files, self.reachable_images())
        mems = glob.glob(os.path.join(self.vmdir, "*.mem"))
        saved = [p for p in self.snapshots().values() if p["IsSaved"] == "true"]
        self.assertEqual(len(mems), len(saved), mems)


class SnapshotRound(E2ECase):
    """One full snapshot, its apply and its destroy: what the sanitizer builds run."""

    @classmethod
    def setUpClass(cls):
        if not REDUCED:
            raise unittest.SkipTest("SnapshotScenario covers this round")
        super().setUpClass()

    def test_full_snapshot_apply_and_destroy(self):
        con = self.start_vm()
        a = marker("A")
        self.write("A", a)
        counter = con.counter_increment()
        snap, _ = self.create(2, hc.MSVM, hc.snapshot_settings_cimxml(2))
        self.write("B", marker("B"))
        con.counter_increment()
        self.turn_off()
        self.apply(snap, hc.CIM)
        self.assertEqual(self.state(), ENABLED)
        self.assertEqual(self.console().counter_read(), counter)
        self.assertEqual(self.read(SHARED), a)
        self.destroy(snap)
        self.assertEqual(self.snapshots(), {})
        self.assertEqual(self.read(SHARED), a)
        self.turn_off()
        self.check_images()


if __name__ == "__main__":
    unittest.main()
