"""Malformed WS-Man requests sent with curl to vsnapd-testd over HTTPS: each gets the documented
HTTP status and SOAP fault, never a garbled reply, and the daemon keeps serving.

Table-driven: every case is (name, body bytes, content type, check). curl is the transport wsl,
wbemcli and libwsman use (it sends `Expect: 100-continue` above 1 MiB, which the oversize case
exercises).
"""

import codecs
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_wsman_support as ws  # noqa: E402  (sets VSNAPD_BIN to vsnapd-testd)
import vsnapd_fixture as fx  # noqa: E402

MAX_ENVELOPE = 65536
SOAP_CT = "application/soap+xml;charset=UTF-8"
EL = "Vsnapd_TestElement"


def good_get(mid="uuid:00000000-1111-2222-3333-444444444444"):
    return ws.get_xml(EL, "E1", mid=mid)


class CurlReply:
    def __init__(self, status, headers, body, curl):
        self.status, self.headers, self.body, self.curl = status, headers, body, curl

    def header(self, name):
        for line in self.headers.split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() == name.lower():
                return v.strip()
        return None

    def __repr__(self):
        return "HTTP %s\n%s\n%r\ncurl: %s" % (self.status, self.headers, self.body[:1200], self.curl.stderr[-500:])


class WsmanCurlMalformed(ws.TestdCase):
    ELEMENTS = 10
    CONFIG = ("[auth]\nanonymous_identify = false\nmax_failures = 1000\n"
              "[limits]\nmax_envelope_size = %d\n" % MAX_ENVELOPE)

    def post(self, body, content_type=SOAP_CT, extra=()):
        work = tempfile.mkdtemp(prefix="vsnapd-it-curl-")
        self.addCleanup(shutil.rmtree, work, True)
        body_file = os.path.join(work, "body")
        with open(body_file, "wb") as f:
            f.write(body if isinstance(body, bytes) else body.encode("utf-8"))
        out_file, hdr_file = os.path.join(work, "out"), os.path.join(work, "headers")
        # Credentials through -K on stdin: never on a command line.
        config = 'user = "%s:%s"\n' % (self.d.admin_user, self.d.admin_password)
        args = ["curl", "-sS", "-k", "-K", "-", "--max-time", "30",
                "--data-binary", "@" + body_file, "-o", out_file, "-D", hdr_file, "-w", "%{http_code}"]
        if content_type is not None:
            args += ["-H", "Content-Type: " + content_type]
        args += list(extra) + [self.d.url("https")]
        r = subprocess.run(args, input=config, capture_output=True, text=True, timeout=40, env=fx.client_env())
        out = open(out_file, "rb").read() if os.path.exists(out_file) else b""
        headers = open(hdr_file, encoding="latin-1", newline="").read() if os.path.exists(hdr_file) else ""
        # With 100-continue there are two header blocks; keep the final one.
        headers = headers.strip().split("\r\n\r\n")[-1]
        status = int(r.stdout.strip() or 0)
        return CurlReply(status, headers, out, r)

    def assert_fault(self, r, subcode=None, code=None, detail=None):
        self.assertEqual(r.status, 500, r)
        ct = (r.header("Content-Type") or "").replace(" ", "").lower()
        self.assertTrue(ct.startswith("application/soap+xml"), r)
        f = fx.fault_info(r.body)  # also proves the body is well-formed UTF-8 XML
        if subcode:
            self.assertEqual(f["subcode_local"], subcode, f)
        if code:
            self.assertEqual((f["code"] or "").rpartition(":")[2], code, f)
        if detail:
            self.assertIn(detail, f["detail_text"], f)
        return f

    def assert_still_serving(self):
        r = self.post(good_get())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(ws.props(ws.parse(r.body).find("s:Body", ws.NS)[0])["InstanceID"], "E1")

    def test_well_formed_get_is_answered(self):
        # the baseline every malformed case below departs from
        self.assert_still_serving()

    def test_malformed_xml(self):
        get = good_get()
        cases = [
            ("truncated", get[: len(get) // 2]),
            ("unclosed element", get.replace("</s:Header>", "")),
            ("garbage", "this is <<< not XML \x01 at all"),
            ("empty body", ""),
            ("undeclared prefix", get.replace("<s:Body>", "<s:Body><zz:Thing/>")),
        ]
        for name, body in cases:
            with self.subTest(name):
                self.assert_fault(self.post(body), "SchemaValidationError")
        self.assert_still_serving()

    def test_two_root_elements_refused(self):
        # Two envelopes back to back are not one XML document.
        self.assert_fault(self.post(good_get() + good_get()), "SchemaValidationError")

    def test_invalid_utf8_refused_with_a_valid_fault(self):
        # Bytes that are not UTF-8 in a UTF-8 request: refused, and the fault itself must stay
        # valid UTF-8 XML (clients' parsers reject anything else), so nothing is echoed raw.
        bad = good_get().encode("utf-8").replace(b"E1", b"E\xff\xfe1")
        r = self.post(bad)
        self.assertEqual(r.status, 500, r)
        r.body.decode("utf-8")  # raises on invalid UTF-8
        fx.fault_info(r.body)
        self.assert_still_serving()

    def test_not_an_envelope(self):
        cases = [
            ("soap 1.1 namespace", good_get().replace("http://www.w3.org/2003/05/soap-envelope",
                                                       "http://schemas.xmlsoap.org/soap/envelope/"), "VersionMismatch"),
        ]
        for name, body, code in cases:
            with self.subTest(name):
                self.assert_fault(self.post(body), code=code)
        r = self.post('<?xml version="1.0"?><Envelope><Body/></Envelope>')
        self.assertEqual(r.status, 500, r)
        fx.fault_info(r.body)

    def test_entity_expansion_refused(self):
        bomb = ('<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
                '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
                '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>')
        body = bomb + good_get().replace("E1</w:Selector>", "&e;</w:Selector>")
        r = self.post(body)
        self.assertEqual(r.status, 500, r)
        fx.fault_info(r.body)
        self.assertNotIn(b"aaaaaaaaaa", r.body)
        self.assert_still_serving()

    def test_wrong_content_type(self):
        for ct in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
            with self.subTest(ct):
                r = self.post(good_get(), content_type=ct)
                self.assertEqual(r.status, 415, r)
        # curl's own default for --data-binary is form-urlencoded; no header at all is the same
        r = self.post(good_get(), content_type=None)
        self.assertEqual(r.status, 415, r)

    def test_content_type_parameters_any_case(self):
        for ct in ("application/soap+xml;charset=utf-8", 'Application/SOAP+XML; charset="UTF-8"',
                   "application/soap+xml"):
            with self.subTest(ct):
                r = self.post(good_get(), content_type=ct)
                self.assertEqual(r.status, 200, r)

    def test_missing_addressing_headers(self):
        get = good_get()
        no_action = get.replace(
            '<a:Action s:mustUnderstand="true">%s</a:Action>' % ws.ACT_GET, "")
        self.assertNotEqual(no_action, get)
        mid = "uuid:00000000-1111-2222-3333-444444444444"
        f = self.assert_fault(self.post(no_action), "MessageInformationHeaderRequired")
        self.assertEqual(f["relates_to"], mid, f)
        no_uri = get.replace('<w:ResourceURI s:mustUnderstand="true">%s</w:ResourceURI>' % ws.class_uri(EL), "")
        self.assertNotEqual(no_uri, get)
        self.assert_fault(self.post(no_uri), "DestinationUnreachable")

    def test_unknown_action(self):
        body = good_get().replace(ws.ACT_GET, "http://example.com/no/such/Action")
        self.assert_fault(self.post(body), "ActionNotSupported")

    def oversize(self, size):
        get = good_get()
        pad = "<!-- %s -->" % ("x" * (size - len(get)))
        return get.replace("<s:Body/>", "<s:Body>%s</s:Body>" % pad).replace("<s:Body></s:Body>",
                                                                          "<s:Body>%s</s:Body>" % pad)

    def test_oversize_envelope(self):
        for size in (MAX_ENVELOPE + 1024, 2 * 1024 * 1024):
            with self.subTest(size=size):
                body = self.oversize(size)
                self.assertGreater(len(body), MAX_ENVELOPE)
                r = self.post(body)
                self.assert_fault(r, "EncodingLimit",
                                  detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MaxEnvelopeSize")
        self.assert_still_serving()

    def test_utf16_decoded_or_refused_never_garbled(self):
        text = good_get().replace("<s:Envelope", '<?xml version="1.0" encoding="UTF-16"?><s:Envelope', 1)
        for codec, bom in (("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)):
            with self.subTest(codec):
                r = self.post(bom + text.encode(codec), content_type="application/soap+xml;charset=UTF-16")
                if r.status == 200:
                    inst = ws.parse(r.body).find("s:Body", ws.NS)[0]
                    self.assertEqual(ws.props(inst)["InstanceID"], "E1")
                else:
                    self.assert_fault(r, "EncodingLimit",
                                      detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/CharacterSet")
        # UTF-16 bytes with a BOM but labelled UTF-8: the BOM may win (decoded) or the request is
        # refused; either way the reply is well-formed UTF-8 and, if 200, the right instance.
        r = self.post(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
        if r.status == 200:
            self.assertEqual(ws.props(ws.parse(r.body).find("s:Body", ws.NS)[0])["InstanceID"], "E1")
        else:
            self.assert_fault(r)
        self.assert_still_serving()


if __name__ == "__main__":
    unittest.main(verbosity=2)
