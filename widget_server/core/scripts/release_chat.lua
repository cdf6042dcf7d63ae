-- KEYS: load, the agent's chats, the agent's idle chats. ARGV: agent id, chat id. Counts a chat out once, never below
-- zero; an idle chat (core/inactivity.py) was counted out when it went idle.
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[2])
  return 0
end
if redis.call('SREM', KEYS[3], ARGV[2]) == 1 then return 1 end
local l = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if l > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
return 1
