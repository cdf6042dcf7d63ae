-- KEYS: load, the agent's chats. ARGV: agent id, chat id. Counts a chat out once, never below zero.
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then return 0 end
local l = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if l > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
return 1
