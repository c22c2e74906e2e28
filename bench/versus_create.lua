-- wrk: POST one new record per request. $BENCH_CREATE: the path; $BENCH_WRAP=1 wraps it in {"data": ...}.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local path = os.getenv("BENCH_CREATE")
local wrap = os.getenv("BENCH_WRAP") == "1"
local counter = 0
request = function()
  counter = counter + 1
  local record = string.format('{"title":"new %d-%d","brand":"Brand%d","price":%s,"stock":%d}',
    math.random(1, 1000000000), counter, counter % 10, wrap and '"19.99"' or '19.99', counter)
  if wrap then
    record = '{"data":' .. record .. '}'
  end
  return wrk.format(nil, path, nil, record)
end
