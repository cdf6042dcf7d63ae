-- KEYS: 1 seq, 2 free ids, 3 scratch union, 4.. the online slots (online scope only).
-- ARGV: 1 scope (all|online), 2 position, 3 step (1|-1), 4 ids to visit at most, 5 records prefix, 6 per bucket.
-- Returns {next position (-1: exhausted), visitors in scope, id, record, id, record, ...}.
local scope, pos, step, budget = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local prefix, per = ARGV[5], tonumber(ARGV[6])
local out = {-1, 0}
local function take(id)
  local rec = redis.call('HGET', prefix .. math.floor(id / per), id % per)
  if rec then
    out[#out + 1] = id
    out[#out + 1] = rec
  end
end
local n = 0
if scope == 'all' then
  local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
  out[2] = seq - redis.call('LLEN', KEYS[2])
  if step < 0 and pos >= seq then pos = seq - 1 end
  while pos >= 0 and pos < seq and n < budget do
    take(pos)
    pos = pos + step
    n = n + 1
  end
  if pos >= 0 and pos < seq then out[1] = pos end
  return out
end
redis.call('BITOP', 'OR', KEYS[3], unpack(KEYS, 4))
out[2] = redis.call('BITCOUNT', KEYS[3])
local size = redis.call('STRLEN', KEYS[3]) * 8
local function next_bit(p)
  if step > 0 then
    if p >= size then return -1 end
    return redis.call('BITPOS', KEYS[3], 1, p, -1, 'BIT')
  end
  if p >= size then p = size - 1 end
  while p >= 0 do
    local byte = math.floor(p / 8)
    local lo = math.max(0, byte - 511)
    local chunk = redis.call('GETRANGE', KEYS[3], lo, byte)
    for i = byte, lo, -1 do
      local v = string.byte(chunk, i - lo + 1)
      if v ~= 0 then
        local top = 7
        if i == byte then top = p % 8 end
        for j = top, 0, -1 do
          if bit.band(v, bit.rshift(128, j)) ~= 0 then return i * 8 + j end
        end
      end
    end
    p = lo * 8 - 1
  end
  return -1
end
local b = -1
if pos >= 0 then b = next_bit(pos) end
while b >= 0 and n < budget do
  take(b)
  n = n + 1
  b = next_bit(b + step)
end
out[1] = b
redis.call('DEL', KEYS[3])
return out
