-- wrk script for bench/transfer_bench.sh (issue #3): idempotent transfer POSTs, counted by status, and a JSON summary.
--   BENCH_TOKEN         bearer token sent as `Authorization: Bearer …`
--   BENCH_TOKEN_ID      the token class: requests go to /api/v1/tokens/<id>/transfers/
--   BENCH_WALLETS_FILE  one wallet reference (0x address or id) per line; each request picks two different ones
--   BENCH_RUN           a label mixed into every Idempotency-Key (warm-up and measured runs never share keys)
--   BENCH_JSON          where done() writes {requests, duration_us, rps, latency_us{…}, errors{…}, statuses{…}}
-- Each request: from/to two different random wallets, amount 1..10, a unique Idempotency-Key (run label, thread,
-- counter, random). Status codes are counted per thread in response() and summed in done(); anything but 201 is
-- a failed transfer and the harness reports it.
local token = os.getenv("BENCH_TOKEN") or ""
local token_id = os.getenv("BENCH_TOKEN_ID") or ""
local wallets_file = os.getenv("BENCH_WALLETS_FILE")
local run_label = os.getenv("BENCH_RUN") or "run"
local wallets = {}

if wallets_file then
  for line in io.lines(wallets_file) do
    if #line > 0 then wallets[#wallets + 1] = line end
  end
end
assert(#wallets >= 2, "BENCH_WALLETS_FILE must name at least two wallets")
assert(#token_id > 0, "BENCH_TOKEN_ID is required")

local path = "/api/v1/tokens/" .. token_id .. "/transfers/"
local threads = {}

-- Each wrk thread loads this file into its own Lua state; number them so keys and random streams differ.
local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("number", thread_number)
  threads[#threads + 1] = thread
end

local counter = 0
local nonce = ""
statuses = {}

function init(args)
  local n = number or 0
  math.randomseed(os.time() * 1000 + n * 7919)
  nonce = string.format("%08x", math.random(0, 0x7fffffff))
end

function request()
  counter = counter + 1
  local from = math.random(#wallets)
  local to = math.random(#wallets - 1)
  if to >= from then to = to + 1 end  -- a different wallet, uniformly
  local body = string.format('{"from_wallet":"%s","to_wallet":"%s","amount":"%d"}',
    wallets[from], wallets[to], math.random(1, 10))
  local headers = {
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("%s-%d-%s-%d", run_label, number or 0, nonce, counter),
  }
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local out = os.getenv("BENCH_JSON")
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses") or {}
    for code, count in pairs(counts) do total[code] = (total[code] or 0) + count end
  end
  local parts = {}
  for code, count in pairs(total) do parts[#parts + 1] = string.format('"%s":%d', code, count) end
  table.sort(parts)
  local status_json = "{" .. table.concat(parts, ",") .. "}"
  io.write("statuses: " .. status_json .. "\n")
  if out == nil or out == "" then return end
  local e = summary.errors
  local f = assert(io.open(out, "w"))
  f:write(string.format(
    '{"requests":%d,"duration_us":%d,"rps":%.2f,"bytes":%d,' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"statuses":%s}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), summary.bytes,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    e.connect, e.read, e.write, e.status, e.timeout, status_json))
  f:close()
end
