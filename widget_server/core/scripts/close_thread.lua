-- Close the chat's active thread with its closing events; refused unless that thread is still the active one (so
-- a second close, or a close racing a new thread, writes nothing).
-- KEYS: chat, thread, events, lept. ARGV: thread_id, now_ms, then (type, json, public) triples of closing events.
if redis.call('HGET', KEYS[1], 'active_thread') ~= ARGV[1] then return redis.error_reply('chat_inactive') end
local tca = redis.call('HGET', KEYS[2], 'created_at')
local n = append(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], tca, ARGV[2], ARGV, 3)
redis.call('HSET', KEYS[2], 'active', '0')
redis.call('HSET', KEYS[1], 'active_thread', '')
return n
