"""A worker stopped right after it started stops: its background tasks end although a cancellation can be lost in
the Valkey client's read timeout on Python 3.11 (``valkey.cancel_and_wait``). Before, the webhook consumer's blocking
read swallowed it and the lifespan's shutdown never ended."""

from __future__ import annotations

import asyncio

from widget_server.app import create_app
from widget_server.settings import load_settings


async def test_a_worker_stopped_as_soon_as_it_started_stops(valkey_url, tmp_path):
    for _ in range(3):
        app = create_app(load_settings({}, valkey_url=valkey_url, data_dir=str(tmp_path)))
        to_app: asyncio.Queue[dict] = asyncio.Queue()
        from_app: asyncio.Queue[dict] = asyncio.Queue()
        lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                           to_app.get, from_app.put))
        to_app.put_nowait({"type": "lifespan.startup"})
        assert (await asyncio.wait_for(from_app.get(), 30))["type"] == "lifespan.startup.complete"
        to_app.put_nowait({"type": "lifespan.shutdown"})  # at once: the consumer is in its first blocking read
        # (a liveness bound, not a timing: a stop that works takes a few seconds at most, one that hangs never ends)
        await asyncio.wait_for(lifespan, 30)
        assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
        left = [t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()
                and t.get_name() in {"webhook-consumer", "webhook-retries", "bus-reader"}]
        assert left == []
