"""vsnapd's CIM-XML endpoint over raw HTTP, without pywbem: a 10,000-instance EnumerateInstances
read and parsed incrementally as it arrives, and the DSP0200 pull sequence
(OpenEnumerateInstances, PullInstancesWithPath, CloseEnumeration) over the same element set.

vsnapd-testd serves root/vsnapd/test with VSNAPD_TEST_ELEMENTS=10000 (E0..E9999, plus the three
Vsnapd_TestSubElement instances S0..S2 that a deep enumeration of Vsnapd_TestElement includes).
Responses small enough to keep are validated against the DSP0203 2.4 DTD with xmllint.
"""

import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vsnapd_fixture as fx  # noqa: E402
from test_cimxml_wbemcli import CimxmlDaemon, stop_checked  # noqa: E402

NAMESPACE = "root/vsnapd/test"
ELEMENTS = 10000
ALL_IDS = {"E%d" % i for i in range(ELEMENTS)} | {"S0", "S1", "S2"}
CONFIG = "[auth]\nallow_unencrypted = true\n"
READ_TIMEOUT = 60.0   # per socket read; sanitizer builds are slow, healthy ones answer in ms
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DTD = os.path.join(SOURCE_DIR, "..", "shared", "specs", "cim-dtd", "DSP0203_2.4.0.dtd")
CIM_ERR_INVALID_ENUMERATION_CONTEXT = 21

D = None


def setUpModule():
    global D
    fx.scrub_process_env()
    D = CimxmlDaemon(ELEMENTS, config=CONFIG)
    D.start()


def tearDownModule():
    if D is not None:
        stop_checked(D)


# ------------------------------------------------------------------ request building

def namespace_xml():
    return "<LOCALNAMESPACEPATH>%s</LOCALNAMESPACEPATH>" % "".join(
        '<NAMESPACE NAME="%s"/>' % part for part in NAMESPACE.split("/"))


def imethodcall(name, iparams):
    """A SIMPLEREQ IMETHODCALL; iparams: [(name, inner XML)]."""
    return (
        '<?xml version="1.0" encoding="utf-8" ?>\n'
        '<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
        '<IMETHODCALL NAME="%s">%s%s</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>' % (
            name, namespace_xml(),
            "".join('<IPARAMVALUE NAME="%s">%s</IPARAMVALUE>' % p for p in iparams)))


def value(v):
    return "<VALUE>%s</VALUE>" % v


def cim_headers(method):
    return [
        ("Content-Type", 'application/xml; charset="utf-8"'),
        ("CIMOperation", "MethodCall"),
        ("CIMMethod", method),
        ("CIMObject", NAMESPACE.replace("/", "%2F")),
        ("CIMProtocolVersion", "1.0"),
        ("Authorization", fx.basic_auth(D.admin_user, D.admin_password)),
        ("TE", "trailers"),
    ]


def rss_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def sanitized(pid):
    """True when the daemon runs under ASan/TSan: their allocators keep freed memory, so
    resident-set figures then say nothing about how much the server held at once."""
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    return any(lib in maps for lib in ("libasan", "libtsan", "libubsan"))


