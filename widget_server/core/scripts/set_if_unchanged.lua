-- KEYS: a hash. ARGV: field, "1" if the field was present when read (else "0"), the value read, the new value.
-- Compare-and-set of one field (the cluster-safe form of a WATCHed read-modify-write): 0 when the field changed since.
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('not_found') end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if current ~= ARGV[3] then return 0 end
elseif current then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
