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


class Geolocation(msgspec.Struct, omit_defaults=True):
    """Where a visit comes from, as a trusted proxy in front of the server reported it (see ``web/client.py``); "" is
    unknown. Agents get it as ``protocol.users.VisitGeolocation``."""

    country: str = ""
    country_code: str = ""
    region: str = ""
    city: str = ""
    timezone: str = ""


class ClientInfo(msgspec.Struct, frozen=True):
    """Who a visitor's requests come from (built by ``web/client.py``): kept with a visit that starts."""

    ip: str | None = None
    user_agent: str | None = None
    geo: Geolocation | None = None


class Visit(msgspec.Struct):
    """The current visit as the tracker keeps it (unix seconds, "" for unknown); agents get it as
    ``protocol.users.CustomerVisit`` (``core/customers.py``)."""

    started_at: int
    referrer: str = ""
    user_agent: str = ""
    ip: str = ""
    country: str = ""
    country_code: str = ""
    region: str = ""
    city: str = ""
    timezone: str = ""


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
    previous_seen: int = 0
    """When the visitor was seen before this action (0: never, or past retention)."""
    watched: bool = False
    """Whether an agent somewhere watches the license's visitors (``core/visitors.py``): then the change is pushed."""
    invitation: str | None = None
    """The chat an agent invited this visitor to, taken by this action (``take_invitation``)."""


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


class HourCounters(msgspec.Struct):
    hour: int
    """The hour's start (unix seconds, UTC)."""
    visitors: int = 0
    """Visitors seen during the hour (exact: a visitor counts once per hour, when first seen in it)."""
    page_views: int = 0
    chats: int = 0


class ScanPage(msgspec.Struct):
    """A slice of a license's visitors in dense id order (``VisitorIndex.scan``)."""

    total: int
    """Visitors in the scanned scope: every tracked visitor, or those online now."""
    records: list[tuple[int, str, tuple[int, ...]]]
    """(dense id, visitor id, record fields as ``unpack_record`` gives them)."""
    next_position: int | None
    """Where the next slice starts; None when the scope is exhausted."""


class Departures(msgspec.Struct):
    """Who left a license's online visitors between two slots (``VisitorIndex.departures``)."""

    online: int
    left: list[tuple[str, int]]
    """(visitor id, last seen) of the visitors online in the previous window and not in the current one."""
    overflow: bool = False
    """More visitors left than were asked for: ``left`` is incomplete."""
