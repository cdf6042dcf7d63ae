-- A visitor's page view, heartbeat, sign of life or chat, in one call (the layout: widget_server/tracking/tracker.py).
-- KEYS: 1 the visitor's identity bucket. The license is its hash tag, and every other key of the license is named
-- from it (keys.py's names, written in at load time), so they all live in its slot.
-- ARGV: 1 mode (view|beat|seen|chat), 2 packed visitor id, 3 now, 4 the UTC day (YYYY-MM-DD), 5 visit json, 6 page
-- json, 7 user agent ('' when none), 8 its digest (as the visit json names it), 9 the customer id whose invitation to
-- take ('' for none), 10 the wall clock (bans end by it, whatever the tracker's clock says).
-- The tracker's settings are written into the text too (one script per configuration): fewer arguments to pack and
-- send on every page view.
-- Returns the record's fields after the action, then the previous "last seen", the watch flag and the invitation
-- taken ('' when none); {-1, until} for a banned visitor (nothing recorded); nil for a heartbeat of an unknown one.
local mode, vid, now, day = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local per, gap, retention = ${PER}, ${GAP}, ${RETENTION}
local org = string.match(KEYS[1], '{(.-)}')
local function record_of(id)
  local bucket = math.floor(id / per)
  return ${RECORDS}, id % per
end
local bans = ${BANS}
local banned = redis.call('HGET', bans, vid)
if banned then
  if tonumber(banned) > tonumber(ARGV[10]) then return {-1, banned} end
  redis.call('HDEL', bans, vid)
end
local id = redis.call('HGET', KEYS[1], vid)
local rkey, field, rec
if id then
  id = tonumber(id)
  rkey, field = record_of(id)
  rec = redis.call('HGET', rkey, field)
end
local first, last, vstart, views, visits, chats = now, 0, now, 0, 0, 0
if rec then
  local f, l, s, pv, v, c = struct.unpack('>IIIIHH', rec)
  -- a record past retention that the sweep has not reached yet is a new visitor's
  if now - l <= retention then first, last, vstart, views, visits, chats = f, l, s, pv, v, c end
end
if mode == 'beat' and last == 0 then return false end
local counters = ${DAY}
local previous = last
local hour = math.floor(now / 3600)
if math.floor(previous / 3600) < hour then redis.call('HINCRBY', counters, 'v' .. (hour % 24), 1) end
if not id then
  id = redis.call('LPOP', ${FREE_IDS})
  if id then id = tonumber(id) else id = redis.call('INCR', ${IDS_SEQ}) - 1 end
  redis.call('HSET', KEYS[1], vid, id)
  rkey, field = record_of(id)
end
local visit = ${VISIT}
local new_visit = now - last > gap
if now > last then last = now end
if new_visit then
  vstart = now
  visits = math.min(visits + 1, 65535)
  redis.call('HINCRBY', counters, 'visits', 1)
  redis.call('DEL', visit)
end
if mode == 'view' then
  views = views + 1
  redis.call('HINCRBY', counters, 'page_views', 1)
  redis.call('HINCRBY', counters, 'p' .. (hour % 24), 1)
elseif mode == 'chat' then
  chats = math.min(chats + 1, 65535)
  redis.call('HINCRBY', counters, 'chats', 1)
  redis.call('HINCRBY', counters, 'c' .. (hour % 24), 1)
end
redis.call('HSET', rkey, field, struct.pack('>IIIIHH', first, last, vstart, views, visits, chats) .. vid)
local slot = math.floor(now / ${SLOT})
local online = ${ONLINE}
redis.call('SETBIT', online, id, 1)
redis.call('EXPIRE', online, ${BITMAP_TTL})
local uniques = ${UNIQUES}
redis.call('PFADD', uniques, vid)
redis.call('EXPIRE', counters, ${DAY_TTL})
redis.call('EXPIRE', uniques, ${DAY_TTL})
if redis.call('EXISTS', visit) == 0 then
  redis.call('RPUSH', visit, ARGV[5])
  if ARGV[7] ~= '' then
    -- interned once per license and retention period; the hash outlives every visit list that names it
    local period = math.floor(now / retention)
    local agents = ${USER_AGENTS}
    if redis.call('HSET', agents, ARGV[8], ARGV[7]) == 1 then
      redis.call('EXPIRE', agents, (period + 3) * retention - now)
    end
  end
end
if mode == 'view' then
  if redis.call('RPUSH', visit, ARGV[6]) > ${PAGES} + 1 then
    -- drop the oldest page, keeping the visit's details in front
    local head = redis.call('LPOP', visit)
    redis.call('LPOP', visit)
    redis.call('LPUSH', visit, head)
  end
end
redis.call('EXPIRE', visit, retention)
local invitation = ''
if ARGV[9] ~= '' then
  local cid = ARGV[9]
  invitation = redis.call('GETDEL', ${INVITATION}) or ''
end
return {id, new_visit and 1 or 0, first, last, vstart, views, visits, chats, previous,
        redis.call('EXISTS', ${WATCH}), invitation}
