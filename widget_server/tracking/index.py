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
from ..core import scripts
from .models import Departures, ScanPage
from .tracker import RECORD_SIZE, Tracker, unpack_record, unpack_visitor_id

_page_decoder = msgspec.json.Decoder(tuple[int, str, str])
_details_decoder = msgspec.json.Decoder(dict[str, str])


class VisitorIndex:
    """Bulk reads of a license's visitors on a Tracker's layout (see the module docstring)."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.r: Any = tracker.r
        self._scan = scripts.register(tracker.r, "scan_visitors")
        self._departures = scripts.register(tracker.r, "visitor_departures")

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
