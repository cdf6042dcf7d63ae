-- KEYS: a customer's record, the customer's chats. ARGV: the expiry (s). Migration 1 (core/migrations.py): a record
-- from before records expired gets the expiry a browsing visitor's record gets, only while it has none, no chat and
-- no ban, checked and set in one step (a chat started meanwhile lists itself in KEYS[2] first, then keeps the record
-- with PERSIST: Store.index_chat). Returns 1 when it set the expiry.
if redis.call('TTL', KEYS[1]) ~= -1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'banned_until') == 1 then return 0 end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
