-- A chat message in one round trip: the caller's access, the thread, the append and the pushes, atomically (so the
-- pushes of a chat leave in the order of its events, and only once they are stored).
-- KEYS: chat, lept. ARGV: 1 organization, 2 the customer the caller must be ('' when not a customer), 3 the agent who
-- must be in the chat ('' for no such check), 4 '1' to use the last thread when none is active, 5 now_ms, 6 message
-- head ('' to publish nothing), 7 between thread id and event, 8 message tail, 9.. (type, json, public) of one event.
-- Published: head .. thread_id .. ARGV[7] .. event .. tail, to the channel of the customer (public events only) and
-- of every agent. Returns {seq, thread_id, customer_id, agent_ids}.
-- The thread's keys are named from the chat's hash tag, so they are in the slot of KEYS[1].
local chat = string.match(KEYS[1], '{(.-)}')
local function channel(user) return ${USER_CHANNEL} end
local c = redis.call('HMGET', KEYS[1], 'org', 'customer_id', 'agent_ids', 'active_thread', 'last_thread_id',
  'last_thread_created_at')
if c[1] ~= ARGV[1] then return redis.error_reply('not_found') end
if ARGV[2] ~= '' and c[2] ~= ARGV[2] then return redis.error_reply('authorization') end
local agents = cjson.decode(c[3] or '[]')
if ARGV[3] ~= '' then
  local member = false
  for _, a in ipairs(agents) do if a == ARGV[3] then member = true end end
  if not member then return redis.error_reply('not_member') end
end
local tid = c[4]
if not tid or tid == '' then
  if ARGV[4] ~= '1' or not c[5] or c[5] == '' then return redis.error_reply('chat_inactive') end
  tid = c[5]
end
local thread = ${THREAD}
local tca = c[6]
if tid ~= c[5] then tca = redis.call('HGET', thread, 'created_at') end
local n = append(KEYS[1], thread, ${EVENTS}, KEYS[2], tid, tca, ARGV[5], ARGV, 9)
if ARGV[6] ~= '' then
  local msg = ARGV[6] .. tid .. ARGV[7] .. '{"id":"' .. tid .. '_' .. n .. '",' .. string.sub(ARGV[10], 2) .. ARGV[8]
  if ARGV[11] == '1' then redis.call('PUBLISH', channel(c[2]), msg) end
  for _, a in ipairs(agents) do redis.call('PUBLISH', channel(a), msg) end
end
return {n, tid, c[2] or '', c[3] or '[]'}
