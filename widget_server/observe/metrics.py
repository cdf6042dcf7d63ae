"""The server's Prometheus metrics, one definition each, incremented where the thing happens.

Several granian workers serve one port, and a scrape reaches one of them: prometheus-client's multiprocess mode keeps
each worker's values in memory-mapped files under ``PROMETHEUS_MULTIPROC_DIR`` (the CLI points it into the data dir
and empties it at start), and ``/metrics`` sums every worker's files. The variable must be set before this module is
imported (prometheus-client picks its value store at import): the CLI sets it before granian starts the workers. Without it (an app made in a test, ``create_app`` under another server) the values are this process's own.

granian forks its workers from the CLI's process, which imports most of the package before it knows the data dir. So
the metrics are defined (and prometheus-client imported) on first use, in a worker, after the CLI set the variable:
use them as ``metrics.NAME`` at call time, never ``from .metrics import NAME`` at a module's top.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""A request's latency buckets: the widget's files take ~100 µs, an action a few ms, a slow Valkey up to its timeout."""

MULTIPROC = False
_DEFINED = False


def _define() -> None:
    """Every metric, once per process (module globals: ``__getattr__`` below is not called again)."""
    global MULTIPROC, _DEFINED, HTTP_REQUESTS, RTM_SOCKETS, RTM_CONNECTIONS, MESSAGES, PAGE_VIEWS
    global WEBHOOK_DELIVERIES, MAIL_DELIVERIES, VALKEY_LATENCY, ONLINE_VISITORS, QUEUED_CHATS
    from prometheus_client import Counter, Gauge, Histogram

    MULTIPROC = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    # one histogram: its _count is the number of requests by route, method and status (a separate counter would be a
    # second update on every request of the hot paths)
    HTTP_REQUESTS = Histogram("widget_http_request_duration_seconds",
                              "HTTP requests answered and the time each took, by route template, method and status",
                              ["route", "method", "status"], buckets=_LATENCY)
    RTM_SOCKETS = Gauge("widget_rtm_sockets_open", "RTM websockets open, customer and agent", ["api"],
                        multiprocess_mode="livesum")
    RTM_CONNECTIONS = Counter("widget_rtm_connections", "RTM websockets accepted", ["api"])
    MESSAGES = Counter("widget_chat_events", "Chat events stored (messages, files, rich messages …), by author kind",
                       ["author"])
    PAGE_VIEWS = Counter("widget_page_views", "Page views recorded by visitor tracking")
    WEBHOOK_DELIVERIES = Counter("widget_webhook_deliveries", "Webhook delivery attempts, by outcome (ok, failed)",
                                 ["outcome"])
    MAIL_DELIVERIES = Counter("widget_mail_deliveries", "Outbound e-mail attempts, by outcome (sent, retry, failed)",
                              ["outcome"])
    VALKEY_LATENCY = Histogram("widget_valkey_ping_seconds", "Round trip of a PING to Valkey, sampled by each worker "
                               "every few seconds (the latency every command pays on top of its own work)",
                               buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 5.0))
    # state of the store, read at scrape time (``api/metrics.py``): the latest value, not a sum over workers
    ONLINE_VISITORS = Gauge("widget_online_visitors", "Visitors online now, in the licenses with agents",
                            multiprocess_mode="mostrecent")
    QUEUED_CHATS = Gauge("widget_queued_chats", "Chats waiting in a group's queue, in the licenses with agents",
                         multiprocess_mode="mostrecent")
    _DEFINED = True


def __getattr__(name: str) -> Any:
    if not _DEFINED and name.isupper():
        _define()
        return globals()[name]
    raise AttributeError(name)


class HttpCounts:
    """The HTTP requests of this worker since the last ``flush``, kept in plain lists: one dict lookup, one bisect and
    two list additions per request. Observing the histogram for each request (its sum and a bucket, each behind a lock,
    in multiprocess mode a write into a memory-mapped file) was ~13 Python calls, a third of what an answer from
    memory costs (``benchmarks/instructions.py``, the widget's files). ``flush`` moves the counts into the histogram:
    every second (``run_flusher``), before a scrape, and when the worker stops."""

    BOUNDS = (*_LATENCY, float("inf"))

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str, int], list[float]] = {}
        """(route, method, status) -> a count per bucket of ``BOUNDS``, then the sum of the seconds."""

    def flush(self) -> None:
        if not self.pending:
            return
        if not _DEFINED:
            _define()
        pending, self.pending = self.pending, {}
        for (route, method, status), entry in pending.items():
            child = HTTP_REQUESTS.labels(route, method, str(status))
            # (prometheus-client has no call for many observations at once: its histogram's own values are added to,
            # as ``Histogram.observe`` does for one)
            child._sum.inc(entry[-1])
            for bucket, count in zip(child._buckets, entry, strict=False):
                if count:
                    bucket.inc(count)


HTTP = HttpCounts()


async def run_flusher(every: float = 1.0) -> None:
    """This worker's request counts into the metrics every ``every`` seconds (a scrape may reach another worker)."""
    while True:
        await asyncio.sleep(every)
        HTTP.flush()


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The text format's type (prometheus-client's ``CONTENT_TYPE_LATEST``, not imported here: see above)."""


def exposition() -> bytes:
    """The text format of every metric: summed over the workers' files in multiprocess mode."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    if not _DEFINED:
        _define()
    HTTP.flush()  # (this worker's latest; the others' are at most a second old)
    if MULTIPROC:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY)


def worker_exit(pid: int) -> None:
    """A worker's live gauges leave the sum when it stops (a SIGKILLed worker's stay until the next start)."""
    if MULTIPROC:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
