-- Create or change a canned response (core/canned.py) in one step: the owner's count stays within its bound and a
-- shortcut names one response of an owner, however many agents save at once.
-- KEYS: the owner's hash (id -> JSON record), the license's id counter. ARGV: id ("" to create), shortcut ("" to
-- keep), text ("" to keep), the most an owner holds, the record's fixed fields for a new one (JSON: scope,
-- created_by), updated_at. Returns the record's JSON, or -1 (the owner holds the most), -2 (the shortcut is
-- taken), -3 (no such id).
local id = ARGV[1]
local shortcut = ARGV[2]
local record
if id == '' then
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
  record = cjson.decode(ARGV[5])
else
  local current = redis.call('HGET', KEYS[1], id)
  if not current then return -3 end
  record = cjson.decode(current)
end
if shortcut ~= '' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if all[i] ~= id and cjson.decode(all[i + 1]).shortcut == shortcut then return -2 end
  end
  record.shortcut = shortcut
end
if ARGV[3] ~= '' then record.text = ARGV[3] end
if id == '' then
  id = tostring(redis.call('INCR', KEYS[2]))
  record.id = tonumber(id)
end
record.updated_at = ARGV[6]
local encoded = cjson.encode(record)
redis.call('HSET', KEYS[1], id, encoded)
return encoded
