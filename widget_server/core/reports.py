"""Reports: counters kept as chats happen, and the reports (LiveChat's Reports API subset, the owner's dashboard) read
from them, never from a scan of the chats.

Every counter lives in one hash per license and UTC hour (``keys.report_hour``; the hour of a thread's start for what
belongs to a thread), with the same field once for the license, once per group (``g:<id>:<name>``) and once per agent
(``a:<id>:<name>``). They are written by what already runs, no round trip of their own on a message's path:

- a thread started active (``Store.index_chat``'s pipeline): ``chats``, per group;
- a thread ended (``archive_add.lua``, the first time the thread enters the archives, so a repaired or re-indexed
  close counts once), from the thread's own fields: ``ended``, durations (``dur_n``, ``dur_sum``, ``adur_sum``: from
  the first agent message to the end), first responses (``frt_n``, ``frt_sum``, a histogram ``frt_b<bin>`` for the
  median and 90th percentile), ``missed`` (the customer wrote and no agent answered), and per agent ``chats``;
- a rating set, changed or deleted (``report_rating.lua``): ``good``, ``bad``, ``comments``;
- a ticket opened (``Tickets``' index pipeline): ``tickets``, ``tickets_missed``, ``tickets_offline``;
- a routing status set (``report_status.lua``, which sets it): ``avail_ms``, the time agents accepted chats.

Buckets expire the chat retention (``WIDGET_CHAT_RETENTION_DAYS``) after their hour. A report reads the hours of its
range in one pipelined round trip and sums them in the caller's time zone (whole hours: a zone whose offset is not a
whole number of hours gets each hour in the period where it starts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from .. import keys
from ..protocol.errors import ApiError
from ..protocol.reports import ReportFilters, ReportRequest, ReportResponse
from . import scripts

HOUR_MS = 3_600_000
FRT_BINS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 2700, 3600, 7200)
"""Upper bounds (seconds) of the first-response histogram's bins; one more bin holds everything slower."""
MAX_HOURLY_DAYS = 31
"""The longest range a report per hour may span (an answer of one record per hour)."""
COMMENTS_KEPT = 50
"""Rating comments kept for the dashboard (a capped list per license)."""
COMMENT_MAX = 500
READ_CHUNK = 500
"""Hour buckets read per pipeline (a year is 8,760)."""
COUNTED = ("chats", "ended", "missed", "frt_n", "frt_sum", "dur_n", "dur_sum", "adur_sum", "good", "bad", "comments",
           "tickets", "tickets_missed", "tickets_offline", "avail_ms", *(f"frt_b{i}" for i in range(len(FRT_BINS) + 1)))


def frt_bin(seconds: int) -> int:
    return next((i for i, bound in enumerate(FRT_BINS) if seconds < bound), len(FRT_BINS))


def quantile(histogram: list[int], q: float) -> float | None:
    """The ``q`` quantile of the first-response histogram, interpolated within its bin (None without samples)."""
    n = sum(histogram)
    if n <= 0:
        return None
    target, seen = q * n, 0
    for i, count in enumerate(histogram):
        if count > 0 and seen + count >= target:
            lo = FRT_BINS[i - 1] if i else 0
            hi = FRT_BINS[i] if i < len(FRT_BINS) else lo
            return round(lo + (hi - lo) * (target - seen) / count, 1)
        seen += count
    return float(FRT_BINS[-1])


