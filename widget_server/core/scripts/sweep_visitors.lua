-- Forget the visitors of one identity bucket not seen for the retention window: their mapping, record and visit
-- list, and free their dense ids for reuse. Returns how many. Idempotent, so workers may sweep at the same time.
-- KEYS: 1 identity bucket, 2 free ids. ARGV: 1 now, 2 retention, 3 records prefix, 4 visit prefix, 5 per bucket.
local now, retention, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5])
local all = redis.call('HGETALL', KEYS[1])
local removed = 0
for i = 1, #all, 2 do
  local id = tonumber(all[i + 1])
  local rkey, field = ARGV[3] .. math.floor(id / per), id % per
  local rec = redis.call('HGET', rkey, field)
  local stale = true
  if rec then
    local _, last = struct.unpack('>II', rec)
    stale = now - last > retention
  end
  if stale then
    redis.call('HDEL', KEYS[1], all[i])
    if rec then redis.call('HDEL', rkey, field) end
    redis.call('DEL', ARGV[4] .. id)
    redis.call('RPUSH', KEYS[2], id)
    removed = removed + 1
  end
end
return removed
