-- wrk script for the Podium benchmark (bench/load.py writes the request file and reads the output).
--
-- args: <request file> <cycle|once> <number of threads>
-- The request file has one request a line: METHOD \t PATH \t TOKEN|- \t HEADERS|- \t BODY|-
-- (HEADERS: "Name: value|Name: value"). Thread k of n takes lines
-- k, k+n, k+2n, ... and pre-formats them once, so request() only returns a string.
--   cycle: requests repeat until wrk's duration ends (reads).
--   once:  each line is sent once (fresh voters, fresh joiners); when a thread has sent all its lines it
--          prints "BENCH_EXHAUSTED" on stderr and stops, and load.py interrupts wrk once every thread has,
--          so req/s is computed over the time actually spent.
-- With BENCH_STATUS_DETAIL=1 a response() hook counts every status code (costs a little: wrk then copies
-- each response into Lua); without it, wrk's own count of statuses > 399 is reported.

local thread_count = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
local i = 0
local once = false
local stopped = false
local filler = nil

function init(args)
  local file, mode, nthreads = args[1], args[2], tonumber(args[3])
  once = (mode == "once")
  local k = 0
  for line in io.lines(file) do
    if k % nthreads == tid then
      local method, path, token, extra, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
      if extra ~= "-" then
        for name, value in extra:gmatch("([^:|]+): ([^|]*)") do headers[name] = value end
      end
      if body == "-" then
        body = nil
        if method == "POST" or method == "PUT" then headers["Content-Length"] = "0" end
      else
        headers["Content-Type"] = "application/json"
      end
      n = n + 1
      reqs[n] = wrk.format(method, path, headers, body)
    end
    k = k + 1
  end
  filler = wrk.format("GET", "/health")
  statuses = {}
end

function request()
  if i >= n then
    if once then
      if not stopped then
        stopped = true
        io.stderr:write("BENCH_EXHAUSTED " .. tid .. "\n")
        io.stderr:flush()
        wrk.thread:stop()
      end
      -- Already stopped: this request is written but its response is never read or counted.
      return filler
    end
    i = 0
  end
  i = i + 1
  return reqs[i]
end

if os.getenv("BENCH_STATUS_DETAIL") == "1" then
  function response(status, headers, body)
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local codes = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for code, count in pairs(s) do codes[code] = (codes[code] or 0) + count end
    end
  end
  local parts = {}
  for code, count in pairs(codes) do table.insert(parts, string.format('"%s":%d', code, count)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d},' ..
    '"statuses":{%s}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency:percentile(99.9), table.concat(parts, ",")))
end
