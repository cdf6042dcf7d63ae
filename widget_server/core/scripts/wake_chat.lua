-- An idle chat of the agent is active again (a message, or an idle transition that lost its race with one): it
-- counts in their load again, once. KEYS: load, the agent's chats, the agent's idle chats. ARGV: agent id, chat id.
if redis.call('SREM', KEYS[3], ARGV[2]) == 0 then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
