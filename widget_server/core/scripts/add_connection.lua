-- KEYS: the customer's connections. ARGV: connection id, now (s), max age (s), limit. Forgets connections older
-- than max age, then adds this one unless the customer already has ``limit``: 1 when added, 0 when refused.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
