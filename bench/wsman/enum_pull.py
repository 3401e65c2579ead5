"""Enumerate + Pull of every Vsnapd_TestElement over one HTTPS keep-alive connection with Basic
auth, timed, with the server's memory read from /proc/<pid>/status before and after
(bench/wsman/run.sh). Prints key=value lines.

    python3 enum_pull.py --port P --user U --password-file F --pid PID [--expect 10000]
                         [--max-elements 100] [--runs 3]

Every run must return each of E0..E<expect-1> exactly once (checked on the wire text, cheaply,
so the client's own parsing cost stays small against the server's time).
"""

import argparse
import base64
import http.client
import os
import re
import ssl
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsman_requests as rq  # noqa: E402

CTX_RE = re.compile(rb"EnumerationContext>([^<]+)</")
ID_RE = re.compile(rb"InstanceID>E(\d+)</")


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/%d/status" % (key, pid))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--expect", type=int, default=10000)
    ap.add_argument("--max-elements", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    with open(a.password_file) as f:
        password = f.read().strip()
    auth = "Basic " + base64.b64encode(("%s:%s" % (a.user, password)).encode()).decode()
    headers = {"Content-Type": "application/soap+xml;charset=UTF-8", "Authorization": auth}
    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(a.host, a.port, context=tls, timeout=60)

    def post(body):
        conn.request("POST", "/wsman", body.encode(), headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            text = data.decode("utf-8", "replace")
            fault = re.findall(r"<s:Value>([^<]*)</s:Value>", text) + re.findall(r"<s:Text[^>]*>([^<]*)</s:Text>", text)
            raise RuntimeError("HTTP %d %s" % (r.status, " ".join(fault) or text[:300]))
        return data

    def one_run():
        seen = bytearray(a.expect)
        count = requests = bytes_in = 0
        t0 = time.perf_counter()
        data = post(rq.enumerate_(a.max_elements))
        requests += 1
        while True:
            bytes_in += len(data)
            ids = ID_RE.findall(data)
            if len(ids) > a.max_elements:
                raise RuntimeError("a page carried %d items, more than MaxElements %d" % (len(ids), a.max_elements))
            for i in ids:
                n = int(i)
                if n >= a.expect or seen[n]:
                    raise RuntimeError("unexpected or repeated instance E%d" % n)
                seen[n] = 1
            count += len(ids)
            if b"EndOfSequence" in data:
                if CTX_RE.search(data):
                    raise RuntimeError("final page still carries an EnumerationContext")
                break
            m = CTX_RE.search(data)
            if not m:
                raise RuntimeError("no EnumerationContext and no EndOfSequence")
            data = post(rq.pull(m.group(1).decode(), a.max_elements))
            requests += 1
        secs = time.perf_counter() - t0
        if count != a.expect:
            raise RuntimeError("enumerated %d instances of E0..E%d, expected %d" % (count, a.expect - 1, a.expect))
        return secs, requests, bytes_in

    post(rq.get("E1"))  # TLS handshake and authentication outside the timed part
    # Reset the peak (VmHWM) to the current RSS so the peak read afterwards is this test's own.
    hwm_reset = 0
    try:
        with open("/proc/%d/clear_refs" % a.pid, "w") as f:
            f.write("5")
        hwm_reset = 1
    except OSError:
        pass
    rss_before = status_kib(a.pid, "VmRSS")
    hwm_before = status_kib(a.pid, "VmHWM")
    times = []
    for i in range(a.runs):
        secs, requests, bytes_in = one_run()
        times.append(secs)
        if i == 0:
            rss_first = status_kib(a.pid, "VmRSS")
            hwm_first = status_kib(a.pid, "VmHWM")
    rss_after = status_kib(a.pid, "VmRSS")
    hwm_after = status_kib(a.pid, "VmHWM")
    conn.close()
    print("enum_instances=%d" % a.expect)
    print("enum_max_elements=%d" % a.max_elements)
    print("enum_requests_per_run=%d" % requests)
    print("enum_bytes_per_run=%d" % bytes_in)
    print("enum_runs=%d" % a.runs)
    print("enum_seconds_each=%s" % ",".join("%.3f" % t for t in times))
    print("enum_seconds_first=%.3f" % times[0])
    print("enum_seconds_median=%.3f" % statistics.median(times))
    print("enum_hwm_reset=%d" % hwm_reset)
    print("enum_rss_before_kib=%d" % rss_before)
    print("enum_hwm_before_kib=%d" % hwm_before)
    print("enum_rss_after_first_kib=%d" % rss_first)
    print("enum_hwm_after_first_kib=%d" % hwm_first)
    print("enum_rss_after_kib=%d" % rss_after)
    print("enum_hwm_after_kib=%d" % hwm_after)
    # Peak growth: the highest the server's RSS went during the runs (VmHWM, reset before them),
    # over where it started; without the reset only the RSS left afterwards can be told.
    peak = max(hwm_after, rss_after) if hwm_reset else rss_after
    print("enum_rss_growth_kib=%d" % (peak - rss_before))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for run.sh, no traceback noise
        print("enum_error=%s" % str(e).replace("\n", " ")[:400])
        sys.exit(1)
