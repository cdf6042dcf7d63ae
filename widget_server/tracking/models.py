"""What the tracker returns: plain msgspec Structs, times in unix seconds."""

from __future__ import annotations

import msgspec


class VisitorStatistics(msgspec.Struct):
    visits_count: int = 0
    page_views_count: int = 0
    chats_count: int = 0


class Page(msgspec.Struct):
    url: str
    title: str
    opened_at: int


class Visit(msgspec.Struct):
    started_at: int
    referrer: str = ""
    user_agent: str = ""
    ip: str = ""


class Visitor(msgspec.Struct):
    id: str
    first_seen: int
    last_seen: int
    online: bool
    statistics: VisitorStatistics
    visit: Visit
    last_pages: list[Page]
    """Pages of the current visit, oldest first (at most ``Tracker.pages_per_visit``)."""


class Activity(msgspec.Struct):
    """A visitor's state right after one tracked action."""

    dense_id: int
    new_visit: bool
    first_seen: int
    last_seen: int
    visit_started: int
    statistics: VisitorStatistics


class OnlinePage(msgspec.Struct):
    total: int
    """Visitors online now (a bitmap count, exact)."""
    visitor_ids: list[str]
    next_cursor: int | None
    """Pass back as ``cursor`` for the next page; None on the last page."""


class DayCounters(msgspec.Struct):
    day: str
    page_views: int = 0
    visits: int = 0
    chats: int = 0
    unique_visitors: int = 0
    """HyperLogLog estimate (±0.81 %)."""
