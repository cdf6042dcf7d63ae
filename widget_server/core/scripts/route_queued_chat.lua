-- KEYS: as route_chat (without the last), then the queue, then the operations in flight. ARGV: now_ms. Pops the
-- oldest queued entry only if someone can take it (an entry ending in " h" was handed over by a bot and goes to
-- humans only), counts it in the agent's load and chats, and notes the join that must follow (as route_chat does),
-- all in one step: a worker that dies after the pop leaves the join to the repair pass, not a lost chat.
-- Returns {entry, agent id} or nil.
local head = redis.call('LINDEX', KEYS[9], 0)
if not head then return nil end
local a = pick(KEYS[1], KEYS[2], KEYS[3], KEYS[4], {KEYS[5], KEYS[6], KEYS[7]}, KEYS[8], string.sub(head, -2) == ' h', {})
if not a then return nil end
local org = string.match(KEYS[2], '{(.-)}')
local entry = redis.call('LPOP', KEYS[9])
local chat, thread = string.match(entry, '^(%S+) (%S+)')
redis.call('HINCRBY', KEYS[2], a, 1)
redis.call('HSET', KEYS[4], a, ARGV[1])
redis.call('SADD', ${AGENT_CHATS}, chat)
redis.call('ZADD', KEYS[10], ARGV[1], 'join ' .. chat .. ' ' .. thread .. ' ' .. a)
return {entry, a}
