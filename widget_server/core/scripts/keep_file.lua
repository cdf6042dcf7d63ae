-- A file used in an event lives as long as the chat: its expiry is dropped and it leaves the license's pending
-- uploads (put_upload.lua), whose total no longer counts it. KEYS: 1 the file's hash, 2 the license's pending
-- uploads, 3 their total bytes. Returns 1 when the file exists.
local member = redis.call('HGET', KEYS[1], 'pending')
if member then
  if redis.call('ZREM', KEYS[2], member) == 1 then
    redis.call('DECRBY', KEYS[3], tonumber(string.match(member, '^(%d+):')))
  end
  redis.call('HDEL', KEYS[1], 'pending')
end
redis.call('PERSIST', KEYS[1])
return redis.call('EXISTS', KEYS[1])
