-- Delete a chat past retention (core/retention.py), unless it came back to life since it was judged: an active
-- thread, or a thread more than the ones judged. Returns 1 when deleted, 0 when left alone.
-- KEYS: chat, chat_threads, then the chat's other keys (last events, custom ids, webhook outbox), each thread's hash
-- and events. ARGV: the number of threads judged.
local active = redis.call('HGET', KEYS[1], 'active_thread')
if active and active ~= '' then
  return 0
end
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('DEL', unpack(KEYS))
return 1
