-- KEYS: a ticket's hash. ARGV: ttl (s), then field/value pairs. Sets the fields of a ticket that exists (0 when it is
-- gone: a hash is never recreated without its other fields) and restarts its expiry.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
