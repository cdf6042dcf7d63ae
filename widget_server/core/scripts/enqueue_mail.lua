-- KEYS: mail queue, the license's pending index, the message's hash. ARGV: id, org, body, now_ms, max_pending,
-- ttl_s (how long the message's hash lives). Queues a message unless the license has max_pending queued already.
-- Returns 1 when queued, 0 when the license's queue is full, -1 when a message with this id is queued or was sent
-- lately (an enqueue repeated after an error never doubles a message).
local now = tonumber(ARGV[4])
local ttl = tonumber(ARGV[6])
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
-- entries whose hash expired (never settled) no longer count against the license
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl * 1000)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 0 end
redis.call('HSET', KEYS[3], 'org', ARGV[2], 'body', ARGV[3], 'enqueued', now, 'attempts', 0)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('EXPIRE', KEYS[2], ttl)
return 1
