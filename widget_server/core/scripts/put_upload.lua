-- An uploaded file stored if the quotas allow it. Uploads come from anonymous visitors and live in memory until they
-- expire, so each is counted against its customer's bytes per hour, its client address's bytes per hour (both per
-- license) and the license's bytes of uploads not yet attached to an event; all in one call, so concurrent uploads
-- cannot pass a quota together.
-- KEYS (all in the license's slot): 1 the file's hash, 2 the license's pending uploads (sorted set of
-- '<size>:<file id>' by expiry), 3 their total bytes, 4 the customer's bytes this hour, 5 the address's bytes this
-- hour. ARGV: 1 now (unix s), 2 the file's TTL, 3 its size, 4 the customer's, 5 the address's and 6 the license's
-- limit (0: none), 7 the file id, then the file's field, value pairs.
-- Returns 'ok', or the quota that refused it: 'customer', 'address' or 'license' (nothing written).
local now, ttl, size = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
-- pending uploads that expired since the last call leave the total (at most 1000 a call: the rest next time)
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
if #gone > 0 then
  local freed = 0
  for _, member in ipairs(gone) do freed = freed + tonumber(string.match(member, '^(%d+):')) end
  redis.call('ZREM', KEYS[2], unpack(gone))
  redis.call('DECRBY', KEYS[3], freed)
end
local function over(key, limit)
  return limit > 0 and tonumber(redis.call('GET', key) or '0') + size > limit
end
if over(KEYS[4], tonumber(ARGV[4])) then return 'customer' end
if over(KEYS[5], tonumber(ARGV[5])) then return 'address' end
if over(KEYS[3], tonumber(ARGV[6])) then return 'license' end
for i = 4, 5 do
  redis.call('INCRBY', KEYS[i], size)
  redis.call('EXPIRE', KEYS[i], 3600)  -- (the key names its hour: an hour after its last write it is past)
end
local member = ARGV[3] .. ':' .. ARGV[7]
redis.call('ZADD', KEYS[2], now + ttl, member)
redis.call('INCRBY', KEYS[3], size)
-- every pending upload expires within ttl of the latest one, so the index and its total may go with it
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('HSET', KEYS[1], 'pending', member, unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[1], ttl)
return 'ok'
