"""Business hours: whether a group's hours are open at a moment, and when that next changes. Pure functions over
``protocol.config.BusinessHours``; the clock is the caller's (``core/availability.py`` passes it in)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..protocol.config import WEEKDAYS, BusinessHours, OpenRange
from ..protocol.errors import ApiError

LOOKAHEAD_DAYS = 8
"""How far ``next_change`` looks: a week of weekly ranges plus a day. Exceptions further out are found when the
clock gets near them (the next transition is recomputed at every transition, and at most a week apart)."""


def _seconds(clock: str) -> int:
    parts = [int(x) for x in clock.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone; ``validation`` for an unknown one (or a path-like name zoneinfo refuses)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ApiError("validation", f"business_hours.timezone: unknown time zone {name[:64]!r}") from None


def _zone_or_utc(name: str) -> ZoneInfo:
    """The saved hours' zone, checked when they were saved; should the system's time zone data lose it later, the
    hours are read in UTC rather than every availability check failing."""
    try:
        return zone(name)
    except ApiError:
        return zone("UTC")


def check(hours: BusinessHours, where: str = "business_hours") -> None:
    """What the types cannot say: a known zone, ranges that end after they start, real dates, one exception each."""
    zone(hours.timezone)

    def check_range(r: OpenRange, at: str) -> None:
        if _seconds(r.close) <= _seconds(r.open):
            raise ApiError("validation", f"{where}.{at}: close ({r.close}) must be after open ({r.open})")
        if r.open == "24:00":
            raise ApiError("validation", f"{where}.{at}: open cannot be 24:00")

    for i, r in enumerate(hours.weekly):
        check_range(r, f"weekly[{i}]")
    seen = set()
    for i, ex in enumerate(hours.exceptions):
        try:
            dt.date.fromisoformat(ex.date)
        except ValueError:
            raise ApiError("validation", f"{where}.exceptions[{i}].date: {ex.date} is not a date") from None
        if ex.date in seen:
            raise ApiError("validation", f"{where}.exceptions[{i}].date: {ex.date} is listed twice")
        seen.add(ex.date)
        for j, r in enumerate(ex.ranges):
            check_range(r, f"exceptions[{i}].ranges[{j}]")


def _ranges_on(hours: BusinessHours, day: dt.date) -> list[tuple[int, int]]:
    """The day's openings as (start, end) seconds after local midnight: the exception's if the date has one."""
    iso = day.isoformat()
    for ex in hours.exceptions:
        if ex.date == iso:
            return [(_seconds(r.open), _seconds(r.close)) for r in ex.ranges]
    name = WEEKDAYS[day.weekday()]
    return [(_seconds(r.open), _seconds(r.close)) for r in hours.weekly if r.day == name]


def _local(day: dt.date, seconds: int, tz: ZoneInfo) -> dt.datetime:
    """Local wall-clock ``seconds`` after the day's midnight as an aware UTC time (24:00 = next midnight; a time in
    a DST gap or fold resolves the way zoneinfo does, fold=0)."""
    base = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    wall = base.replace(tzinfo=None) + dt.timedelta(seconds=seconds)
    return wall.replace(tzinfo=tz).astimezone(dt.UTC)


def _intervals(hours: BusinessHours, start: dt.date, days: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """Open intervals (UTC) of ``days`` local days from ``start``, sorted, touching ones merged (23:00-24:00 and
    00:00-01:00 of the next day are one opening)."""
    tz = _zone_or_utc(hours.timezone)
    raw = []
    for n in range(days):
        day = start + dt.timedelta(days=n)
        raw += [(_local(day, a, tz), _local(day, b, tz)) for a, b in _ranges_on(hours, day)]
    raw.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for a, b in raw:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _around(hours: BusinessHours, now: dt.datetime, days: int) -> list[tuple[dt.datetime, dt.datetime]]:
    today = now.astimezone(_zone_or_utc(hours.timezone)).date()
    return _intervals(hours, today - dt.timedelta(days=1), days + 1)


def is_open(hours: BusinessHours | None, now: dt.datetime) -> bool:
    """Whether the hours let the group take chats at ``now`` (aware). No hours, or disabled ones: always."""
    if hours is None or not hours.enabled:
        return True
    return any(a <= now < b for a, b in _around(hours, now, 2))


def next_change(hours: BusinessHours | None, now: dt.datetime) -> dt.datetime | None:
    """The first moment after ``now`` at which ``is_open`` flips, within ``LOOKAHEAD_DAYS``; None if it never does
    there (no hours, always closed, or open around the clock)."""
    if hours is None or not hours.enabled:
        return None
    for a, b in _around(hours, now, LOOKAHEAD_DAYS):
        if a > now:
            return a
        if b > now:
            return b
    return None
