-- The inactivity timer takes a chat from agents who let the customer's first message wait (core/inactivity.py),
-- only if nothing changed since it looked: the same active thread, the same agents, the message still unanswered
-- (an agent who answered or started typing meanwhile keeps the chat). Empties the chat's agents and records them
-- among those it has been with in this thread. KEYS: chat. ARGV: thread id, agent_ids as read, awaiting_ms as read,
-- tried_agents (JSON). Returns 1 when taken.
local c = redis.call('HMGET', KEYS[1], 'active_thread', 'agent_ids', 'awaiting_ms')
if c[1] ~= ARGV[1] or c[2] ~= ARGV[2] or c[3] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'agent_ids', '[]', 'tried_agents', ARGV[4])
return 1
