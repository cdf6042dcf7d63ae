-- An ended thread into the license's archives and every index set of its facts at once (core/archives.py), and, the
-- first time the thread is archived (its ZADD into org_archives adds it), its report counters (core/reports.py):
-- the repair pass or a re-index archiving it again counts nothing twice.
-- KEYS: org_archives, then the index sets. ARGV: member ("chat_id thread_id"), close time (ms), then optionally the
-- report: the hour of the thread's start (unix ms // 3600000), when its bucket expires (unix s, 0: never), then
-- field/increment pairs.
local new = redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
end
if new == 1 and #ARGV > 4 then
  local org = string.match(KEYS[1], '{(.-)}')
  local hour = ARGV[3]
  local bucket = ${REPORT_HOUR}
  for i = 5, #ARGV, 2 do
    redis.call('HINCRBY', bucket, ARGV[i], ARGV[i + 1])
  end
  if tonumber(ARGV[4]) > 0 then redis.call('EXPIREAT', bucket, ARGV[4]) end
end
return #KEYS
