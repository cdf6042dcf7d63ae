-- KEYS: 1 watch flag, 2 scratch (current window), 3 scratch (previous window), 4 scratch (who left), then the
-- current window's slot bitmaps, then the previous window's.
-- ARGV: 1 current window's bitmaps, 2 previous window's bitmaps (0: do not compare), 3 watch ttl, 4 records wanted
-- at most, 5 records prefix, 6 per bucket.
-- Returns {online now, 1 if more left than wanted else 0, record, record, ...}.
local ncur, nprev, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
redis.call('SET', KEYS[1], '1', 'EX', ARGV[3])
local cur = {}
for i = 1, ncur do cur[i] = KEYS[4 + i] end
redis.call('BITOP', 'OR', KEYS[2], unpack(cur))
local out = {redis.call('BITCOUNT', KEYS[2]), 0}
if nprev > 0 then
  local prev = {}
  for i = 1, nprev do prev[i] = KEYS[4 + ncur + i] end
  redis.call('BITOP', 'OR', KEYS[3], unpack(prev))
  -- in the previous window and not in the current one: (previous xor current) and previous
  redis.call('BITOP', 'XOR', KEYS[4], KEYS[3], KEYS[2])
  redis.call('BITOP', 'AND', KEYS[4], KEYS[4], KEYS[3])
  local prefix, per = ARGV[5], tonumber(ARGV[6])
  local pos, found = 0, 0
  while true do
    local b = redis.call('BITPOS', KEYS[4], 1, pos, -1, 'BIT')
    if b < 0 then break end
    if found == want then
      out[2] = 1
      break
    end
    local rec = redis.call('HGET', prefix .. math.floor(b / per), b % per)
    if rec then out[#out + 1] = rec end
    found = found + 1
    pos = b + 1
  end
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return out
