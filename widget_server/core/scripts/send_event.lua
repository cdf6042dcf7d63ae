-- A chat message in one round trip: the caller's access, the thread, the append and the pushes, atomically (so the
-- pushes of a chat leave in the order of its events, and only once they are stored).
-- KEYS: chat, lept, the chat's custom ids, the chat's webhook outbox. ARGV: 1 organization, 2 the customer the caller must be ('' when not a
-- customer), 3 the agent who must be in the chat ('' for no such check), 4 '1' to use the last thread when none is active, 5 now_ms, 6 message
-- head ('' to publish nothing), 7 between thread id and event, 8 message tail, 9 the event's idempotency field
-- ('<author> <custom_id>', '' when it has no custom_id), 10 the webhook outbox's entry ('' when the license has no
-- webhook for it): the stored event's id is kept under it until the caller has queued the webhook deliveries, so the
-- repair pass can queue them if the caller dies first (core/repair.py), 11, 12, 13 (type, json, public) of one
-- event.
-- Published: head .. thread_id .. ARGV[7] .. event .. tail, to the channel of the customer (public events only) and
-- of every agent. Returns {seq, thread_id, customer_id, agent_ids, 0, first response ms (-1: not the thread's
-- first agent message), the chat's access json ('' unless a first response), 1 if the message woke an idle chat
-- (else 0), the chat's followers json ('' for none)}; for a custom_id this author already sent in
-- the chat (a client retrying after a lost answer) nothing is written or published and the stored event's
-- {seq, thread_id, customer_id, agent_ids, 1} is returned (checked after access, before the thread: a retry whose
-- first try was stored just before the thread closed still gets its id).
-- Refused with limit_reached when the chat holds CHAT_MAX_EVENTS events already.
-- Inactivity (core/inactivity.py) reads the chat's last_event_ms (append keeps it) and two fields kept here, written
-- only when they change (no command at all on most messages): awaiting_ms, the customer's first unanswered message
-- of the thread ('0' once an agent wrote), and idle, which a message clears: the 8th value returned is then 1 and
-- the caller counts the chat in its agents' loads again.
-- The thread's keys are named from the chat's hash tag, so they are in the slot of KEYS[1].
local chat = string.match(KEYS[1], '{(.-)}')
local function channel(user) return ${USER_CHANNEL} end
local c = redis.call('HMGET', KEYS[1], 'org', 'customer_id', 'agent_ids', 'active_thread', 'last_thread_id',
  'last_thread_created_at', 'access', 'awaiting_ms', 'idle', 'followers')
if c[1] ~= ARGV[1] then return redis.error_reply('not_found') end
if ARGV[2] ~= '' and c[2] ~= ARGV[2] then return redis.error_reply('authorization') end
local agents = cjson.decode(c[3] or '[]')
if ARGV[3] ~= '' then
  local member = false
  for _, a in ipairs(agents) do if a == ARGV[3] then member = true end end
  if not member then return redis.error_reply('not_member') end
end
if ARGV[9] ~= '' then
  local stored = redis.call('HGET', KEYS[3], ARGV[9])
  if stored then
    local stid, sn = string.match(stored, '^(.*)_(%d+)$')
    return {tonumber(sn), stid, c[2] or '', c[3] or '[]', 1}
  end
end
local tid = c[4]
if not tid or tid == '' then
  if ARGV[4] ~= '1' or not c[5] or c[5] == '' then return redis.error_reply('chat_inactive') end
  tid = c[5]
end
if chat_is_full(KEYS[1], ARGV, 11, ${CHAT_MAX_EVENTS}) then return redis.error_reply('limit_reached') end
local thread = ${THREAD}
local tca = c[6]
if tid ~= c[5] then tca = redis.call('HGET', thread, 'created_at') end
local n = append(KEYS[1], thread, ${EVENTS}, KEYS[2], tid, tca, ARGV[5], ARGV, 11)
if ARGV[2] ~= '' then
  if not c[8] then redis.call('HSET', KEYS[1], 'awaiting_ms', ARGV[5]) end
elseif c[8] ~= '0' then
  redis.call('HSET', KEYS[1], 'awaiting_ms', '0')
end
local woke = 0
if c[9] then
  redis.call('HDEL', KEYS[1], 'idle')
  woke = 1
end
if ARGV[6] ~= '' then
  local msg = ARGV[6] .. tid .. ARGV[7] .. '{"id":"' .. tid .. '_' .. n .. '",' .. string.sub(ARGV[12], 2) .. ARGV[8]
  if ARGV[13] == '1' then redis.call('PUBLISH', channel(c[2]), msg) end
  for _, a in ipairs(agents) do redis.call('PUBLISH', channel(a), msg) end
  -- agents who follow the chat (follow_chat) and are not in it: no command at all for a chat nobody follows
  if c[10] and c[10] ~= '' then
    for _, f in ipairs(cjson.decode(c[10])) do
      local member = false
      for _, a in ipairs(agents) do if a == f then member = true end end
      if not member then redis.call('PUBLISH', channel(f), msg) end
    end
  end
end
-- the custom ids and the outbox live as long as the chat (no expiry while the chat has none)
local ttl = redis.call('PTTL', KEYS[1])
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[9], tid .. '_' .. n)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
end
if ARGV[10] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[10], tid .. '_' .. n)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[4], ttl) end
end
-- First responses: a customer's message marks when they began waiting (``asked_ms``, kept once; a thread a customer
-- opens has it from its start, Store.mark_asked), and the first agent (or bot) message after that is the thread's
-- first response: its delay in ms, with the chat's access (its group), is returned for the caller to keep in the
-- group's capped list (Router.note_first_response). Messages of the chat's last thread only.
local first_ms, access = -1, ''
if ARGV[13] == '1' and ARGV[11] == 'message' and tid == c[5] then
  if ARGV[2] ~= '' then
    redis.call('HSETNX', thread, 'asked_ms', ARGV[5])
  else
    local asked = redis.call('HGET', thread, 'asked_ms')
    if asked and redis.call('HSETNX', thread, 'answered_ms', ARGV[5]) == 1 then
      first_ms = math.max(0, tonumber(ARGV[5]) - tonumber(asked))
      access = c[7] or ''
    end
  end
end
return {n, tid, c[2] or '', c[3] or '[]', 0, first_ms, access, woke, c[10] or ''}
