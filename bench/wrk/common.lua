-- Shared by post_single.lua and post_batch.lua (loaded with dofile). Environment:
--   BODY_FILE  request body; every literal __EID__ in it is an event_id placeholder
--   API_KEY    bearer key (default bench-key)
--   UNIQUE     pool (default): each wrk thread prebuilds POOL requests with distinct event_ids
--              (run-thread-counter-index) in init() and cycles through them: no per-request
--              string building, so the client stays cheap and equal for every target;
--              fresh: a new event_id per request, built per request (costs the client ~40% on
--              21 KB bodies here: it then limits nginx); 0: one identical prebuilt request
--   POOL       pool size per thread (default 4096, capped at 128 MiB of bodies)
--   RUN_ID     prefix making ids unique across runs (default: os.time())
-- done() prints one line "CA4_RESULT k=v ..." that bench/api_bench.sh parses.
local body_file = assert(os.getenv("BODY_FILE"), "BODY_FILE not set")
local fh = assert(io.open(body_file, "rb"))
local tmpl = fh:read("*a")
fh:close()

local parts, pos = {}, 1
while true do
  local s, e = string.find(tmpl, "__EID__", pos, true)
  if not s then break end
  parts[#parts + 1] = string.sub(tmpl, pos, s - 1)
  pos = e + 1
end
parts[#parts + 1] = string.sub(tmpl, pos)
local nids = #parts - 1
local mode = os.getenv("UNIQUE") or "pool"
if mode == "1" then mode = "fresh" end
local unique = mode ~= "0"
local run_id = os.getenv("RUN_ID") or tostring(os.time())

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("API_KEY") or "bench-key")
wrk.body = string.gsub(tmpl, "__EID__", "static-" .. run_id)

local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local prefix, counter = nil, 0
local pool, npool = {}, 0

local function build(seq)
  local buf, n = {}, 0
  local base = prefix .. seq .. "-"
  for i = 1, nids do
    buf[n + 1] = parts[i]
    buf[n + 2] = base .. i
    n = n + 2
  end
  buf[n + 1] = parts[nids + 1]
  return table.concat(buf)
end

function init(args)
  prefix = "b" .. run_id .. "-" .. tostring(tid or 0) .. "-"
  if mode == "pool" and nids > 0 then
    npool = math.max(1, math.min(tonumber(os.getenv("POOL") or "4096"), math.floor(128 * 1048576 / #tmpl)))
    for k = 1, npool do pool[k] = wrk.format(nil, nil, nil, build(k)) end
  end
end

if mode == "pool" and nids > 0 then
  function request()
    counter = counter + 1
    return pool[(counter - 1) % npool + 1]
  end
elseif mode == "fresh" and nids > 0 then
  function request()
    counter = counter + 1
    return wrk.format(nil, nil, nil, build(counter))
  end
end

function done(summary, latency, requests)
  -- approximate body size: template with ids of the length seen mid-run
  local idlen = string.len("b" .. run_id .. "-0-" .. "100000-" .. "1")
  local body = string.len(tmpl) + nids * (idlen - 7)
  local e = summary.errors
  io.write(string.format(
    "CA4_RESULT requests=%d duration_us=%d rps=%.1f body_bytes=%d records_per_req=%d " ..
    "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f read_bytes=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d unique=%s\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), body,
    math.max(nids, 1),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, mode))
end
