-- wrk script: POST /api/reports, a small report (no photo) at a different place each time; counts
-- the answers by status across threads and prints them at the end, so the script can check that
-- every 201 is in the store.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  created = 0
  other = 0
  n = 0
end

function request()
  n = n + 1
  local lon = 30 + ((id * 7919 + n) % 9000) / 1000
  local body = string.format(
    '{"lon":%.5f,"lat":49.9,"accuracy_m":10,"category":"mine","description":"wrk benchmark report %d-%d: a green plastic object by the path"}',
    lon, id, n)
  return wrk.format("POST", "/api/reports", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
  end
  io.write(string.format("answers: 201 %d, other %d\n", c, o))
end
