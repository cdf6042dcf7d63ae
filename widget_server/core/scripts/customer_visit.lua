-- KEYS: the customer's record, the customer's chats. ARGV: id, org, created_at (set when missing), how many chat ids,
-- now (unix s), then field, value pairs to set (not for a banned customer). A page load's customer work in one call:
-- returns {banned_until (a ban in force) or '', chat ids}.
-- Anyone can make a record here (a page load without the identity cookie is a new visitor), so a record expires
-- ${TTL} seconds after the visitor was last seen, the expiry refreshed on each call; a record without an expiry (-1)
-- is kept for good: its customer started a chat (Store.index_chat) or was banned (Store.keep_customer), and chats
-- are kept.
local kept = redis.call('TTL', KEYS[1]) == -1
redis.call('HSETNX', KEYS[1], 'id', ARGV[1])
redis.call('HSETNX', KEYS[1], 'org', ARGV[2])
redis.call('HSETNX', KEYS[1], 'created_at', ARGV[3])
if not kept then redis.call('EXPIRE', KEYS[1], ${TTL}) end
local ban = redis.call('HGET', KEYS[1], 'banned_until')
if ban and tonumber(ban) > tonumber(ARGV[5]) then return {ban, {}} end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return {'', redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[4]) - 1)}
