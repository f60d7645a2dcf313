-- wrk script: GET /api/check/point at places read from bench/out/points.txt ("lon lat" lines),
-- with a 25 m accuracy, as the public asks (no token).
local points = {}
for line in io.lines("bench/out/points.txt") do
  local lon, lat = line:match("([%-%d%.]+) ([%-%d%.]+)")
  if lon then points[#points + 1] = {lon, lat} end
end
local i = 0
request = function()
  i = i % #points + 1
  local p = points[i]
  return wrk.format("GET", "/api/check/point?lon=" .. p[1] .. "&lat=" .. p[2] .. "&accuracy=25")
end
