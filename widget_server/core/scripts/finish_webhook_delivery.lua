-- KEYS: stream. ARGV: group, entry id. Acknowledges a delivered entry and drops it from the stream together.
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
