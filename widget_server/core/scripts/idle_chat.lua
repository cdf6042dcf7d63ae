-- A chat of the agent went idle (core/inactivity.py): it stays theirs but leaves their load, once.
-- KEYS: load, the agent's chats, the agent's idle chats. ARGV: agent id, chat id. Returns 1 when it was counted out.
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then return 0 end
if redis.call('SADD', KEYS[3], ARGV[2]) == 0 then return 0 end
local l = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if l > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
return 1
