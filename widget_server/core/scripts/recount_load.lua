-- The repair pass: every agent's load set to the number of chats in their chat set that are not idle (what routing,
-- joins, releases and the inactivity timer keep equal in each of their scripts). Returns how many loads were wrong.
-- KEYS: load. The agents' chat sets are named from its hash tag.
local org = string.match(KEYS[1], '{(.-)}')
local fixed = 0
for _, a in ipairs(redis.call('HKEYS', KEYS[1])) do
  local n = redis.call('SCARD', ${AGENT_CHATS}) - redis.call('SINTERCARD', 2, ${AGENT_CHATS}, ${AGENT_IDLE})
  if tonumber(redis.call('HGET', KEYS[1], a)) ~= n then
    redis.call('HSET', KEYS[1], a, n)
    fixed = fixed + 1
  end
end
return fixed
