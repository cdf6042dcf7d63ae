-- The inactivity timer marks a chat idle (core/inactivity.py), unless a message came since it looked (send_event
-- moved last_event_ms) or the thread is no longer the active one. KEYS: chat. ARGV: thread id, the last_event_ms the
-- timer saw. Returns 1 when marked (send_event.lua clears the mark with the next message).
if redis.call('HGET', KEYS[1], 'active_thread') ~= ARGV[1] then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'last_event_ms') or '0') > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'idle', '1')
return 1
