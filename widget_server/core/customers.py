"""What agents see of customers: the agent-side Customer object (identity from the customer record, the visit and
statistics from the tracker, the chat state from the customer's latest chats), and ``list_customers`` over a
license's tracked visitors.

A listing walks the tracker's dense ids (``VisitorIndex.scan``: every visitor, or only the online ones when the
filters ask for them), newest first by default, a slice at a time. Filters run cheapest first: what the tracker's
record holds (id, visits, online), then the customer records, the current pages, the visit details and the chats,
each fetched in one pipelined round trip per slice and only for the visitors still in the running. So a page costs
what it scans, whatever the license holds; a page whose filters match rarely comes back short, with a ``page_id``
to continue from (at most ``MAX_SCANS`` slices per request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import msgspec

from ..protocol import agent as a
from ..protocol.common import rfc3339_to_ms
from ..protocol.errors import ApiError
from ..protocol.users import Customer, CustomerVisit, Statistics, VisitedPage, VisitGeolocation
from ..tracking import Tracker, Visitor, VisitorIndex
from .chats import customer_view
from .store import Store

SLICE = 1024
"""Dense ids one scan script visits."""
MAX_SCANS = 16
"""Slices one list_customers request reads at most before it answers with what it found and a page_id."""
FROM_THE_END = 2**40
"""A position past any dense id: a descending listing starts there."""

_list_decoder = msgspec.json.Decoder(list[str])


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chat_state(chats: list[dict[str, str]]) -> tuple[str | None, list[str]]:
    """("chatting" | "queued" | None, chat ids) from a customer's latest chats: chatting when an active chat has an
    agent in it, queued when it waits for one."""
    state = None
    for chat in chats:
        if chat.get("active_thread"):
            agents = _list_decoder.decode(chat["agent_ids"]) if chat.get("agent_ids") else []
            state = "chatting" if agents else (state or "queued")
    return state, [chat["id"] for chat in chats if chat.get("id")]


def build_customer(cid: str, rec: dict[str, str], visitor: Visitor | None, chats: list[dict[str, str]]) -> Customer:
    """The Customer object agents get (get_customer, list_customers, incoming_customer)."""
    customer = customer_view(cid, rec)
    if not customer.created_at and visitor is not None:
        customer.created_at = iso(visitor.first_seen)
    chats_count = int(rec["chats_count"]) if rec.get("chats_count") else (
        visitor.statistics.chats_count if visitor is not None else 0)
    stats = Statistics(chats_count=chats_count, threads_count=int(rec.get("threads_count") or 0),
                       greetings_accepted_count=int(rec.get("greetings_accepted_count") or 0))
    customer.online = False
    if visitor is not None:
        stats.visits_count = visitor.statistics.visits_count
        stats.page_views_count = visitor.statistics.page_views_count
        customer.online = visitor.online
        v = visitor.visit
        geo = VisitGeolocation(country=v.country or None, country_code=v.country_code or None,
                               region=v.region or None, city=v.city or None, timezone=v.timezone or None)
        customer.visit = CustomerVisit(
            started_at=iso(v.started_at),
            last_pages=[VisitedPage(opened_at=iso(p.opened_at), url=p.url, title=p.title) for p in visitor.last_pages],
            referrer=v.referrer or None, ip=v.ip or None, user_agent=v.user_agent or None,
            geolocation=geo if geo != VisitGeolocation() else None,
            ended_at=None if visitor.online else iso(visitor.last_seen))
    customer.statistics = stats
    state, chat_ids = chat_state(chats)
    customer.state = state or ("browsing" if customer.online else None)  # type: ignore[assignment]
    customer.chat_ids = chat_ids or None
    return customer


# --- filters ------------------------------------------------------------------------------------------------------


def _string_ok(f: a.StringFilter | None, *candidates: str | None) -> bool:
    if f is None:
        return True
    have = {c.casefold() for c in candidates if c}
    if f.values is not None and not have & {v.casefold() for v in f.values}:
        return False
    return not (f.exclude_values is not None and have & {v.casefold() for v in f.exclude_values})


def _range_ok(f: a.RangeFilter | None, n: int) -> bool:
    if f is None:
        return True
    return not ((f.eq is not None and n != f.eq) or (f.lt is not None and n >= f.lt)
                or (f.lte is not None and n > f.lte) or (f.gt is not None and n <= f.gt)
                or (f.gte is not None and n < f.gte))


def _date_bounds(name: str, f: a.DateRangeFilter | None) -> a.RangeFilter | None:
    """A date range as a range of milliseconds (a ``validation`` error names a bound that is not a date-time)."""
    if f is None:
        return None
    out = a.RangeFilter()
    for bound in ("lte", "lt", "gte", "gt", "eq"):
        value = getattr(f, bound)
        if value is not None:
            try:
                setattr(out, bound, rfc3339_to_ms(value))
            except ValueError:
                raise ApiError("validation", f"filters.{name}.{bound}: expected an RFC 3339 date-time") from None
    return out


@dataclass
class Filters:
    """CustomerFilters checked once and ready to apply."""

    spec: a.CustomerFilters
    created_ms: a.RangeFilter | None = None
    needs_record: bool = False
    needs_details: bool = False
    needs_chats: bool = False
    empty: bool = True
    """Nothing to filter but the scope: the scope's size is the exact total."""

    @classmethod
    def check(cls, spec: a.CustomerFilters) -> "Filters":
        for name in ("country", "email", "name", "customer_id", "chat_group_ids"):
            f = getattr(spec, name)
            if f is not None and f.values is not None and f.exclude_values is not None:
                raise ApiError("validation", f"filters.{name}: only one of values and exclude_values is allowed")
        for name in ("agent_last_event_created_at", "customer_last_event_created_at"):
            if getattr(spec, name) is not None:
                raise ApiError("validation", f"filters.{name} is not supported by this server")
        out = cls(spec, created_ms=_date_bounds("created_at", spec.created_at))
        out.needs_record = any(x is not None for x in (
            spec.name, spec.email, spec.chats_count, spec.threads_count, spec.created_at)) \
            or spec.include_customers_without_chats is False
        out.needs_details = spec.country is not None
        out.needs_chats = spec.chatting is not None or spec.chat_group_ids is not None
        out.empty = spec == a.CustomerFilters() or spec == a.CustomerFilters(online=True)
        return out


