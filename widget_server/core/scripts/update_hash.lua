-- KEYS: a hash. ARGV: the number of field/value pairs to set, the number to set only if absent, those pairs, then
-- field/increment pairs. One atomic update of a hash (what a MULTI would be, which a cluster client cannot send).
local set_end = 2 + 2 * tonumber(ARGV[1])
local setnx_end = set_end + 2 * tonumber(ARGV[2])
for i = 3, set_end, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = set_end + 1, setnx_end, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = setnx_end + 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
