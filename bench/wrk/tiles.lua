-- wrk script: GET tile paths read from TILES (default bench/out/tiles.txt; "/z/x/y" lines)
-- under a prefix.
-- PREFIX (default /tiles) and SUFFIX (default .mvt) come from the environment: /tiles and .mvt
-- for Cairn, /areas and nothing for martin; AUTH, when set, is sent as a bearer token.
-- Each of the THREADS (default 2) wrk threads takes every THREADS-th path, so that no two
-- threads ask for the same tile in one pass; done() says whether any thread ran out of paths
-- and began again (then part of a "cold" pass was warm).
local prefix = os.getenv("PREFIX") or "/tiles"
local suffix = os.getenv("SUFFIX") or ".mvt"
local auth = os.getenv("AUTH")
local nthreads = tonumber(os.getenv("THREADS") or "2")
local file = os.getenv("TILES") or "bench/out/tiles.txt"
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  local k = 0
  for line in io.lines(file) do
    if k % nthreads == tid then paths[#paths + 1] = line end
    k = k + 1
  end
  i = 0
  wrapped = 0
  npaths = #paths
  if auth then
    wrk.headers["Authorization"] = "Bearer " .. auth
  end
end

function request()
  i = i + 1
  if i > #paths then
    i = 1
    wrapped = wrapped + 1
  end
  return wrk.format("GET", prefix .. paths[i] .. suffix)
end

function done(summary, latency, requests)
  local w, n = 0, 0
  for _, t in ipairs(threads) do
    w = w + t:get("wrapped")
    n = n + t:get("npaths")
  end
  io.write(string.format("tile paths: %d; times a thread began its list again: %d\n", n, w))
end