@dataclass(slots=True)
class ThreadFacts:
    """What an ended thread adds to the reports, from its own fields."""

    start_ms: int
    closed_ms: int
    group: int
    agents: list[str]
    asked_ms: int | None = None
    """When the customer began waiting for an answer (the thread's start for one they opened)."""
    answered_ms: int | None = None
    """The first agent message after that."""

    def counts(self) -> list[tuple[str, int]]:
        pairs: list[tuple[str, int]] = []
        duration = max(0, (self.closed_ms - self.start_ms) // 1000)
        for prefix in ("", f"g:{self.group}:", *(f"a:{a}:" for a in self.agents)):
            pairs += [(prefix + "ended", 1), (prefix + "dur_n", 1), (prefix + "dur_sum", duration)]
            if prefix.startswith("a:"):  # (the license's and groups' chats are counted when they start)
                pairs.append((prefix + "chats", 1))
            if self.answered_ms is not None:
                pairs.append((prefix + "adur_sum", max(0, (self.closed_ms - self.answered_ms) // 1000)))
                if self.asked_ms is not None:
                    first = max(0, (self.answered_ms - self.asked_ms) // 1000)
                    pairs += [(prefix + "frt_n", 1), (prefix + "frt_sum", first),
                              (prefix + f"frt_b{frt_bin(first)}", 1)]
            elif self.asked_ms is not None:
                pairs.append((prefix + "missed", 1))
        return pairs


def rating_value(rating: Any) -> str:
    """A thread's ``rating`` property as the counters keep it: '' (none), 'g'/'b', with 'c' when it has a comment."""
    if not isinstance(rating, dict):
        return ""
    score = rating.get("score")
    if isinstance(score, bool) or score not in (0, 1):
        return ""
    comment = rating.get("comment")
    return ("g" if score == 1 else "b") + ("c" if isinstance(comment, str) and comment.strip() else "")


class Reports:
    """The counters' writes and reads on Valkey."""

    def __init__(self, valkey: Any, retention_days: float = 365.0, max_days: int = 366) -> None:
        self.r = valkey
        self.retention = int(retention_days * 86400) if retention_days > 0 else 0
        self.max_days = max_days
        self._rating = scripts.register(valkey, "report_rating")
        self._status = scripts.register(valkey, "report_status")

    def expire_at(self, hour: int) -> int:
        """When an hour's bucket expires (unix s; 0: never, chats are kept for ever)."""
        return (hour + 1) * 3600 + self.retention if self.retention else 0

    # --- writes --------------------------------------------------------------------------------------------------

    def archive_args(self, facts: ThreadFacts) -> list[Any]:
        """The report part of ``archive_add.lua``'s ARGV for an ended thread."""
        hour = facts.start_ms // HOUR_MS
        args: list[Any] = [hour, self.expire_at(hour)]
        for name, value in facts.counts():
            args += [name, value]
        return args

    def count_started(self, pipe: Any, org: str, group: int, ms: int) -> None:
        """Queue on ``pipe`` the counting of an active thread started at ``ms`` in ``group``."""
        self._incr(pipe, org, ms, [("chats", 1), (f"g:{group}:chats", 1)])

    def count_ticket(self, pipe: Any, org: str, group: int, source: str, ms: int) -> None:
        """Queue on ``pipe`` the counting of a new ticket (``source`` missed_chat or offline_message)."""
        kind = "tickets_missed" if source == "missed_chat" else "tickets_offline"
        self._incr(pipe, org, ms, [("tickets", 1), (kind, 1), (f"g:{group}:tickets", 1), (f"g:{group}:{kind}", 1)])

    def _incr(self, pipe: Any, org: str, ms: int, pairs: list[tuple[str, int]]) -> None:
        hour = ms // HOUR_MS
        key = keys.report_hour(org, hour)
        for name, value in pairs:
            pipe.hincrby(key, name, value)
        if self.retention:
            pipe.expireat(key, self.expire_at(hour))

    async def rate(self, org: str, thread_id: str, start_ms: int, group: int, agents: list[str],
                   rating: Any) -> None:
        """Count the thread's ``rating`` property in its start hour, replacing the one counted; a new or changed
        rating with a comment goes into the license's latest comments too."""
        value = rating_value(rating)
        hour = start_ms // HOUR_MS
        entry = b""
        if "c" in value:
            entry = msgspec.json.encode({"thread_id": thread_id, "score": rating["score"],
                                         "comment": rating["comment"][:COMMENT_MAX], "agents": agents,
                                         "group": group, "at": int(time.time() * 1000)})
        await self._rating(keys=[keys.report_rated(org, hour), keys.report_hour(org, hour), keys.report_comments(org)],
                           args=[thread_id, value, self.expire_at(hour), entry, COMMENTS_KEPT, self.retention, "",
                                 f"g:{group}:", *(f"a:{a}:" for a in agents)])

    async def comments(self, org: str, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """The latest rating comments (newest first) given between ``since_ms`` and ``until_ms``."""
        raw = await self.r.lrange(keys.report_comments(org), 0, COMMENTS_KEPT - 1)
        if self.retention:  # (the list lives the retention after its latest entry: older ones are past theirs)
            since_ms = max(since_ms, int(time.time() * 1000) - self.retention * 1000)
        out = []
        for item in raw:
            try:
                entry = msgspec.json.decode(item)
            except msgspec.DecodeError:
                continue
            if isinstance(entry, dict) and since_ms <= int(entry.get("at") or 0) < until_ms:
                out.append(entry)
        return out

    async def set_status(self, org: str, agent_id: str, status: str, now_ms: int | None = None) -> None:
        """Set the agent's routing status (``keys.routing_status``) and count the availability it ends."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        await self._status(keys=[keys.routing_status(org), keys.report_accepting(org),
                                 keys.report_license_accepting(org), keys.report_groups_accepting(org),
                                 keys.agents(org)],
                           args=[agent_id, status, now_ms, self.retention, self.max_days * 24])

    # --- reads ---------------------------------------------------------------------------------------------------

    async def report(self, org: str, path: str, req: ReportRequest, groups: list[int] | None,
                     agents: list[str] | None) -> ReportResponse:
        """One of LiveChat's reports (``REPORTS``: ``chats/total_chats`` …) of the license, or of ``groups`` or
        ``agents`` (the caller's scope, ``auth.rules.report_scope``)."""
        spec = REPORTS.get(path)
        if spec is None:
            raise ApiError("not_found", f"No report {path}")
        if groups is not None and agents is not None:
            raise ApiError("validation", "filters.groups and filters.agents cannot be combined")
        filters = req.filters or ReportFilters()
        query = make_query(filters.from_, filters.to, req.timezone, req.distribution, self.max_days)
        if agents is not None:
            query.prefixes = [f"a:{a}:" for a in dict.fromkeys(agents)]
        elif groups is not None:
            query.prefixes = [f"g:{g}:" for g in dict.fromkeys(groups)]
        total, records = report_records(spec[0], sums(query, await self.buckets(org, *query.hours)))
        echo = {k: v for k, v in msgspec.to_builtins(req).items() if v is not None}
        if isinstance(echo.get("filters"), dict):
            echo["filters"] = {k: v for k, v in echo["filters"].items() if v is not None}
        return ReportResponse(name=spec[1], request=echo, total=total, records=records)

    async def dashboard(self, org: str, frm: str | None, to: str | None, tz_name: str | None,
                        distribution: str) -> dict[str, Any]:
        """The owner's dashboard's numbers: each period's, the range's, and each agent's and group's over the range
        (the same sums the Reports API answers with)."""
        query = make_query(frm, to, tz_name, distribution, self.max_days)
        buckets = await self.buckets(org, *query.hours)
        periods = sums(query, buckets)
        total = dict.fromkeys(COUNTED, 0)
        for counts in periods.values():
            for name, value in counts.items():
                total[name] += value
        agents, groups = dimensions(buckets, *query.hours)
        comments = await self.comments(org, int(query.start.timestamp() * 1000), int(query.end.timestamp() * 1000))
        return {"comments": comments,"from": query.start.isoformat(), "to": query.end.isoformat(), "distribution": distribution,
                "periods": [{"period": period, **metrics(counts)} for period, counts in periods.items()],
                "total": metrics(total),
                "agents": [{"id": a, **metrics(c)} for a, c in sorted(agents.items())],
                "groups": [{"id": int(g) if g.isdigit() else g, **metrics(c)}
                           for g, c in sorted(groups.items(), key=lambda item: (len(item[0]), item[0]))]}

    async def buckets(self, org: str, first_hour: int, last_hour: int) -> dict[int, dict[str, int]]:
        """The counters of hours ``first_hour``..``last_hour`` (only the hours that have any), with the availability
        still open (agents accepting now) added up to now."""
        out: dict[int, dict[str, int]] = {}
        hours = list(range(first_hour, last_hour + 1))
        for start in range(0, len(hours), READ_CHUNK):
            chunk = hours[start:start + READ_CHUNK]
            async with self.r.pipeline(transaction=False) as pipe:
                for hour in chunk:
                    pipe.hgetall(keys.report_hour(org, hour))
                for hour, raw in zip(chunk, await pipe.execute()):
                    if raw:
                        out[hour] = {k.decode(): int(v) for k, v in raw.items()}
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.report_accepting(org))
            pipe.get(keys.report_license_accepting(org))
            pipe.hgetall(keys.report_groups_accepting(org))
            agents, any_since, groups = await pipe.execute()
        now = int(time.time() * 1000)
        lo, hi = first_hour * HOUR_MS, min(now, (last_hour + 1) * HOUR_MS)
        # (an agent's state is '<since>|<groups>'; a group's 's:<id>' is since when one of its agents accepts)
        opened = [(f"a:{a.decode()}:avail_ms", int(s.split(b"|")[0])) for a, s in agents.items()]
        opened += [(f"g:{g.decode()[2:]}:avail_ms", int(s)) for g, s in groups.items() if g.startswith(b"s:")]
        if any_since is not None:
            opened.append(("avail_ms", int(any_since)))
        for name, since in opened:
            start = max(since, lo)
            while start < hi:
                hour = start // HOUR_MS
                end = min(hi, (hour + 1) * HOUR_MS)
                bucket = out.setdefault(hour, {})
                bucket[name] = bucket.get(name, 0) + end - start
                start = end
        return out


# --- the reports ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Query:
    """A report's range, time zone, periods and whose counters (the prefixes summed: '' the license's)."""

    start: datetime
    end: datetime
    tz: Any
    distribution: str
    prefixes: list[str] = field(default_factory=lambda: [""])

    @property
    def hours(self) -> tuple[int, int]:
        return (int(self.start.timestamp() * 1000) // HOUR_MS,
                (int(self.end.timestamp() * 1000) - 1) // HOUR_MS)

    def period(self, hour: int) -> str:
        local = datetime.fromtimestamp(hour * 3600, self.tz)
        if self.distribution == "hour":
            return local.strftime("%Y-%m-%d %H:00:00")
        if self.distribution == "day-hours":
            return local.strftime("%H:00")
        if self.distribution == "month":
            return local.strftime("%Y-%m")
        if self.distribution == "year":
            return local.strftime("%Y")
        return local.strftime("%Y-%m-%d")


def parse_time(value: str, tz: Any, name: str) -> datetime:
    """An RFC 3339 date-time (or a bare date, midnight in ``tz``)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError("validation", f"filters.{name}: expected an RFC 3339 date-time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def make_query(frm: str | None, to: str | None, tz_name: str | None, distribution: str, max_days: int,
               now: float | None = None) -> Query:
    """The range and zone of a request: LiveChat's default is the last seven days, up to now."""
    try:
        tz = ZoneInfo(tz_name) if tz_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError("validation", "timezone: not an IANA time zone") from None
    end = parse_time(to, tz, "to") if to else datetime.fromtimestamp(now or time.time(), tz)
    if to and len(to) == 10:  # a bare end date includes that day
        end += timedelta(days=1)
    start = parse_time(frm, tz, "from") if frm else (end - timedelta(days=7))
    if start >= end:
        raise ApiError("validation", "filters.from must be before filters.to")
    if end - start > timedelta(days=max_days):
        raise ApiError("validation", f"a report spans at most {max_days} days")
    if distribution == "hour" and end - start > timedelta(days=MAX_HOURLY_DAYS):
        raise ApiError("validation", f"distribution hour: a report spans at most {MAX_HOURLY_DAYS} days")
    return Query(start, end, tz, distribution)


def sums(query: Query, buckets: dict[int, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Each period of the range (every one, empty ones too, in order) with its counters summed over the query's
    prefixes."""
    first, last = query.hours
    wanted = set(query.prefixes)
    out: dict[str, dict[str, int]] = {}
    for hour in range(first, last + 1):
        totals = out.setdefault(query.period(hour), dict.fromkeys(COUNTED, 0))
        # a bucket's fields once each (not once per prefix asked): the cost follows what the hour holds
        for name, value in buckets.get(hour, {}).items():
            cut = name.rfind(":") + 1
            if name[:cut] in wanted and name[cut:] in totals:
                totals[name[cut:]] += value
    if query.distribution == "day-hours":
        out = dict(sorted(out.items()))
    return out


def histogram(counts: dict[str, int]) -> list[int]:
    return [counts.get(f"frt_b{i}", 0) for i in range(len(FRT_BINS) + 1)]


def _avg(total: int, n: int) -> float:
    return round(total / n, 2) if n else 0


def metrics(counts: dict[str, int]) -> dict[str, Any]:
    """The dashboard's numbers of one period (or of a whole range, an agent, a group)."""
    frt = histogram(counts)
    return {
        "chats": counts.get("chats", 0), "ended": counts.get("ended", 0), "missed": counts.get("missed", 0),
        "tickets": counts.get("tickets", 0), "tickets_missed": counts.get("tickets_missed", 0),
        "tickets_offline": counts.get("tickets_offline", 0),
        "good": counts.get("good", 0), "bad": counts.get("bad", 0), "comments": counts.get("comments", 0),
        "first_responses": counts.get("frt_n", 0),
        "first_response_avg": _avg(counts.get("frt_sum", 0), counts.get("frt_n", 0)),
        "first_response_median": quantile(frt, 0.5), "first_response_p90": quantile(frt, 0.9),
        "duration_avg": _avg(counts.get("dur_sum", 0), counts.get("dur_n", 0)),
        "available_hours": round(counts.get("avail_ms", 0) / HOUR_MS, 2),
    }


def report_records(name: str, periods: dict[str, dict[str, int]]) -> tuple[int | float, dict[str, dict[str, Any]]]:
    """(total, records) of one of LiveChat's reports, in its shape."""
    records: dict[str, dict[str, Any]] = {}
    total: int | float = 0
    for period, c in periods.items():
        if name == "total_chats":
            records[period] = {"total": c["chats"]}
            total += c["chats"]
        elif name == "duration":
            records[period] = {"agents_chatting_duration": _avg(c["adur_sum"], c["dur_n"]), "count": c["dur_n"],
                               "duration": _avg(c["dur_sum"], c["dur_n"])}
            total += c["dur_n"]
        elif name == "first_response_time":
            frt = histogram(c)
            records[period] = {"count": c["frt_n"], "first_response_time": _avg(c["frt_sum"], c["frt_n"]),
                               "median": quantile(frt, 0.5), "percentile_90": quantile(frt, 0.9)}
            total += c["frt_n"]
        elif name == "ratings":
            records[period] = {"bad": c["bad"], "chats": c["chats"], "good": c["good"], "comments": c["comments"]}
            total += c["good"] + c["bad"]
        elif name == "missed_chats":
            records[period] = {"missed": c["missed"], "chats": c["chats"]}
            total += c["missed"]
        elif name == "tickets":
            records[period] = {"total": c["tickets"], "missed_chat": c["tickets_missed"],
                               "offline_message": c["tickets_offline"]}
            total += c["tickets"]
        elif name == "availability":
            hours = round(c["avail_ms"] / HOUR_MS, 2)
            records[period] = {"hours": hours}
            total = round(total + hours, 2)
    return total, records


REPORTS = {"chats/total_chats": ("total_chats", "total-chats-report"),
           "chats/duration": ("duration", "duration-report"),
           "chats/first_response_time": ("first_response_time", "first-response-time-report"),
           "chats/ratings": ("ratings", "ratings-report"),
           "chats/missed": ("missed_chats", "missed-chats-report"),
           "chats/tickets": ("tickets", "tickets-report"),
           "agents/availability": ("availability", "availability-report")}
"""Reports API path -> (the report, the ``name`` LiveChat answers with). ``chats/missed`` and ``chats/tickets`` are
this server's (LiveChat has no such reports)."""


def dimensions(buckets: dict[int, dict[str, int]], first: int, last: int) -> tuple[dict[str, dict[str, int]],
                                                                                     dict[str, dict[str, int]]]:
    """Every agent's and group's counters summed over hours ``first``..``last``: ({agent id: counts},
    {group id: counts})."""
    agents: dict[str, dict[str, int]] = {}
    groups: dict[str, dict[str, int]] = {}
    for hour, bucket in buckets.items():
        if not first <= hour <= last:
            continue
        for name, value in bucket.items():
            kind, _, rest = name.partition(":")
            if kind not in ("a", "g"):
                continue
            who, _, counter = rest.rpartition(":")
            into = (agents if kind == "a" else groups).setdefault(who, {})
            into[counter] = into.get(counter, 0) + value
    return agents, groups
