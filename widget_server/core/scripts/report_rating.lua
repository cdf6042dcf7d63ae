-- A thread's rating into the report counters (core/reports.py), once: the rating counted for the thread is kept, so
-- a repeated rating changes nothing and a changed one (good -> bad, a comment added, the rating deleted) moves the
-- counters from the old value to the new.
-- A rating with a comment also goes first into the license's list of latest comments (capped at ARGV[5]).
-- KEYS: the rated hash, the counters of the thread's start hour, the comments list. ARGV: thread id, the rating (''
-- none, 'g', 'b', 'gc', 'bc': good or bad, c with a comment), when the keys expire (unix s, 0: never), the comment's
-- entry ('' for none), how many comments are kept, the retention (s, 0: for ever), then the field prefixes to count
-- under ('' the license, 'g:<group>:', 'a:<agent>:').
local old = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if old == ARGV[2] then return 0 end
local function fields(value)
  local out = {}
  local score = string.sub(value, 1, 1)
  if score == 'g' then out[#out + 1] = 'good' elseif score == 'b' then out[#out + 1] = 'bad' end
  if string.sub(value, 2, 2) == 'c' then out[#out + 1] = 'comments' end
  return out
end
local before, after = fields(old), fields(ARGV[2])
for i = 7, #ARGV do
  for _, f in ipairs(before) do redis.call('HINCRBY', KEYS[2], ARGV[i] .. f, -1) end
  for _, f in ipairs(after) do redis.call('HINCRBY', KEYS[2], ARGV[i] .. f, 1) end
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
if tonumber(ARGV[3]) > 0 then
  redis.call('EXPIREAT', KEYS[1], ARGV[3])
  redis.call('EXPIREAT', KEYS[2], ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[4])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
  -- a visitor's words: gone the retention after the latest (the reader skips older entries)
  if tonumber(ARGV[6]) > 0 then redis.call('EXPIRE', KEYS[3], ARGV[6]) end
end
return 1
