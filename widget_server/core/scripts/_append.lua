-- append(chat, thread, events, lept, tid, tca, now, items, first): appends the (type, json, public) triples of
-- ``items`` from index ``first`` on to the thread, each with its server id spliced in (so reading a thread never
-- re-encodes anything), keeps the chat's last public event per type, and returns the first sequence number.
-- Every event appended counts in the chat's ``events_count``; ``chat_is_full(chat, items, first, limit)`` tells
-- whether the events from ``first`` on would take the chat over ``limit`` events (callers refuse: limit_reached).
local function chat_is_full(chat, items, first, limit)
  local count = tonumber(redis.call('HGET', chat, 'events_count') or '0')
  return count + (#items - first + 1) / 3 > limit
end

local function append(chat, thread, events, lept, tid, tca, now, items, first)
  local n0 = nil
  redis.call('HINCRBY', chat, 'events_count', (#items - first + 1) / 3)
  local i = first
  while i <= #items do
    local etype, json, public = items[i], items[i + 1], items[i + 2]
    local n = redis.call('HINCRBY', thread, 'seq', 1)
    if not n0 then n0 = n end
    local full = '{"id":"' .. tid .. '_' .. n .. '",' .. string.sub(json, 2)
    redis.call('HSET', events, n, full)
    if public == '1' then
      redis.call('HSET', lept, etype,
        '{"thread_id":"' .. tid .. '","thread_created_at":"' .. tca .. '","event":' .. full .. '}')
    end
    i = i + 3
  end
  redis.call('HSET', chat, 'last_event_ms', now)
  return n0
end
