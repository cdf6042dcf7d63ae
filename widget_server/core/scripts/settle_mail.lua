-- KEYS: mail queue, the message's hash. ARGV: id, claim token, outcome ('sent' | 'retry' | 'failed'), due_ms (retry),
-- last error, failure record (failed: the JSON kept for inspection), failures kept, failure list ttl_s, sent_keep_s.
-- Settles one claimed message, but only for the claim that holds it (the token): a worker whose lease ran out and was
-- taken over changes nothing. 'sent' keeps a small marker for sent_keep_s (enqueue_mail refuses the id meanwhile);
-- 'retry' makes it due again at due_ms; 'failed' moves it to the license's bounded failure list.
-- Returns 1, or 0 when the claim is no longer this one's.
local org = redis.call('HGET', KEYS[2], 'org')
if not org or redis.call('HGET', KEYS[2], 'lease') ~= ARGV[2] then return 0 end
local outcome = ARGV[3]
if outcome == 'retry' then
  redis.call('HDEL', KEYS[2], 'lease')
  redis.call('HSET', KEYS[2], 'error', ARGV[5])
  redis.call('ZADD', KEYS[1], tonumber(ARGV[4]), ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', ${PENDING}, ARGV[1])
if outcome == 'sent' then
  redis.call('HDEL', KEYS[2], 'body', 'lease', 'error')
  redis.call('HSET', KEYS[2], 'sent', 1)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[9]))
elseif outcome == 'failed' then
  local failed = ${FAILED}
  redis.call('DEL', KEYS[2])
  redis.call('LPUSH', failed, ARGV[6])
  redis.call('LTRIM', failed, 0, tonumber(ARGV[7]) - 1)
  redis.call('EXPIRE', failed, tonumber(ARGV[8]))
else
  return redis.error_reply('unknown outcome ' .. outcome)
end
return 1
