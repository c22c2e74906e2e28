-- wrk: POST one record per request to /bench:create.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"data":{"title":"item %d-%d","price":"19.99","stock":%d,"active":true,"released":"2024-03-01T10:30:00Z","specs":{"n":%d}}}',
    math.random(1, 1000000000), counter, counter, counter)
  return wrk.format(nil, "/bench:create", nil, body)
end
