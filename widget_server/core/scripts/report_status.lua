-- An agent's routing status, and their availability for the reports (core/reports.py) in the same step: the time
-- between going to accepting_chats and leaving it is added to the hour buckets it spans, for the agent
-- ('a:<agent>:avail_ms'), for each of their groups while at least one of its agents accepts ('g:<group>:avail_ms')
-- and for the license while at least one agent accepts ('avail_ms').
-- KEYS: routing_status, report_accepting, report_license_accepting, report_groups_accepting, the license's agents.
-- ARGV: agent id, status, now (ms), the chat retention (s, 0: kept for ever), the most hours one interval is counted
-- over (older hours have expired anyway).
-- report_accepting keeps '<since>|<group>,<group>': the groups counted when the agent began accepting, so leaving
-- counts down exactly those (a group changed meanwhile leaves no count behind). report_groups_accepting keeps per
-- group 'n:<group>' (its agents accepting) and 's:<group>' (since when one does).
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
local state = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[2] == 'accepting_chats' then
  if not state then
    local groups = {}
    local raw = redis.call('HGET', KEYS[5], ARGV[1])
    if raw then
      local ok, agent = pcall(cjson.decode, raw)
      if ok and type(agent) == 'table' and type(agent['groups']) == 'table' then
        for _, g in ipairs(agent['groups']) do
          if type(g) == 'table' and tonumber(g['id']) then groups[#groups + 1] = tostring(math.floor(g['id'])) end
        end
      end
    end
    for _, g in ipairs(groups) do
      if redis.call('HINCRBY', KEYS[4], 'n:' .. g, 1) == 1 then redis.call('HSET', KEYS[4], 's:' .. g, ARGV[3]) end
    end
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. '|' .. table.concat(groups, ','))
    redis.call('SET', KEYS[3], ARGV[3], 'NX')
  end
elseif state then
  redis.call('HDEL', KEYS[2], ARGV[1])
  local since, groups = string.match(state, '^(%d+)|?(.*)$')
  add('a:' .. ARGV[1] .. ':avail_ms', tonumber(since), now)
  for g in string.gmatch(groups or '', '[^,]+') do
    if redis.call('HINCRBY', KEYS[4], 'n:' .. g, -1) <= 0 then
      local gs = redis.call('HGET', KEYS[4], 's:' .. g)
      if gs then add('g:' .. g .. ':avail_ms', tonumber(gs), now) end
      redis.call('HDEL', KEYS[4], 'n:' .. g, 's:' .. g)
    end
  end
  if redis.call('HLEN', KEYS[2]) == 0 then
    local any = redis.call('GET', KEYS[3])
    if any then add('avail_ms', tonumber(any), now) end
    redis.call('DEL', KEYS[3])
  end
end
return 1
