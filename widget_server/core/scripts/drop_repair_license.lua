-- KEYS: the repair pass's licenses. ARGV: organization id, a time (s). Unlists the license unless a worker listed it
-- again after that time (it is about to note an operation of it).
local listed = redis.call('ZSCORE', KEYS[1], ARGV[1])
if listed and tonumber(listed) < tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
