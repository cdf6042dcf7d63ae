-- Give a chat to the best available agent and count it in their load and their chats, in one step, so two workers
-- never hand the same capacity out twice; and note the join that must follow in the license's operations in flight
-- (a worker that dies before the join leaves it there, and the repair pass finishes it: core/repair.py).
-- Returns the agent id, or nil when nobody can take it.
-- KEYS: status, load, max, last, first/normal/last member sets, bots, operations in flight. ARGV: now_ms, "h" for
-- humans only, chat id, thread id, then (optional) a JSON list of agents not to pick. The agent's chat set is named from the license's hash tag (the slot of KEYS[2]).
local exclude = {}
if ARGV[5] and ARGV[5] ~= '' then
  for _, x in ipairs(cjson.decode(ARGV[5])) do exclude[x] = true end
end
local a = pick(KEYS[1], KEYS[2], KEYS[3], KEYS[4], {KEYS[5], KEYS[6], KEYS[7]}, KEYS[8], ARGV[2] == 'h', exclude)
if not a then return nil end
local org = string.match(KEYS[2], '{(.-)}')
redis.call('HINCRBY', KEYS[2], a, 1)
redis.call('HSET', KEYS[4], a, ARGV[1])
redis.call('SADD', ${AGENT_CHATS}, ARGV[3])
redis.call('ZADD', KEYS[9], ARGV[1], 'join ' .. ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. a)
return a
