-- KEYS: a ticket's hash. ARGV: ttl (s), most messages, the message (json), updated_at, status ("": unchanged).
-- Appends message n+1 as field m:<n+1> and returns n+1; refuses 'not_found' for a ticket that is gone (never
-- recreating a hash without its fields and expiry) and 'limit_reached' for a full thread. The expiry restarts.
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('not_found') end
local n = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') or 0
if n >= tonumber(ARGV[2]) then return redis.error_reply('limit_reached') end
n = n + 1
redis.call('HSET', KEYS[1], 'seq', n, 'm:' .. n, ARGV[3], 'updated_at', ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[5]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n
