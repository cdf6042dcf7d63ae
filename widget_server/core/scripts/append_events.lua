-- Append events to a thread, atomically with the check that it exists (and is active, unless "any").
-- KEYS: chat, thread, events, lept. ARGV: thread_id, "active"|"any", now_ms, then (type, json, public) triples.
-- Refused with limit_reached when the chat would hold more than CHAT_MAX_EVENTS events.
if redis.call('EXISTS', KEYS[2]) == 0 then return redis.error_reply('thread_not_found') end
if ARGV[2] == 'active' and redis.call('HGET', KEYS[2], 'active') ~= '1' then
  return redis.error_reply('chat_inactive')
end
if chat_is_full(KEYS[1], ARGV, 4, ${CHAT_MAX_EVENTS}) then return redis.error_reply('limit_reached') end
local tca = redis.call('HGET', KEYS[2], 'created_at')
return append(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], tca, ARGV[3], ARGV, 4)
