"""Reading a license's visitors in bulk: listing them in dense id order, and noticing who left.

Both work on the layout of ``tracker.py`` and cost what they touch, never what the license holds:

- ``scan`` walks dense ids from a position, in either direction, over every tracked visitor or over the online ones
  only (the union of the online slot bitmaps, walked with BITPOS forwards and with GETRANGE chunks backwards), and
  returns the records it met. A caller filters those and asks for the next slice from ``next_position``; a page of a
  listing is a few slices, so a million visitors are listed a page at a time, like ten.
- ``departures`` compares two online windows, the one of the slot a worker last looked at and the current one, with
  three BITOPs: the visitors in the first and not in the second left. A worker that watches a license runs it once
  per slot boundary; the same call keeps the license's watch flag set (``tracker.py``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from .. import keys
from .models import Departures, ScanPage
from .tracker import RECORD_SIZE, Tracker, unpack_record, unpack_visitor_id

# KEYS: 1 seq, 2 free ids, 3 scratch union, 4.. the online slots (online scope only).
# ARGV: 1 scope (all|online), 2 position, 3 step (1|-1), 4 ids to visit at most, 5 records prefix, 6 per bucket.
# Returns {next position (-1: exhausted), visitors in scope, id, record, id, record, ...}.
SCAN = r"""
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
"""

# KEYS: 1 watch flag, 2 scratch (current window), 3 scratch (previous window), 4 scratch (who left), then the
# current window's slot bitmaps, then the previous window's.
# ARGV: 1 current window's bitmaps, 2 previous window's bitmaps (0: do not compare), 3 watch ttl, 4 records wanted
# at most, 5 records prefix, 6 per bucket.
# Returns {online now, 1 if more left than wanted else 0, record, record, ...}.
DEPARTURES = r"""
local ncur, nprev, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
redis.call('SET', KEYS[1], '1', 'EX', ARGV[3])
local cur = {}
for i = 1, ncur do cur[i] = KEYS[4 + i] end
redis.call('BITOP', 'OR', KEYS[2], unpack(cur))
local out = {redis.call('BITCOUNT', KEYS[2]), 0}
if nprev > 0 then
  local prev = {}
  for i = 1, nprev do prev[i] = KEYS[4 + ncur + i] end
  redis.call('BITOP', 'OR', KEYS[3], unpack(prev))
  -- in the previous window and not in the current one: (previous xor current) and previous
  redis.call('BITOP', 'XOR', KEYS[4], KEYS[3], KEYS[2])
  redis.call('BITOP', 'AND', KEYS[4], KEYS[4], KEYS[3])
  local prefix, per = ARGV[5], tonumber(ARGV[6])
  local pos, found = 0, 0
  while true do
    local b = redis.call('BITPOS', KEYS[4], 1, pos, -1, 'BIT')
    if b < 0 then break end
    if found == want then
      out[2] = 1
      break
    end
    local rec = redis.call('HGET', prefix .. math.floor(b / per), b % per)
    if rec then out[#out + 1] = rec end
    found = found + 1
    pos = b + 1
  end
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return out
"""

_page_decoder = msgspec.json.Decoder(tuple[int, str, str])
_details_decoder = msgspec.json.Decoder(dict[str, str])


class VisitorIndex:
    """Bulk reads of a license's visitors on a Tracker's layout (see the module docstring)."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.r: Any = tracker.r
        self._scan = tracker.r.register_script(SCAN)
        self._departures = tracker.r.register_script(DEPARTURES)

    async def scan(self, org: str, position: int, descending: bool, online_only: bool, budget: int = 1024) -> ScanPage:
        """Up to ``budget`` dense ids from ``position`` on (inclusive; a position past the end starts a descending
        walk at the last id), over every visitor or the online ones. Records past retention are left out."""
        t = self.tracker
        scope_keys = []
        if online_only:
            scope_keys = t.online_slot_keys(org, t.now() // t.slot)
        raw = await self._scan(
            keys=[keys.tracking_seq(org), keys.tracking_free_ids(org), keys.tracking_scratch(org, 0), *scope_keys],
            args=["online" if online_only else "all", position, -1 if descending else 1, budget,
                  keys.tracking_records_prefix(org), t.per_bucket])
        next_position, total, *items = raw
        now = t.now()
        records = []
        for i in range(0, len(items), 2):
            rec = items[i + 1]
            fields = unpack_record(rec)
            if now - fields[1] <= t.retention:
                records.append((int(items[i]), unpack_visitor_id(rec[RECORD_SIZE:]), fields))
        next_position = int(next_position)
        return ScanPage(total=int(total), records=records, next_position=None if next_position < 0 else next_position)

    async def current_pages(self, org: str, dense_ids: list[int]) -> list[tuple[int, str, str] | None]:
        """Each visitor's page now (the last page of its visit): (opened at, url, title), or None."""
        if not dense_ids:
            return []
        async with self.r.pipeline(transaction=False) as p:
            for dense_id in dense_ids:
                p.lindex(keys.tracking_visit(org, dense_id), -1)
            raws = await p.execute()
        # the list starts with the visit's details (a JSON object); pages are JSON arrays
        return [_page_decoder.decode(raw) if raw and raw[:1] == b"[" else None for raw in raws]

    async def visit_details(self, org: str, dense_ids: list[int]) -> list[dict[str, str]]:
        """Each visitor's current visit details (referrer, user agent, IP, location); {} when unknown."""
        if not dense_ids:
            return []
        async with self.r.pipeline(transaction=False) as p:
            for dense_id in dense_ids:
                p.lindex(keys.tracking_visit(org, dense_id), 0)
            raws = await p.execute()
        return [_details_decoder.decode(raw) if raw and raw[:1] == b"{" else {} for raw in raws]

    async def watch(self, org: str, ttl: int) -> None:
        """Set the license's watch flag for ``ttl`` seconds: page views publish their changes meanwhile."""
        await self.r.set(keys.tracking_watch(org), b"1", ex=ttl)

    async def departures(self, org: str, previous_slot: int | None, slot: int, watch_ttl: int,
                         want: int = 1000) -> Departures:
        """Visitors online now, and those online during ``previous_slot`` who are not any more (at most ``want``;
        none when ``previous_slot`` is None or ``want`` is 0). Refreshes the watch flag too."""
        t = self.tracker
        current = t.online_slot_keys(org, slot)
        previous = t.online_slot_keys(org, previous_slot) if previous_slot is not None and want > 0 else []
        raw = await self._departures(
            keys=[keys.tracking_watch(org), *(keys.tracking_scratch(org, n) for n in (1, 2, 3)), *current, *previous],
            args=[len(current), len(previous), watch_ttl, want, keys.tracking_records_prefix(org), t.per_bucket])
        online, overflow, *records = raw
        left = [(unpack_visitor_id(rec[RECORD_SIZE:]), unpack_record(rec)[1]) for rec in records]
        return Departures(online=int(online), left=left, overflow=bool(int(overflow)))
