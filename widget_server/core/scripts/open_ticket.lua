-- KEYS: a ticket's hash. ARGV: ttl (s), then field/value pairs.
-- A thread's ticket once: nothing is written when the hash exists (a retry, or another worker's missed-chat
-- decision), and the fields and the expiry are written together, so a ticket never outlives its retention.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
