-- KEYS: 1 scratch union, 2.. online minutes. ARGV: 1 cursor (bit), 2 limit, 3 records prefix, 4 records per bucket.
-- Returns {visitors online, the next cursor (-1: none), record, record, ...}; the scratch key is deleted.
redis.call('BITOP', 'OR', KEYS[1], unpack(KEYS, 2))
local total = redis.call('BITCOUNT', KEYS[1])
local pos, limit, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local out = {total, -1}
local n = 0
while true do
  local bit = redis.call('BITPOS', KEYS[1], 1, pos, -1, 'BIT')
  if bit < 0 then break end
  if n == limit then out[2] = bit break end
  out[#out + 1] = redis.call('HGET', ARGV[3] .. math.floor(bit / per), bit % per) or ''
  n = n + 1
  pos = bit + 1
end
redis.call('DEL', KEYS[1])
return out
