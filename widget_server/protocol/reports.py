"""LiveChat's Reports API v3.6 (``POST /v3.6/reports/<resource>/<action>``): the request every report takes, and the
shape of its answer. Only the filters this server can answer from its counters are accepted (``core/reports.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

Distribution = Literal["hour", "day", "day-hours", "month", "year"]
MAX_FILTER_VALUES = 100
"""Groups or agents one report may name: each is summed over every hour of the range."""


class IntValues(msgspec.Struct, forbid_unknown_fields=True):
    values: Annotated[list[int], msgspec.Meta(max_length=MAX_FILTER_VALUES)] = msgspec.field(default_factory=list)


class StrValues(msgspec.Struct, forbid_unknown_fields=True):
    values: Annotated[list[Annotated[str, msgspec.Meta(max_length=254)]],
                      msgspec.Meta(max_length=MAX_FILTER_VALUES)] = msgspec.field(default_factory=list)


class ReportFilters(msgspec.Struct, forbid_unknown_fields=True):
    """``from`` and ``to`` are RFC 3339 date-times (default: the last seven days); ``groups`` and ``agents`` narrow
    the counters to those groups' or agents' chats (one of the two in a request)."""

    from_: Annotated[str, msgspec.Meta(max_length=64)] | None = msgspec.field(default=None, name="from")
    to: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    groups: IntValues | None = None
    agents: StrValues | None = None


class ReportRequest(msgspec.Struct, forbid_unknown_fields=True):
    distribution: Distribution = "day"
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    filters: ReportFilters | None = None


class ReportResponse(msgspec.Struct):
    """``records`` maps each period of the range (``2026-12-04`` for a day, ``2026-12-04 13:00:00`` for an hour,
    ``13:00`` for an hour of the day over the range, ``2026-12``, ``2026``) to that report's numbers."""

    name: str
    request: dict[str, Any]
    total: int | float
    records: dict[str, dict[str, Any]]
