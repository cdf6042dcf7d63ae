-- The archived threads ("chat_id thread_id" members of sorted sets scored by close time, ms) within a close-time
-- range that satisfy every clause; a clause is one or more index sets, and a member satisfies it when it is in any of
-- them. Returns {how many match, the members of the page (offset, limit) in order}.
-- KEYS: the clauses' sets one after another, then a scratch key (same slot) for a union.
-- ARGV: lo, hi (scores or -inf/+inf), desc ('1'/'0'), offset, limit, number of clauses, then each clause's size.
-- A negative size makes the clause an exclusion: a member satisfies it when it is in none of its sets. The first
-- clause is never an exclusion (the callers send the license's archive first), so there is always one to walk.
-- The search walks only the smallest clause (a many-set clause as the union of its sets), and asks the others
-- about each of its members: its cost follows the most selective filter, not the size of the archive.
local lo, hi, desc = ARGV[1], ARGV[2], ARGV[3] == '1'
local offset, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local nclauses = tonumber(ARGV[6])
local scratch = KEYS[#KEYS]
local clauses, excluded, at = {}, {}, 1
for i = 1, nclauses do
  local clause = {}
  local size = tonumber(ARGV[6 + i])
  for j = 1, math.abs(size) do
    clause[j] = KEYS[at]
    at = at + 1
  end
  if size < 0 then
    excluded[#excluded + 1] = clause
  else
    clauses[#clauses + 1] = clause
  end
end

local function count(key)
  return redis.call('ZCOUNT', key, lo, hi)
end

-- the driver: the clause with the fewest members in range (for a many-set clause, the sum of its sets' counts)
local driver, best = 1, nil
for i, clause in ipairs(clauses) do
  local n = 0
  for _, key in ipairs(clause) do
    n = n + count(key)
  end
  if best == nil or n < best then
    driver, best = i, n
  end
end
if best == 0 then
  return {0}
end
local walked = clauses[driver][1]
if #clauses[driver] > 1 then
  -- (a thread is in several sets with the same score: MAX keeps it, the default SUM would not)
  local args = {scratch, #clauses[driver]}
  for _, key in ipairs(clauses[driver]) do
    args[#args + 1] = key
  end
  args[#args + 1] = 'AGGREGATE'
  args[#args + 1] = 'MAX'
  redis.call('ZUNIONSTORE', unpack(args))
  walked = scratch
end
local others = {}
for i, clause in ipairs(clauses) do
  if i ~= driver then
    others[#others + 1] = clause
  end
end

-- the walked set's members in range, by rank (ZRANGE by index: each batch costs its size, not its offset)
-- (the other side of a bound: '(x' (exclusive) is beyond at 'x', 'x' beyond at '(x')
local function beyond(bound)
  if string.sub(bound, 1, 1) == '(' then
    return string.sub(bound, 2)
  end
  return '(' .. bound
end
local first
if desc then
  first = (hi == '+inf') and 0 or redis.call('ZCOUNT', walked, beyond(hi), '+inf')
else
  first = (lo == '-inf') and 0 or redis.call('ZCOUNT', walked, '-inf', beyond(lo))
end
local in_range = count(walked)
local result = {}
local total = 0
if #others == 0 and #excluded == 0 then
  total = in_range
  if offset < in_range then
    local last = first + math.min(in_range, offset + limit) - 1
    if desc then
      result = redis.call('ZREVRANGE', walked, first + offset, last)
    else
      result = redis.call('ZRANGE', walked, first + offset, last)
    end
  end
else
  local BATCH = 512
  local done = 0
  while done < in_range do
    local last = first + math.min(in_range, done + BATCH) - 1
    local batch
    if desc then
      batch = redis.call('ZREVRANGE', walked, first + done, last)
    else
      batch = redis.call('ZRANGE', walked, first + done, last)
    end
    for _, member in ipairs(batch) do
      local ok = true
      for _, clause in ipairs(others) do
        local any = false
        for _, key in ipairs(clause) do
          if redis.call('ZSCORE', key, member) then
            any = true
            break
          end
        end
        if not any then
          ok = false
          break
        end
      end
      if ok then
        for _, clause in ipairs(excluded) do
          for _, key in ipairs(clause) do
            if redis.call('ZSCORE', key, member) then
              ok = false
              break
            end
          end
          if not ok then
            break
          end
        end
      end
      if ok then
        total = total + 1
        if total > offset and #result < limit then
          result[#result + 1] = member
        end
      end
    end
    done = done + #batch
    if #batch == 0 then
      break
    end
  end
end
if walked == scratch then
  redis.call('DEL', scratch)
end
table.insert(result, 1, total)
return result
