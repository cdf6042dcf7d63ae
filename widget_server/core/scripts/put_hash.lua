-- KEYS: a hash. ARGV: ttl in seconds ("" for none), then field/value pairs. Writes the fields and the expiry together.
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '' then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
