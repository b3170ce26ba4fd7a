-- wrk script for bench/http_bench.sh: authenticated GETs over a list of paths, and a JSON summary at the end.
--   BENCH_TOKEN       bearer token sent as `Authorization: Bearer …` (the bare app ignores it)
--   BENCH_PATHS_FILE  one request path per line; each request picks one at random
--   BENCH_JSON        where done() writes {requests, duration_us, rps, latency_us{…}, errors{…}}
local token = os.getenv("BENCH_TOKEN") or ""
local paths_file = os.getenv("BENCH_PATHS_FILE")
local paths = {}

if paths_file then
  for line in io.lines(paths_file) do
    if #line > 0 then paths[#paths + 1] = line end
  end
end
if #paths == 0 then paths[1] = "/" end

local headers = { ["Accept"] = "application/json" }
if #token > 0 then headers["Authorization"] = "Bearer " .. token end

-- Each wrk thread loads this file into its own Lua state; seed each one differently.
local thread_seed = 0
function setup(thread)
  thread_seed = thread_seed + 1
  thread:set("seed", thread_seed)
end

function init(args)
  math.randomseed(os.time() + (seed or 0) * 7919)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function done(summary, latency, requests)
  local out = os.getenv("BENCH_JSON")
  if not out then return end
  local e = summary.errors
  local f = assert(io.open(out, "w"))
  f:write(string.format(
    '{"requests":%d,"duration_us":%d,"rps":%.2f,"bytes":%d,' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), summary.bytes,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    e.connect, e.read, e.write, e.status, e.timeout))
  f:close()
end
