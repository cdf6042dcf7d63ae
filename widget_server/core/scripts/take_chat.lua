-- An agent joins a chat by hand (or a transfer names them): counted in their load once, however often it is asked
-- (the load is always the size of their chat set), with the join that must follow noted as route_chat does.
-- KEYS: load, the agent's chats, operations in flight. ARGV: agent id, chat id, thread id, now_ms.
if redis.call('SADD', KEYS[2], ARGV[2]) == 1 then redis.call('HINCRBY', KEYS[1], ARGV[1], 1) end
redis.call('ZADD', KEYS[3], ARGV[4], 'join ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[1])
return 1
