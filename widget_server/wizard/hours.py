"""The wizard's business-hours editor: one plain form per group, read here field by field into
``protocol.config.BusinessHours`` with an error next to each field that needs a change.

The form's fields: ``enabled`` (a checkbox), ``timezone`` (an IANA name), one text field per weekday holding that day's
openings (``09:00-12:30, 13:30-17:00``; empty = closed) and ``exceptions``, one date a line (``2026-12-24 closed`` or
``2026-12-31 09:00-13:00``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ..core import hours
from ..protocol.config import WEEKDAYS, BusinessHours, DateException, OpenRange, WeeklyRange
from ..protocol.errors import ApiError

MAX_FIELD = 400
"""Characters kept of a weekday's field (8 ranges fit in ~100)."""
MAX_EXCEPTIONS_TEXT = 20_000
MAX_RANGES_PER_DAY = 8
MAX_EXCEPTIONS = 366

_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?|24:00"
_RANGE = re.compile(rf"^\s*({_TIME})\s*[-–]\s*({_TIME})\s*$")

DAY_LABELS = {day: day.title() for day in WEEKDAYS}


@dataclass
class Parsed:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    hours: BusinessHours | None = None
    """What to save when there are no errors (None: the group has no business hours)."""


def _ranges(text: str) -> list[OpenRange]:
    """``09:00-12:00, 13:00-17:00`` -> ranges; ValueError with a message for the field."""
    out = []
    for part in [p for p in text.split(",") if p.strip()]:
        m = _RANGE.match(part)
        if m is None:
            raise ValueError(f"“{part.strip()[:40]}” is not a time range like 09:00-17:00")
        opening, closing = m.group(1), m.group(2)
        if opening == "24:00" or _secs(closing) <= _secs(opening):
            raise ValueError(f"{part.strip()}: the closing time must be after the opening time")
        out.append(OpenRange(open=opening, close=closing))
    if len(out) > MAX_RANGES_PER_DAY:
        raise ValueError(f"at most {MAX_RANGES_PER_DAY} ranges a day")
    return out


def _secs(clock: str) -> int:
    parts = [int(x) for x in clock.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


def values_of(hours_: BusinessHours | None) -> dict[str, str]:
    """The form's fields for saved hours."""
    if hours_ is None:
        return {"enabled": "", "timezone": "UTC", "exceptions": "", **{d: "" for d in WEEKDAYS}}
    values = {"enabled": "on" if hours_.enabled else "", "timezone": hours_.timezone}
    for day in WEEKDAYS:
        values[day] = ", ".join(f"{r.open}-{r.close}" for r in hours_.weekly if r.day == day)
    lines = []
    for ex in hours_.exceptions:
        lines.append(f"{ex.date} " + (", ".join(f"{r.open}-{r.close}" for r in ex.ranges) or "closed"))
    values["exceptions"] = "\n".join(lines)
    return values


def parse(form: Any) -> Parsed:
    values = {"enabled": "on" if form.get("enabled") else "",
              "timezone": str(form.get("timezone") or "").strip()[:64],
              "exceptions": str(form.get("exceptions") or "")[:MAX_EXCEPTIONS_TEXT]}
    for day in WEEKDAYS:
        values[day] = str(form.get(day) or "")[:MAX_FIELD]
    parsed = Parsed(values)
    errors = parsed.errors

    try:
        hours.zone(values["timezone"] or "UTC")
    except ApiError:
        errors["timezone"] = "Use a time zone name like Europe/Warsaw or America/New_York."

    weekly: list[WeeklyRange] = []
    for day in WEEKDAYS:
        try:
            weekly += [WeeklyRange(day=day, open=r.open, close=r.close) for r in _ranges(values[day])]  # type: ignore[arg-type]
        except ValueError as exc:
            errors[day] = str(exc)

    exceptions: list[DateException] = []
    seen: set[str] = set()
    for n, line in enumerate(values["exceptions"].splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        date, _, rest = line.partition(" ")
        try:
            dt.date.fromisoformat(date)
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
                raise ValueError
        except ValueError:
            errors["exceptions"] = f"Line {n}: start with a date like 2026-12-24."
            break
        if date in seen:
            errors["exceptions"] = f"Line {n}: {date} is listed twice."
            break
        seen.add(date)
        rest = rest.strip()
        try:
            ranges = [] if rest.lower() in ("", "closed") else _ranges(rest)
        except ValueError as exc:
            errors["exceptions"] = f"Line {n}: {exc}."
            break
        exceptions.append(DateException(date=date, ranges=ranges))
    if len(exceptions) > MAX_EXCEPTIONS:
        errors["exceptions"] = f"At most {MAX_EXCEPTIONS} dates."

    if errors:
        return parsed
    if not values["enabled"] and not weekly and not exceptions:
        return parsed  # nothing set: the group has no hours
    parsed.hours = BusinessHours(enabled=bool(values["enabled"]), timezone=values["timezone"] or "UTC",
                                 weekly=weekly, exceptions=exceptions)
    return parsed
