-- An ended thread into the license's archives and every index set of its facts at once (core/archives.py).
-- KEYS: org_archives, then the index sets. ARGV: member ("chat_id thread_id"), close time (ms).
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2], ARGV[1])
end
return #KEYS
