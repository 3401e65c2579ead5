-- wrk script: POST one CIM-XML request over keep-alive connections (bench/cimxml/run.sh).
-- The body comes from the file named by $BENCH_BODY_FILE; $BENCH_HEADERS holds extra header
-- lines ("Name: value", one per line). Prints one WRK_RESULT line with latencies in microseconds.
local f = assert(io.open(assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE unset"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then
    wrk.headers[name] = value
  end
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d bytes=%d rps=%.1f " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.bytes, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
