-- KEYS: as route_chat, then the queue. ARGV: now_ms. Pops the oldest queued entry only if someone can take it
-- (an entry ending in " h" was handed over by a bot and goes to humans only). Returns {entry, agent id} or nil.
local head = redis.call('LINDEX', KEYS[9], 0)
if not head then return nil end
local a = pick(KEYS[1], KEYS[2], KEYS[3], KEYS[4], {KEYS[5], KEYS[6], KEYS[7]}, KEYS[8], string.sub(head, -2) == ' h')
if not a then return nil end
local entry = redis.call('LPOP', KEYS[9])
redis.call('HINCRBY', KEYS[2], a, 1)
redis.call('HSET', KEYS[4], a, ARGV[1])
return {entry, a}
