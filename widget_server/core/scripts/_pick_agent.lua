-- pick(status, load, max, last, sets, bots, humans_only): the agent routing gives the next chat, or nil. Among the
-- agents of the member sets (by priority: the first set with somebody able wins) who accept chats and are below
-- their max concurrent chats (6 when unset), the fewest active chats; ties go to whoever got a chat least recently,
-- then to the smallest id. ``humans_only`` skips bots; agents in the table ``exclude`` (id -> true) are skipped (a
-- chat the inactivity timer moves on goes to an agent it has not been with).
local function pick(status, load, max, last, sets, bots, humans_only, exclude)
  for _, set in ipairs(sets) do
    local best, bload, blast = nil, nil, nil
    for _, a in ipairs(redis.call('SMEMBERS', set)) do
      if not exclude[a] and redis.call('HGET', status, a) == 'accepting_chats'
         and not (humans_only and redis.call('SISMEMBER', bots, a) == 1) then
        local l = tonumber(redis.call('HGET', load, a) or '0')
        local m = tonumber(redis.call('HGET', max, a) or '6')
        if l < m then
          local t = tonumber(redis.call('HGET', last, a) or '0')
          if best == nil or l < bload or (l == bload and (t < blast or (t == blast and a < best))) then
            best, bload, blast = a, l, t
          end
        end
      end
    end
    if best then return best end
  end
  return nil
end
