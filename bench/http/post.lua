-- wrk script: POST one request body with given headers over keep-alive (bench/http/wrk_post.sh).
-- The body comes from the file named by WRK_BODY_FILE, the headers from WRK_HEADERS (one
-- "Name: value" per line), so one script serves every benchmark request. Each wrk thread runs
-- this file in its own Lua state, which is why it reads the environment at top level.
local function read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open WRK_BODY_FILE " .. tostring(path))
  local data = f:read("*a")
  f:close()
  return data
end

wrk.method = "POST"
wrk.body = read_file(os.getenv("WRK_BODY_FILE"))
for line in (os.getenv("WRK_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

-- One machine-parseable line; latencies in microseconds. errors.status counts non-2xx/3xx replies.
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
