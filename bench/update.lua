-- wrk: update a random existing record's stock. $BENCH_IDS: the ids, one per line.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  ids[#ids + 1] = line
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"id":"%s","data":{"stock":%d}}', ids[math.random(1, #ids)], counter)
  return wrk.format(nil, "/bench:update", nil, body)
end