@dataclass
class ListPage:
    customer_ids: list[str]
    total: int
    next_position: int | None
    matched: int
    scanned: int


class CustomerDirectory:
    """Agent-side reads of customers; see the module docstring."""

    def __init__(self, store: Store, tracker: Tracker) -> None:
        self.store = store
        self.tracker = tracker
        self.index = VisitorIndex(tracker)

    async def views(self, org: str, cids: list[str]) -> list[Customer]:
        """Customers as agents see them, in four round trips for all of them."""
        recs = await self.store.customers(cids)
        visitors = await self.tracker.visitors(org, cids)
        chats = await self.store.latest_chats(cids)
        return [build_customer(cid, rec if rec.get("org") == org else {}, visitor, [c for c in row if c.get("org") == org])
                for cid, rec, visitor, row in zip(cids, recs, visitors, chats)]

    async def view(self, org: str, cid: str) -> Customer | None:
        """One customer of the license: known by its record or by the tracker; None otherwise (or another
        license's)."""
        rec = await self.store.customer(cid)
        if rec is not None and rec.get("org") != org:
            return None
        [customer] = await self.views(org, [cid])
        return None if rec is None and customer.visit is None else customer

    async def statistics(self, org: str, cid: str, visits: int, page_views: int, tracked_chats: int) -> Statistics:
        """The statistics of a visitor whose tracked counters are known (``customer_statistics_updated``)."""
        rec = await self.store.customer(cid) or {}
        if rec.get("org") not in (None, org):
            rec = {}
        chats = int(rec["chats_count"]) if rec.get("chats_count") else tracked_chats
        return Statistics(chats_count=chats, threads_count=int(rec.get("threads_count") or 0), visits_count=visits,
                          page_views_count=page_views,
                          greetings_accepted_count=int(rec.get("greetings_accepted_count") or 0))

    async def online(self, org: str, limit: int) -> tuple[int, list[Customer]]:
        """How many visitors are online, and the first ``limit`` of them (newest first)."""
        scan = await self.index.scan(org, FROM_THE_END, descending=True, online_only=True, budget=limit)
        return scan.total, await self.views(org, [vid for _, vid, _ in scan.records])

    async def list_page(self, org: str, filters: Filters, descending: bool, limit: int, position: int,
                        matched: int = 0, scanned: int = 0) -> ListPage:
        """Up to ``limit`` customer ids matching ``filters`` from ``position`` on; ``matched`` and ``scanned`` carry
        the counts of earlier pages, for ``total``."""
        spec = filters.spec
        online_scope = spec.online is True
        found: list[str] = []
        total = 0
        next_position: int | None = position
        for _ in range(MAX_SCANS):
            if next_position is None or len(found) == limit:
                break
            scan = await self.index.scan(org, next_position, descending, online_scope, SLICE)
            total = scan.total
            keep = await self._matching(org, filters, scan.records)
            next_position = scan.next_position
            for i, (dense_id, vid, _) in enumerate(scan.records):
                if dense_id in keep:
                    found.append(vid)
                    matched += 1
                    if len(found) == limit:
                        scanned += i + 1
                        later = scan.records[i + 1:]
                        if later:
                            next_position = later[0][0]
                        break
            else:
                scanned += len(scan.records)
        if not filters.empty:
            # exact once everything was scanned; until then, what matched so far scaled to the whole scope
            if next_position is None:
                total = matched
            elif scanned:
                total = max(matched, round(matched * total / scanned))
        return ListPage(found, total, next_position, matched, scanned)

    async def _matching(self, org: str, filters: Filters, records: list[tuple[int, str, tuple[int, ...]]]) -> set[int]:
        """The dense ids among ``records`` that pass every filter, cheapest test first."""
        spec = filters.spec
        now = self.tracker.now()
        alive = []  # (dense id, visitor id, chats the tracker counted, first seen)
        for dense_id, vid, (first, last, _, _, visits, chats) in records:
            if not _string_ok(spec.customer_id, vid) or not _range_ok(spec.visits_count, visits):
                continue
            if spec.online is False and self.tracker.is_online(last, now):
                continue
            alive.append((dense_id, vid, chats, first))
        if alive and filters.needs_record:
            recs = await self.store.customers([vid for _, vid, _, _ in alive])
            kept = []
            for (dense_id, vid, tracked_chats, first), rec in zip(alive, recs):
                if rec and rec.get("org") != org:
                    continue
                chats = int(rec["chats_count"]) if rec.get("chats_count") else tracked_chats
                if spec.include_customers_without_chats is False and chats == 0:
                    continue
                if not (_string_ok(spec.name, rec.get("name")) and _string_ok(spec.email, rec.get("email"))
                        and _range_ok(spec.chats_count, chats)
                        and _range_ok(spec.threads_count, int(rec.get("threads_count") or 0))):
                    continue
                if filters.created_ms is not None:
                    created = rfc3339_to_ms(rec["created_at"]) if rec.get("created_at") else first * 1000
                    if not _range_ok(filters.created_ms, created):
                        continue
                kept.append((dense_id, vid, tracked_chats, first))
            alive = kept
        if alive and spec.page_url_contains is not None:
            wanted = spec.page_url_contains.casefold()
            pages = await self.index.current_pages(org, [d for d, _, _, _ in alive])
            alive = [x for x, page in zip(alive, pages) if page is not None and wanted in page[1].casefold()]
        if alive and filters.needs_details:
            details = await self.index.visit_details(org, [d for d, _, _, _ in alive])
            alive = [x for x, d in zip(alive, details)
                     if _string_ok(spec.country, d.get("country_code"), d.get("country"))]
        if alive and filters.needs_chats:
            chats_of = await self.store.latest_chats([vid for _, vid, _, _ in alive])
            kept = []
            for x, chats in zip(alive, chats_of):
                chats = [c for c in chats if c.get("org") == org]
                state, _ = chat_state(chats)
                if spec.chatting is not None and spec.chatting != (state == "chatting"):
                    continue
                if spec.chat_group_ids is not None:
                    groups = {g for c in chats for g in _groups(c)}
                    f = spec.chat_group_ids
                    if f.values is not None and not groups & set(f.values):
                        continue
                    if f.exclude_values is not None and groups & set(f.exclude_values):
                        continue
                kept.append(x)
            alive = kept
        return {dense_id for dense_id, _, _, _ in alive}


def _groups(chat: dict[str, str]) -> list[int]:
    raw: Any = msgspec.json.decode(chat["access"]) if chat.get("access") else {"group_ids": [0]}
    return [g for g in raw.get("group_ids", []) if isinstance(g, int)]
