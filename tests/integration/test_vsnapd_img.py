"""vsnapd-img against qemu-img: every verb runs on real qcow2 files and qemu-img / qemu-io are the
oracle (info/check/map JSON fields, snapshot tables, commit/rebase guest content, exit codes).

The tool comes from $VSNAPD_IMG_BIN (set by CTest) or build/bin/vsnapd-img.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.environ.get("VSNAPD_IMG_BIN", os.path.join(ROOT, "build", "bin", "vsnapd-img"))
MiB = 1 << 20


def run(*argv, check=True, input=None):
    p = subprocess.run(list(argv), capture_output=True, text=True, input=input, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                             % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def img(*argv, check=True):
    return run(TOOL, *argv, check=check)


def qemu_io(path, *cmds, fmt="qcow2"):
    argv = ["qemu-io", "-f", fmt]
    for c in cmds:
        argv += ["-c", c]
    run(*argv, path)


def same_content(a, b):
    """qemu-img compare exits 0 when the guest-visible content is identical."""
    p = run("qemu-img", "compare", a, b, check=False)
    return p.returncode == 0, p.stdout + p.stderr


class VsnapdImgTestCase(unittest.TestCase):

    def setUp(self):
        if not os.path.exists(TOOL):
            self.fail("vsnapd-img not found at %s (set VSNAPD_IMG_BIN)" % TOOL)
        self.tmp = tempfile.mkdtemp(prefix="vsnapd-it-img-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def qcheck(self, path):
        p = run("qemu-img", "check", path, check=False)
        self.assertEqual(p.returncode, 0, "qemu-img check %s:\n%s%s" % (path, p.stdout, p.stderr))

    def make_chain(self, names, size="16M"):
        """base <- ... <- top, each layer written with its own pattern at its own offsets, so the
        guest view mixes every layer (data, zero clusters, unallocated holes)."""
        paths = [self.path(n) for n in names]
        run("qemu-img", "create", "-q", "-f", "qcow2", paths[0], size)
        for i, p in enumerate(paths):
            if i > 0:
                run("qemu-img", "create", "-q", "-f", "qcow2", "-b", paths[i - 1], "-F", "qcow2", p)
            qemu_io(p, "write -P %d %d 1M" % (0x10 + i, i * 768 * 1024),
                    "write -P %d %d 64k" % (0x40 + i, 8 * MiB + i * 200 * 1024),
                    "write -z %d 128k" % (12 * MiB + i * 64 * 1024))
        return paths


class Create(VsnapdImgTestCase):

    def test_create_plain_and_overlay_are_valid_for_qemu(self):
        base = self.path("base.qcow2")
        top = self.path("top.qcow2")
        img("create", "-q", "-f", "qcow2", base, "64M")
        self.qcheck(base)
        info = json.loads(run("qemu-img", "info", "--output=json", base).stdout)
        self.assertEqual(info["virtual-size"], 64 * MiB)
        self.assertEqual(info["cluster-size"], 65536)
        qemu_io(base, "write -P 0x5a 1M 2M")
        img("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top)
        self.qcheck(top)
        info = json.loads(run("qemu-img", "info", "--output=json", top).stdout)
        self.assertEqual(info["virtual-size"], 64 * MiB, "overlay takes the base's size")
        self.assertEqual(info["backing-filename"], base)
        self.assertEqual(info["backing-filename-format"], "qcow2")
        ok, why = same_content(top, base)
        self.assertTrue(ok, why)

    def test_create_options_and_sizes(self):
        p = self.path("c.qcow2")
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", p, "1G")
        info = json.loads(run("qemu-img", "info", "--output=json", p).stdout)
        self.assertEqual(info["cluster-size"], 4096)
        self.assertEqual(info["virtual-size"], 1 << 30)
        self.qcheck(p)

    def test_bad_invocations_fail_with_a_message(self):
        p = self.path("x.qcow2")
        cases = [
            ("no file", ["create", "-f", "qcow2"]),
            ("no size and no backing", ["create", "-f", "qcow2", p]),
            ("bad size", ["create", "-f", "qcow2", p, "12Q"]),
            ("unknown format", ["create", "-f", "vmdk", p, "1M"]),
            ("unknown option", ["create", "--frobnicate", "-f", "qcow2", p, "1M"]),
            ("missing backing", ["create", "-f", "qcow2", "-b", self.path("nope"), "-F", "qcow2", p]),
            ("unknown verb", ["frob", p]),
            ("info of missing file", ["info", self.path("nope.qcow2")]),
        ]
        for name, argv in cases:
            with self.subTest(name):
                r = img(*argv, check=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertTrue(r.stderr.strip(), "an error message on stderr")


class Info(VsnapdImgTestCase):

    KEYS = ("virtual-size", "filename", "cluster-size", "format", "backing-filename",
            "backing-filename-format", "full-backing-filename", "dirty-flag")

    def test_info_json_backing_chain_matches_qemu(self):
        paths = self.make_chain(["a.qcow2", "b.qcow2", "c.qcow2"])
        ours = json.loads(img("info", "--output=json", "--backing-chain", paths[-1]).stdout)
        theirs = json.loads(run("qemu-img", "info", "--output=json", "--backing-chain",
                                paths[-1]).stdout)
        self.assertEqual(len(ours), 3)
        for o, t in zip(ours, theirs):
            for k in self.KEYS:
                self.assertEqual(o.get(k), t.get(k), k)
            self.assertEqual(o["format-specific"]["data"]["compat"],
                             t["format-specific"]["data"]["compat"])
            self.assertEqual(o["format-specific"]["data"]["refcount-bits"],
                             t["format-specific"]["data"]["refcount-bits"])

    def test_info_human_output_names_the_backing_file(self):
        paths = self.make_chain(["a.qcow2", "b.qcow2"])
        out = img("info", paths[1]).stdout
        self.assertIn("image: " + paths[1], out)
        self.assertIn("virtual size: 16 MiB (16777216 bytes)", out)
        self.assertIn("backing file: " + paths[0], out)
        self.assertIn("file format: qcow2", out)


class Check(VsnapdImgTestCase):

    def test_clean_image_exits_0_with_qemu_json_fields(self):
        paths = self.make_chain(["a.qcow2", "b.qcow2"])
        r = img("check", "--output=json", paths[1])
        ours = json.loads(r.stdout)
        theirs = json.loads(run("qemu-img", "check", "--output=json", paths[1]).stdout)
        for k in ("check-errors", "image-end-offset", "total-clusters", "allocated-clusters",
                  "filename", "format"):
            self.assertEqual(ours.get(k), theirs.get(k), k)

    def leak_one_cluster(self, path):
        """Raises the refcount of the header cluster from 1 to 2: a leak for qemu-img check."""
        with open(path, "r+b") as f:
            hdr = f.read(104)
            rt_off = int.from_bytes(hdr[48:56], "big")
            f.seek(rt_off)
            rb_off = int.from_bytes(f.read(8), "big")
            f.seek(rb_off)
            self.assertEqual(int.from_bytes(f.read(2), "big"), 1)
            f.seek(rb_off)
            f.write((2).to_bytes(2, "big"))

    def test_leak_exits_3_and_repair_fixes_it(self):
        p = self.path("l.qcow2")
        run("qemu-img", "create", "-q", "-f", "qcow2", p, "16M")
        qemu_io(p, "write -P 7 0 256k")
        self.leak_one_cluster(p)
        self.assertEqual(run("qemu-img", "check", p, check=False).returncode, 3)
        r = img("check", "--output=json", p, check=False)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout).get("leaks"), 1)
        r = img("check", "-r", "all", p, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.qcheck(p)
        self.assertEqual(img("check", p, check=False).returncode, 0)

    def test_not_an_image_exits_1(self):
        p = self.path("junk.qcow2")
        with open(p, "wb") as f:
            f.write(b"QFI\xfb" + b"\xff" * 4092)
        r = img("check", p, check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)


class Snapshot(VsnapdImgTestCase):

    def test_create_list_apply_delete_agree_with_qemu(self):
        p = self.path("s.qcow2")
        ref = self.path("ref.raw")
        run("qemu-img", "create", "-q", "-f", "qcow2", p, "8M")
        qemu_io(p, "write -P 0x11 0 1M")
        img("snapshot", "-c", "one", p)
        run("qemu-img", "convert", "-O", "raw", p, ref)
        qemu_io(p, "write -P 0x22 512k 1M")
        img("snapshot", "-c", "two", p)
        listing = run("qemu-img", "snapshot", "-l", p).stdout
        self.assertIn("one", listing)
        self.assertIn("two", listing)
        ours = img("snapshot", "-l", p).stdout
        self.assertIn("one", ours)
        self.assertIn("two", ours)
        img("snapshot", "-a", "one", p)
        self.qcheck(p)
        ok, why = same_content(p, ref)
        self.assertTrue(ok, why)
        img("snapshot", "-d", "two", p)
        self.qcheck(p)
        self.assertNotIn("two", run("qemu-img", "snapshot", "-l", p).stdout)
        r = img("snapshot", "-d", "nosuch", p, check=False)
        self.assertNotEqual(r.returncode, 0)


class Commit(VsnapdImgTestCase):

    def test_commit_matches_qemu_img_commit(self):
        ours = self.make_chain(["a.qcow2", "b.qcow2", "c.qcow2"])
        theirs = self.make_chain(["qa.qcow2", "qb.qcow2", "qc.qcow2"])
        before = self.path("before.raw")
        run("qemu-img", "convert", "-O", "raw", ours[-1], before)
        img("commit", "-q", ours[-1])
        run("qemu-img", "commit", "-q", theirs[-1])
        for o, t in zip(ours, theirs):
            self.qcheck(o)
            ok, why = same_content(o, t)
            self.assertTrue(ok, "%s vs %s: %s" % (o, t, why))
        ok, why = same_content(ours[1], before)
        self.assertTrue(ok, "the backing image now holds what the top showed: " + why)

    def test_commit_to_a_deeper_base_with_b(self):
        ours = self.make_chain(["a.qcow2", "b.qcow2", "c.qcow2"])
        theirs = self.make_chain(["qa.qcow2", "qb.qcow2", "qc.qcow2"])
        img("commit", "-q", "-b", ours[0], ours[-1])
        run("qemu-img", "commit", "-q", "-b", theirs[0], theirs[-1])
        for o, t in zip(ours, theirs):
            self.qcheck(o)
        ok, why = same_content(ours[0], theirs[0])
        self.assertTrue(ok, why)

    def test_commit_of_an_image_without_backing_fails(self):
        p = self.path("alone.qcow2")
        run("qemu-img", "create", "-q", "-f", "qcow2", p, "1M")
        self.assertNotEqual(img("commit", p, check=False).returncode, 0)


class Rebase(VsnapdImgTestCase):

    def test_safe_rebase_matches_qemu_img_rebase(self):
        ours = self.make_chain(["a.qcow2", "b.qcow2", "c.qcow2"])
        theirs = self.make_chain(["qa.qcow2", "qb.qcow2", "qc.qcow2"])
        before = self.path("before.raw")
        run("qemu-img", "convert", "-O", "raw", ours[-1], before)
        img("rebase", "-q", "-b", ours[0], "-F", "qcow2", ours[-1])
        run("qemu-img", "rebase", "-q", "-b", theirs[0], "-F", "qcow2", theirs[-1])
        self.qcheck(ours[-1])
        ok, why = same_content(ours[-1], before)
        self.assertTrue(ok, "guest content survives a safe rebase: " + why)
        ok, why = same_content(ours[-1], theirs[-1])
        self.assertTrue(ok, why)
        info = json.loads(run("qemu-img", "info", "--output=json", ours[-1]).stdout)
        self.assertEqual(info["backing-filename"], ours[0])

    def test_safe_rebase_onto_nothing_flattens(self):
        ours = self.make_chain(["a.qcow2", "b.qcow2"])
        before = self.path("before.raw")
        run("qemu-img", "convert", "-O", "raw", ours[-1], before)
        img("rebase", "-q", "-b", "", ours[-1])
        info = json.loads(run("qemu-img", "info", "--output=json", ours[-1]).stdout)
        self.assertNotIn("backing-filename", info)
        ok, why = same_content(ours[-1], before)
        self.assertTrue(ok, why)

    def test_unsafe_rebase_only_rewrites_the_name(self):
        ours = self.make_chain(["a.qcow2", "b.qcow2"])
        moved = self.path("moved.qcow2")
        shutil.copy(ours[0], moved)
        img("rebase", "-u", "-b", moved, "-F", "qcow2", ours[1])
        self.qcheck(ours[1])
        info = json.loads(run("qemu-img", "info", "--output=json", ours[1]).stdout)
        self.assertEqual(info["backing-filename"], moved)
        ok, why = same_content(ours[1], ours[1])
        self.assertTrue(ok, why)


class Map(VsnapdImgTestCase):

    def test_map_json_matches_qemu(self):
        paths = self.make_chain(["a.qcow2", "b.qcow2", "c.qcow2"])
        ours = json.loads(img("map", "--output=json", paths[-1]).stdout)
        theirs = json.loads(run("qemu-img", "map", "--output=json", paths[-1]).stdout)
        strip = lambda rows: [{k: r.get(k) for k in ("start", "length", "depth", "present",
                                                     "zero", "data")} for r in rows]
        self.assertEqual(strip(ours), strip(theirs))
        # Offsets are host offsets in whichever layer holds the data; check they read back the
        # same bytes as the guest sees.
        for r in ours:
            if r["data"]:
                self.assertIn("offset", r)


class Bench(VsnapdImgTestCase):

    def test_bench_writes_the_pattern_qemu_reads_back(self):
        p = self.path("b.qcow2")
        run("qemu-img", "create", "-q", "-f", "qcow2", p, "16M")
        r = img("bench", "-w", "-c", "64", "-d", "4", "-s", "4k", "-S", "64k", "-o", "1M",
                "--pattern=171", "-f", "qcow2", p)
        self.assertIn("Run completed in", r.stdout)
        self.qcheck(p)
        run("qemu-io", "-f", "qcow2", "-c", "read -P 171 1M 4k", "-c",
            "read -P 171 %d 4k" % (1 * MiB + 63 * 65536), "-c", "read -P 0 %d 4k" % (1 * MiB + 4096), p)


if __name__ == "__main__":
    unittest.main()
