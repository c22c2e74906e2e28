-- wrk: GET a random existing record by id. $BENCH_IDS: the ids; $BENCH_GET: the path before the id.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  ids[#ids + 1] = line
end
local prefix = os.getenv("BENCH_GET")
request = function()
  return wrk.format("GET", prefix .. ids[math.random(1, #ids)])
end
