-- Give a chat to the best available agent and count it in their load, in one step, so two workers never hand the
-- same capacity out twice. Returns the agent id, or nil when nobody can take it.
-- KEYS: status, load, max, last, first/normal/last member sets, bots. ARGV: now_ms, "h" for humans only.
local a = pick(KEYS[1], KEYS[2], KEYS[3], KEYS[4], {KEYS[5], KEYS[6], KEYS[7]}, KEYS[8], ARGV[2] == 'h')
if not a then return nil end
redis.call('HINCRBY', KEYS[2], a, 1)
redis.call('HSET', KEYS[4], a, ARGV[1])
return a
