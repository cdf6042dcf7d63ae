-- Write the wizard's settings only if nobody changed the configuration since it was read, and record them as the
-- next numbered version (the first save also records the settings it replaced), keeping the newest ones only.
-- KEYS: config, versions, seq. ARGV: the config as read ("" when absent), the new config, how many versions to keep,
-- the record of the settings being replaced ("" to skip), the new version's record. The new number, or -1 when the
-- configuration changed since it was read.
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return -1 end
if ARGV[4] ~= '' and tonumber(redis.call('GET', KEYS[3]) or '0') == 0 then
  redis.call('HSET', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[4])
end
local n = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], n, ARGV[5])
redis.call('SET', KEYS[1], ARGV[2])
local oldest = n - tonumber(ARGV[3])
if oldest > 0 then redis.call('HDEL', KEYS[2], oldest) end
return n
