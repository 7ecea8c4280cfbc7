-- wrk script: POST one signed webhook delivery, with a unique
-- X-GitHub-Delivery for every request (a repeated id would be a duplicate,
-- which is cheaper). WRK_BODY names the body file, WRK_SIG its
-- X-Hub-Signature-256, WRK_PATH the webhook path. `done` prints one
-- RESULT line that bench/vs-probot.sh reads.
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
local body = f:read("*a")
f:close()
local sig = os.getenv("WRK_SIG")
local path = os.getenv("WRK_PATH") or "/webhook"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

-- WRK_IDS=github sends ids shaped like GitHub's, version-1 UUIDs
-- ("58474f00-b361-11eb-836d-0e4f3503ccbe" in GitHub's docs): their first
-- field is the clock's low 32 bits, so ids sort in the order they were made
-- (within a wrap of about 7 minutes). By default the ids sort in no useful
-- order ("wrk-T-1-R-9" > "wrk-T-1-R-10"), which is harder on an index.
local prefix, counter, github
function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  prefix = string.format("wrk-%d-%d-%d", os.time(), tid or 0, math.random(1, 1000000000))
  github = os.getenv("WRK_IDS") == "github"
  counter = 0
end

local function delivery_id()
  if github then
    local low = (os.time() * 10000000 + counter * 2 + (tid or 0)) % 4294967296
    return string.format("%08x-b361-11eb-%04x-%012x", low, 0x8000 + (tid or 0), counter)
  end
  return prefix .. "-" .. counter
end

function request()
  counter = counter + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/wrk",
    ["X-GitHub-Event"] = "issue_comment",
    ["X-GitHub-Delivery"] = delivery_id(),
    ["X-Hub-Signature-256"] = sig,
  }, body)
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.0f non2xx=%d socket_errors=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f\n",
    summary.requests, secs, summary.requests / secs, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
