-- KEYS: a string key. ARGV: "1" if the key was present when read (else "0"), the value read, the new value.
-- Compare-and-set of one string (the cluster-safe form of a WATCHed read-modify-write): 0 when it changed since.
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
