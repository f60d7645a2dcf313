-- wrk script: GET tile paths read from bench/out/tiles.txt ("/z/x/y" lines) under a prefix.
-- The prefix is /tiles for Cairn and /areas for martin, given as PREFIX in the environment.
local prefix = os.getenv("PREFIX") or "/tiles"
local suffix = os.getenv("SUFFIX") or ".mvt"
local paths = {}
for line in io.lines("bench/out/tiles.txt") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", prefix .. paths[i] .. suffix)
end