class CimxmlRaw(unittest.TestCase):

    def connect(self):
        c = fx.HttpConn("127.0.0.1", D.cimxml_port("http"), timeout=READ_TIMEOUT)
        self.addCleanup(c.close)
        return c

    def call(self, conn, method, iparams):
        """One intrinsic call on a keep-alive connection; returns (response, IMETHODRESPONSE)."""
        r = conn.request("POST", "/cimom", imethodcall(method, iparams), cim_headers(method))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("CIMOperation"), "MethodResponse", r)
        root = ET.fromstring(r.body)
        resp = root.find("MESSAGE/SIMPLERSP/IMETHODRESPONSE")
        self.assertIsNotNone(resp, r)
        self.assertEqual(resp.get("NAME"), method)
        return r, resp

    def assert_dtd_valid(self, body, what):
        if not os.path.exists(DTD):
            self.skipTest("DSP0203 DTD not found at %s" % DTD)
        with tempfile.NamedTemporaryFile(suffix=".xml") as f:
            f.write(body)
            f.flush()
            r = subprocess.run(["xmllint", "--noout", "--dtdvalid", DTD, f.name],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, "%s is not valid against DSP0203 2.4:\n%s" % (what, r.stderr[:2000]))

    # ------------------------------------------------------------ streaming
    def test_enumerate_instances_of_10000_streams(self):
        pid = D.proc.pid
        # Linux resets the peak resident set (VmHWM) to the current one on "5" in clear_refs.
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        rss_before = rss_kib(pid, "VmRSS")
        c = self.connect()
        body = imethodcall("EnumerateInstances", [
            ("ClassName", '<CLASSNAME NAME="Vsnapd_TestElement"/>'),
            ("DeepInheritance", value("TRUE")),
            ("LocalOnly", value("FALSE")),
        ])
        c.send_request("POST", "/cimom", body, cim_headers("EnumerateInstances"))
        head = c._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        self.assertRegex(head[0], r"^HTTP/1\.1 200 ", head)
        headers = {}
        for line in head[1:]:
            if line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        self.assertEqual(headers.get("cimoperation"), "MethodResponse", head)
        # Past 256 KiB the endpoint hands the rest out piece by piece (server/cimxml/endpoint.hpp):
        # an HTTP/1.1 answer in chunks, with the DSP0200 trailers this client asked for (TE).
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self.assertTrue(chunked, head)
        self.assertNotIn("content-length", headers, head)
        self.assertEqual(headers.get("trailer"), "CIMStatusCode, CIMStatusCodeDescription", head)

        # Feed the body to a pull parser piece by piece as it arrives, dropping each instance
        # once counted, the way a client that streams holds at most one instance.
        parser = ET.XMLPullParser(events=("end",))
        ids, seen_at = [], []          # seen_at: body bytes received when each batch was parsed
        received = pieces = 0
        trailers = {}
        depth_path = "VALUE.NAMEDINSTANCE"

        def feed(data):
            nonlocal received, pieces
            received += len(data)
            pieces += 1
            parser.feed(data)
            for _, el in parser.read_events():
                if el.tag == depth_path:
                    name = el.find("INSTANCENAME")
                    kb = name.find("KEYBINDING[@NAME='InstanceID']/KEYVALUE") if name is not None else None
                    ids.append(kb.text if kb is not None else None)
                    seen_at.append(received)
                    el.clear()

        if chunked:
            data_chunks = 0
            while True:
                size = int(c._read_until(b"\r\n").decode("latin-1").split(";")[0].strip(), 16)
                if size == 0:
                    while True:
                        line = c._read_until(b"\r\n")
                        if line == b"\r\n":
                            break
                        k, _, v = line.decode("latin-1").partition(":")
                        trailers[k.strip().lower()] = v.strip()
                    break
                feed(c._read_exact(size))
                c._read_exact(2)
                data_chunks += 1
            # A server that built the body whole would send it as one piece.
            self.assertGreater(data_chunks, 10, "10,000 instances in %d chunks" % data_chunks)
            self.assertEqual(trailers.get("cimstatuscode"), "0", trailers)
        else:
            remaining = int(headers["content-length"])
            while remaining:
                if not c.buf:
                    c._fill()
                data, c.buf = c.buf[:remaining], c.buf[remaining:]
                remaining -= len(data)
                feed(data)
        parser.close()
        hwm_after = rss_kib(pid, "VmHWM")

        self.assertEqual(len(ids), len(ALL_IDS), "instances in the response")
        self.assertEqual(set(ids), ALL_IDS)
        # Incremental: instances were complete and usable long before the body ended.
        self.assertGreater(pieces, 10)
        self.assertLess(seen_at[0], received // 10,
                        "first instance only parsed after %d of %d bytes" % (seen_at[0], received))
        if not sanitized(pid):
            # The endpoint streams: it holds the first 256 KiB, then one cursor batch (256
            # instances) and one 64 KiB piece at a time, so the daemon's peak grows by a small
            # fraction of the ~10 MB body. Building the body whole grew it by 1.7-2.5 bodies.
            growth = (hwm_after - rss_before) * 1024
            self.assertLess(growth, received // 5,
                            "VmHWM grew by %d bytes while sending a %d-byte response" % (growth, received))
        # The connection stays usable (keep-alive) after the streamed response.
        _, resp = self.call(c, "GetInstance", [("InstanceName",
                                                '<INSTANCENAME CLASSNAME="Vsnapd_TestElement"><KEYBINDING '
                                                'NAME="InstanceID"><KEYVALUE VALUETYPE="string">E9999'
                                                '</KEYVALUE></KEYBINDING></INSTANCENAME>')])
        self.assertIsNone(resp.find("ERROR"), ET.tostring(resp)[:500])

    # ------------------------------------------------------------ pull operations
    def open_enumerate(self, conn, max_objects):
        r, resp = self.call(conn, "OpenEnumerateInstances", [
            ("ClassName", '<CLASSNAME NAME="Vsnapd_TestElement"/>'),
            ("OperationTimeout", value(30)),
            ("MaxObjectCount", value(max_objects)),
        ])
        return r, resp

    def pull_result(self, resp):
        """(instance ids, EnumerationContext, EndOfSequence) of an Open*/Pull* response."""
        # Failure messages are built only on failure: serializing 1,000 instances per
        # assertion would cost seconds.
        def show(el):
            return ET.tostring(el)[:500]

        if resp.find("ERROR") is not None:
            self.fail(show(resp))
        ids = []
        for iwp in resp.iterfind("IRETURNVALUE/VALUE.INSTANCEWITHPATH"):
            kv = iwp.find("INSTANCEPATH/INSTANCENAME/KEYBINDING[@NAME='InstanceID']/KEYVALUE")
            prop = iwp.find("INSTANCE/PROPERTY[@NAME='InstanceID']/VALUE")
            if kv is None or prop is None or prop.text != kv.text:
                self.fail("instance path and InstanceID property disagree: %r" % show(iwp))
            ids.append(kv.text)
        params = {p.get("NAME"): p for p in resp.findall("PARAMVALUE")}
        if "EndOfSequence" not in params or "EnumerationContext" not in params:
            self.fail("EndOfSequence or EnumerationContext missing: %r" % show(resp)[-500:])
        eos = params["EndOfSequence"].findtext("VALUE", "").strip().upper()
        self.assertIn(eos, ("TRUE", "FALSE"))
        ctx = params["EnumerationContext"].findtext("VALUE")
        return ids, ctx, eos == "TRUE"

    def test_pull_sequence_returns_every_instance_once(self):
        c = self.connect()
        batch = 1000
        r, resp = self.open_enumerate(c, batch)
        self.assert_dtd_valid(r.body, "OpenEnumerateInstances response")
        ids, ctx, end = self.pull_result(resp)
        self.assertLessEqual(len(ids), batch)
        collected = list(ids)
        pulls = 0
        while not end:
            self.assertTrue(ctx, "no EnumerationContext while EndOfSequence is FALSE")
            pulls += 1
            self.assertLess(pulls, 2 * len(ALL_IDS) // batch + 5, "pull sequence does not end")
            r, resp = self.call(c, "PullInstancesWithPath", [
                ("EnumerationContext", value(ctx)), ("MaxObjectCount", value(batch))])
            if pulls == 1:
                self.assert_dtd_valid(r.body, "PullInstancesWithPath response")
            ids, ctx, end = self.pull_result(resp)
            self.assertLessEqual(len(ids), batch)
            collected += ids
        self.assertEqual(len(collected), len(ALL_IDS), "instances over the pull sequence")
        self.assertEqual(set(collected), ALL_IDS)
        self.assertGreaterEqual(pulls, len(ALL_IDS) // batch - 1)

    def test_close_enumeration_ends_the_context(self):
        c = self.connect()
        _, resp = self.open_enumerate(c, 0)   # DSP0200: MaxObjectCount 0 opens without results
        ids, ctx, end = self.pull_result(resp)
        self.assertEqual(ids, [])
        self.assertFalse(end)
        _, resp = self.call(c, "PullInstancesWithPath", [
            ("EnumerationContext", value(ctx)), ("MaxObjectCount", value(5))])
        ids, ctx2, end = self.pull_result(resp)
        self.assertEqual(len(ids), 5)
        self.assertFalse(end)
        r, resp = self.call(c, "CloseEnumeration", [("EnumerationContext", value(ctx2))])
        self.assertIsNone(resp.find("ERROR"), r)
        self.assert_dtd_valid(r.body, "CloseEnumeration response")
        # The closed context is gone: pulling from it is CIM_ERR_INVALID_ENUMERATION_CONTEXT.
        r, resp = self.call(c, "PullInstancesWithPath", [
            ("EnumerationContext", value(ctx2)), ("MaxObjectCount", value(5))])
        err = resp.find("ERROR")
        self.assertIsNotNone(err, r)
        self.assertEqual(int(err.get("CODE")), CIM_ERR_INVALID_ENUMERATION_CONTEXT, r)
        self.assert_dtd_valid(r.body, "ERROR response")


if __name__ == "__main__":
    unittest.main()
