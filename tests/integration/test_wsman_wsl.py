"""WS-Man operations through wsl (openwsman-style bash + curl client) against vsnapd-testd over HTTPS.

wsl writes request-N.xml / response-N.xml (xmllint-formatted) and response.xml (the last reply)
into its working directory and pastes pieces of earlier replies into later requests (the
EnumerationContext, an instance's selectors for invoke, whole EPRs for reference parameters), so
these tests check what wsl prints and exits with, and read its response files for the details.
The captured wsl requests are in ../shared/vectors/clients/wsl-*.txt.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_wsman_support as ws  # noqa: E402  (sets VSNAPD_BIN to vsnapd-testd)
import vsnapd_fixture as fx  # noqa: E402

WSL_DIR = "/usr/bin"
EL = "Vsnapd_TestElement"
SUB = "Vsnapd_TestSubElement"
ELEMENTS = 25
_SHELL_SAFE = re.compile(r"^[A-Za-z0-9._+/=@%^~-]+$")


class WslRun:
    def __init__(self, proc, work):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.work = work
        self.responses = []
        for path in sorted(glob.glob(os.path.join(work, "response-*.xml")),
                           key=lambda p: int(re.search(r"response-(\d+)\.xml$", p).group(1))):
            with open(path, "rb") as f:
                self.responses.append(f.read())
        self.requests = []
        for path in sorted(glob.glob(os.path.join(work, "request-*.xml")),
                           key=lambda p: int(re.search(r"request-(\d+)\.xml$", p).group(1))):
            with open(path, "rb") as f:
                self.requests.append(f.read())

    def diag(self):
        log = ""
        p = os.path.join(self.work, "log.txt")
        if os.path.exists(p):
            with open(p, encoding="utf-8", errors="replace") as f:
                log = f.read()[-3000:]
        last = self.responses[-1][:1500].decode("utf-8", "replace") if self.responses else ""
        return "wsl rc=%d\nstdout (tail):\n%s\nstderr:\n%s\nlog.txt:\n%s\nlast response:\n%s" % (
            self.rc, self.stdout[-2000:], self.stderr[-2000:], log, last)

    def pages(self):
        return [ws.EnumPage(ws.parse(r)) for r in self.responses]


class WsmanWsl(ws.TestdCase):
    ELEMENTS = ELEMENTS
    CONFIG = "[auth]\nanonymous_identify = false\n"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # wsl pastes the password unquoted into a `bash -c "curl ..."` command line.
        if not _SHELL_SAFE.match(cls.d.admin_password or ""):
            cls.d.close()
            raise AssertionError("admin password is not shell-safe for wsl: %r" % cls.d.admin_password)

    def wsl(self, tool, *args, work=None, files=None):
        """Runs `wsl TOOL ARGS` (tool 'wsl' runs the dispatcher, which turns on optimized
        enumeration with 512 elements; 'wslenum' etc. run a sub-tool with wsl's defaults off)."""
        if work is None:
            work = tempfile.mkdtemp(prefix="vsnapd-it-wsl-")
            self.addCleanup(shutil.rmtree, work, True)
        for name, text in (files or {}).items():
            with open(os.path.join(work, name), "w", encoding="utf-8") as f:
                f.write(text)
        for stale in glob.glob(os.path.join(work, "re*-*.xml")):
            os.remove(stale)
        env = fx.client_env({
            "HOME": work, "SHELL": "/bin/bash",
            "WSENDPOINT": "127.0.0.1:%d" % self.d.port("https"),
            "WSUSER": self.d.admin_user, "WSPASS": self.d.admin_password,
            "OUTLEVEL": "1", "IPINTERACTIVE": "0",
        })
        for var in ("WSNOSSL", "WSENUMOPTIMIZE", "WSENUMMAXELEM", "FORMATDISPLAY"):
            env.pop(var, None)
        proc = subprocess.run([os.path.join(WSL_DIR, tool)] + list(args), cwd=work, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        return WslRun(proc, work)

    def enum_items(self, run):
        """Items of every page; checks the paging contract on the way."""
        pages = run.pages()
        self.assertTrue(pages, run.diag())
        items = []
        for i, page in enumerate(pages):
            items += page.items
            last = i == len(pages) - 1
            if last:
                self.assertTrue(page.end, "last reply has no EndOfSequence\n" + run.diag())
                self.assertIsNone(page.context, "final reply still has an EnumerationContext\n" + run.diag())
            else:
                self.assertIsNotNone(page.context, run.diag())
        return pages, items

    def ids(self, items):
        return sorted(ws.props(i)["InstanceID"] for i in items)

    ALL = sorted(["E%d" % i for i in range(ELEMENTS)] + ["S0", "S1", "S2"])

    # ------------------------------------------------------------ identify
    def test_identify(self):
        r = self.wsl("wsl", "identify", "check")
        self.assertEqual(r.rc, 0, r.diag())
        self.assertRegex(r.stdout, r"<(\w+:)?ProductVendor>vsnapd</(\w+:)?ProductVendor>", r.diag())
        self.assertEqual(ws.parse(r.responses[-1]).find("s:Body/wsmid:IdentifyResponse", ws.NS) is not None, True)

    # ---------------------------------------------------------------- enum
    def test_enum_optimized_default(self):
        r = self.wsl("wsl", "enum", ws.class_uri(EL), "-ns", ws.TEST_NS)
        self.assertEqual(r.rc, 0, r.diag())
        pages, items = self.enum_items(r)
        self.assertEqual(len(pages), 1, r.diag())
        self.assertEqual(self.ids(items), self.ALL)
        self.assertIn("element 3 &lt;&amp;&gt;", r.stdout)

    def test_enum_opti_pages_through_pulls(self):
        r = self.wsl("wsl", "enum", ws.class_uri(EL), "-ns", ws.TEST_NS, "-opti", "7")
        self.assertEqual(r.rc, 0, r.diag())
        pages, items = self.enum_items(r)
        self.assertGreaterEqual(len(pages), 4, r.diag())
        for p in pages:
            self.assertLessEqual(len(p.items), 7)
        self.assertEqual(self.ids(items), self.ALL)
        self.assertEqual([p.kind for p in pages[1:]], ["PullResponse"] * (len(pages) - 1))

    def test_enum_not_optimized(self):
        # wslenum on its own: Enumerate without OptimizeEnumeration, then Pulls with no
        # MaxElements (one item each, DSP0226's default) until the context disappears.
        r = self.wsl("wslenum", ws.class_uri(SUB), "-ns", ws.TEST_NS)
        self.assertEqual(r.rc, 0, r.diag())
        pages, items = self.enum_items(r)
        self.assertEqual(pages[0].items, [])
        self.assertEqual(self.ids(items), ["S0", "S1", "S2"])

    def test_enum_mode_epr(self):
        r = self.wsl("wsl", "enum", ws.class_uri(SUB), "-ns", ws.TEST_NS, "-mode", "epr")
        self.assertEqual(r.rc, 0, r.diag())
        _, items = self.enum_items(r)
        got = []
        for it in items:
            self.assertEqual(ws.local(it.tag), "EndpointReference")
            uri, sels = ws.epr_selectors(it)
            self.assertEqual(uri, ws.class_uri(SUB))
            got.append(sels["InstanceID"])
        self.assertEqual(sorted(got), ["S0", "S1", "S2"])

    def test_enum_mode_objepr(self):
        r = self.wsl("wsl", "enum", ws.class_uri(SUB), "-ns", ws.TEST_NS, "-mode", "objepr", "-opti", "2")
        self.assertEqual(r.rc, 0, r.diag())
        _, items = self.enum_items(r)
        self.assertEqual(len(items), 3)
        for it in items:
            self.assertEqual(ws.local(it.tag), "Item")
            _, sels = ws.epr_selectors(it.find("wsa:EndpointReference", ws.NS))
            self.assertEqual(sels["InstanceID"], ws.props(it[0])["InstanceID"])

    def test_enum_filter_cql_default_dialect(self):
        r = self.wsl("wsl", "enum", ws.class_uri(EL), "-ns", ws.TEST_NS,
                     "-filter", "select * from Vsnapd_TestElement where Index > 21")
        # (wsl pastes the filter into the XML unescaped, so no '<' here)
        self.assertEqual(r.rc, 0, r.diag())
        _, items = self.enum_items(r)
        self.assertEqual(self.ids(items), ["E22", "E23", "E24"])

    def test_enum_filter_wql(self):
        r = self.wsl("wsl", "enum", ws.class_uri(EL), "-ns", ws.TEST_NS, "-dialect", ws.WQL_MS,
                     "-filter", "SELECT * FROM Vsnapd_TestElement WHERE InstanceID = 'E20'")
        self.assertEqual(r.rc, 0, r.diag())
        _, items = self.enum_items(r)
        self.assertEqual(self.ids(items), ["E20"])

    def test_enum_filter_selector(self):
        r = self.wsl("wsl", "enum", ws.class_uri(EL), "-ns", ws.TEST_NS,
                     "-dialect", "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter",
                     "-filter", "InstanceID=E11")
        self.assertEqual(r.rc, 0, r.diag())
        _, items = self.enum_items(r)
        self.assertEqual(self.ids(items), ["E11"])

    def test_enum_association_filters(self):
        # wsl swaps the names: -references sends AssociatedInstances (associators) and
        # -associators sends AssociationInstances (references). The server follows the element.
        r = self.wsl("wsl", "enum", ws.class_uri(EL), "-ns", ws.TEST_NS, "-references", "InstanceID=E5")
        self.assertEqual(r.rc, 0, r.diag())
        self.assertIn(b"AssociatedInstances", r.requests[0])
        _, items = self.enum_items(r)
        self.assertEqual(self.ids(items), ["E4", "E6"])

        r = self.wsl("wsl", "enum", ws.class_uri(EL), "-ns", ws.TEST_NS, "-associators", "InstanceID=E5")
        self.assertEqual(r.rc, 0, r.diag())
        self.assertIn(b"AssociationInstances", r.requests[0])
        _, items = self.enum_items(r)
        self.assertEqual(sorted(ws.local(i.tag) for i in items), ["Vsnapd_TestLink"] * 2)
        self.assertEqual(sorted(ws.props(i)["Weight"] for i in items), ["4", "5"])

    def test_enum_cim_class_by_name_in_interop(self):
        # A bare CIM_ class name: wsl makes it the DMTF resource URI itself.
        r = self.wsl("wsl", "enum", "CIM_Namespace", "-ns", "root/interop")
        self.assertEqual(r.rc, 0, r.diag())
        self.assertIn(b"cim-schema/2/CIM_Namespace", r.requests[0])
        _, items = self.enum_items(r)
        names = {ws.props(i)["Name"] for i in items}
        self.assertTrue({"root/interop", ws.TEST_NS} <= names, names)

    def test_enum_unknown_namespace_fails(self):
        r = self.wsl("wsl", "enum", ws.class_uri(EL), "-ns", "root/no/such/ns")
        self.assertNotEqual(r.rc, 0, r.diag())
        self.assertIn(b"Fault", r.responses[0])

    # ----------------------------------------------------------------- get
    def test_get(self):
        # wslget's success check greps the reply for the last selector's name as a property.
        r = self.wsl("wsl", "get", ws.class_uri(EL), "__cimnamespace=" + ws.TEST_NS, "InstanceID=E3")
        self.assertEqual(r.rc, 0, r.diag())
        inst = ws.parse(r.responses[-1]).find("s:Body", ws.NS)[0]
        p = ws.props(inst)
        self.assertEqual((p["InstanceID"], p["Index"], p["Name"]), ("E3", "3", "element 3 <&>"))
        self.assertIn("element 3 &lt;&amp;&gt;", r.stdout)

    def test_get_registered_profile_in_interop(self):
        r = self.wsl("wsl", "get", "CIM_RegisteredProfile", "__cimnamespace=root/interop",
                     "InstanceID=vsnapd:DSP1044-1.0.0")
        self.assertEqual(r.rc, 0, r.diag())
        p = ws.props(ws.parse(r.responses[-1]).find("s:Body", ws.NS)[0])
        self.assertEqual((p["InstanceID"], p["RegisteredName"]), ("vsnapd:DSP1044-1.0.0", "Virtual System Snapshot"))

    def test_get_missing_instance_fault(self):
        r = self.wsl("wsl", "get", ws.class_uri(EL), "__cimnamespace=" + ws.TEST_NS, "InstanceID=E999")
        self.assertNotEqual(r.rc, 0, r.diag())
        f = fx.fault_info(r.responses[-1])
        self.assertEqual(f["subcode_local"], "DestinationUnreachable", f)

    # -------------------------------------------------------------- invoke
    def epr_file(self, iid):
        """An EPR reply of `wsl enum -mode epr` narrowed to one instance, as wsl users save it."""
        r = self.wsl("wsl", "enum", ws.class_uri(EL), "-ns", ws.TEST_NS, "-mode", "epr",
                     "-filter", "select * from Vsnapd_TestElement where InstanceID='%s'" % iid)
        self.assertEqual(r.rc, 0, r.diag())
        self.assertEqual(len(r.pages()[0].items), 1, r.diag())
        return r.responses[-1].decode("utf-8")

    def test_invoke_echo_with_instance_and_reference_files(self):
        files = {"e8.xml": self.epr_file("E8"), "e9.xml": self.epr_file("E9")}
        r = self.wsl("wsl", "invoke", ws.class_uri(EL), "Echo", "Text=hello", "Target=FILE:e9.xml",
                     "-inst", "e8.xml", files=files)
        self.assertEqual(r.rc, 0, r.diag())
        out = ws.parse(r.responses[-1]).find("s:Body", ws.NS)[0]
        self.assertEqual(ws.local(out.tag), "Echo_OUTPUT", r.diag())
        p = ws.props(out)
        self.assertEqual((p["ReturnValue"], p["TextOut"]), ("0", "hello"))
        t = p["TargetOut"]
        epr = t.find("wsa:EndpointReference", ws.NS)
        _, sels = ws.epr_selectors(epr if epr is not None else t)
        self.assertEqual(sels["InstanceID"], "E9")

    def test_invoke_after_filtered_enumeration(self):
        # Without -inst wsl enumerates EPRs (here narrowed by a CQL filter) and invokes on the
        # first one, pasting the server's SelectorSet into its own request.
        r = self.wsl("wsl", "invoke", ws.class_uri(EL), "Echo", "Text=via-enum", "-n", ws.TEST_NS,
                     "-filter", "select * from Vsnapd_TestElement where InstanceID='E2'")
        self.assertEqual(r.rc, 0, r.diag())
        self.assertIn(b"E2", r.requests[-1])
        p = ws.props(ws.parse(r.responses[-1]).find("s:Body", ws.NS)[0])
        self.assertEqual((p["ReturnValue"], p["TextOut"]), ("0", "via-enum"))

    def test_invoke_static_noop(self):
        epr = ("<wsa:EndpointReference>\n"
               "<wsa:Address>%s</wsa:Address>\n"
               "<wsa:ReferenceParameters>\n"
               "<wsman:ResourceURI>%s</wsman:ResourceURI>\n"
               "<wsman:SelectorSet>\n"
               '<wsman:Selector Name="__cimnamespace">%s</wsman:Selector>\n'
               "</wsman:SelectorSet>\n"
               "</wsa:ReferenceParameters>\n"
               "</wsa:EndpointReference>\n") % (ws.ANONYMOUS, ws.class_uri(EL), ws.TEST_NS)
        r = self.wsl("wsl", "invoke", ws.class_uri(EL), "Noop", "-inst", "static.xml", files={"static.xml": epr})
        self.assertEqual(r.rc, 0, r.diag())
        p = ws.props(ws.parse(r.responses[-1]).find("s:Body", ws.NS)[0])
        self.assertEqual(p["ReturnValue"], "0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
