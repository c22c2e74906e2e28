-- wrk: GET a random existing record by id; ids come from the file in $MOON_BENCH_IDS.
local ids = {}
for line in io.lines(os.getenv("MOON_BENCH_IDS")) do
  ids[#ids + 1] = line
end
request = function()
  return wrk.format("GET", "/bench:get?id=" .. ids[math.random(1, #ids)])
end
