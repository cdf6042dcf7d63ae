-- KEYS: mail queue. ARGV: now_ms, lease_ms, max messages, claim token. Claims up to max due messages for one worker:
-- each is rescheduled to the end of the lease (so no other worker takes it meanwhile, and another does once the
-- lease ends without a settle: its worker died) and marked with the token that settle_mail must show.
-- Returns {next claimable time in ms or -1, then id, org, body, attempts (this one included), enqueued ms per message}.
local now = tonumber(ARGV[1])
local out = {-1}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  local message = ${MESSAGE}
  local fields = redis.call('HMGET', message, 'org', 'body', 'enqueued')
  if not fields[2] then
    redis.call('ZREM', KEYS[1], id)  -- its hash expired: nothing left to send
  else
    local attempts = redis.call('HINCRBY', message, 'attempts', 1)
    redis.call('HSET', message, 'lease', ARGV[4])
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    table.insert(out, id)
    table.insert(out, fields[1])
    table.insert(out, fields[2])
    table.insert(out, attempts)
    table.insert(out, fields[3])
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then out[1] = tonumber(first[2]) end
return out
