-- Create the chat ("start") or check it has no active thread ("resume"), and open a new thread in it, linked to the
-- previous one. Returns the previous thread id ('' for none).
-- KEYS: chat, threads, new thread. ARGV: mode (start|resume), thread_id, created_at, created_ms, active (1|0),
-- access json, properties json, user_ids json, thread key prefix, then chat field/value pairs (start only).
local chat = KEYS[1]
if ARGV[1] == 'start' then
  if redis.call('EXISTS', chat) == 1 then return redis.error_reply('chat_exists') end
  local fields = {}
  for i = 10, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', chat, unpack(fields))
else
  if redis.call('EXISTS', chat) == 0 then return redis.error_reply('chat_not_found') end
  local active = redis.call('HGET', chat, 'active_thread')
  if active and active ~= '' then return redis.error_reply('chat_active') end
end
local prev = redis.call('HGET', chat, 'last_thread_id') or ''
redis.call('HSET', KEYS[3], 'id', ARGV[2], 'created_at', ARGV[3], 'created_ms', ARGV[4], 'active', ARGV[5],
  'seq', 0, 'access', ARGV[6], 'properties', ARGV[7], 'user_ids', ARGV[8], 'previous_thread_id', prev)
if prev ~= '' then redis.call('HSET', ARGV[9] .. prev, 'next_thread_id', ARGV[2]) end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('HSET', chat, 'last_thread_id', ARGV[2], 'last_thread_created_at', ARGV[3], 'last_thread_ms', ARGV[4])
if ARGV[5] == '1' then redis.call('HSET', chat, 'active_thread', ARGV[2]) end
-- a new thread starts its inactivity timers afresh (core/inactivity.py)
redis.call('HDEL', chat, 'awaiting_ms', 'idle', 'joined_ms', 'tried_agents')
return prev
