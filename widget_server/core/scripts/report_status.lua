-- An agent's routing status, and their availability for the reports (core/reports.py) in the same step: the time
-- between going to accepting_chats and leaving it is added to the hour buckets it spans, for the agent
-- ('a:<agent>:avail_ms') and, while at least one agent accepts, for the license ('avail_ms').
-- KEYS: routing_status, report_accepting, report_license_accepting. ARGV: agent id, status, now (ms), the chat
-- retention (s, 0: kept for ever), the most hours one interval is counted over (older hours have expired anyway).
local org = string.match(KEYS[1], '{(.-)}')
local HOUR = 3600000
local retention, max_hours = tonumber(ARGV[4]), tonumber(ARGV[5])
local function add(field, from, to)
  if to <= from then return end
  local first, last = math.floor(from / HOUR), math.floor((to - 1) / HOUR)
  if last - first > max_hours then
    first = last - max_hours
    from = first * HOUR
  end
  for hour = first, last do
    local bucket = ${REPORT_HOUR}
    redis.call('HINCRBY', bucket, field, math.min(to, (hour + 1) * HOUR) - math.max(from, hour * HOUR))
    if retention > 0 then redis.call('EXPIREAT', bucket, (hour + 1) * 3600 + retention) end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local now = tonumber(ARGV[3])
local since = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[2] == 'accepting_chats' then
  if not since then
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
    redis.call('SET', KEYS[3], ARGV[3], 'NX')
  end
elseif since then
  redis.call('HDEL', KEYS[2], ARGV[1])
  add('a:' .. ARGV[1] .. ':avail_ms', tonumber(since), now)
  if redis.call('HLEN', KEYS[2]) == 0 then
    local any = redis.call('GET', KEYS[3])
    if any then add('avail_ms', tonumber(any), now) end
    redis.call('DEL', KEYS[3])
  end
end
return 1
