-- KEYS: 1 identity bucket. ARGV: 1 packed visitor id, 2 records prefix, 3 visit prefix, 4 records per bucket, 5 user
-- agents prefix. Returns {dense id, record, visit list, the user agent its details name (false: none)}.
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
id = tonumber(id)
local per = tonumber(ARGV[4])
local rec = redis.call('HGET', ARGV[2] .. math.floor(id / per), id % per)
if not rec then return false end
local items = redis.call('LRANGE', ARGV[3] .. id, 0, -1)
local ua = false
if items[1] then
  -- (a '"' inside a JSON string is escaped, so no value can fake this)
  local period, digest = string.match(items[1], '"ua":"(%d+)%.([%w_-]+)"')
  if period then ua = redis.call('HGET', ARGV[5] .. period, digest) end
end
return {id, rec, items, ua}
