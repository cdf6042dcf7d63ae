-- KEYS: retry zset, stream. ARGV: now_ms, max entries. Moves due retries back to the stream exactly once, with the
-- delivery id that stays the same on every attempt (empty for a retry queued before ids existed); returns when the
-- next one is due (ms), -1 when none waits.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, item in ipairs(due) do
  redis.call('ZREM', KEYS[1], item)
  local f = cjson.decode(item)
  redis.call('XADD', KEYS[2], '*', 'org', f.org, 'webhook', f.webhook, 'attempt', f.attempt, 'body', f.body,
             'id', f.id or '')
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if next[2] then return tonumber(next[2]) end
return -1
