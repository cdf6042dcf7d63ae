"""Graceful shutdown of a worker. On SIGTERM (what granian's main process sends its workers when it is told to stop,
and what a process manager sends), before granian stops serving:

1. the worker is draining: ``/readyz`` answers 503 so a load balancer sends new work elsewhere, and a socket that
   opens now is closed at once with 1012 "service restart";
2. every RTM socket stops reading, finishes the requests it already read, tells a logged-in client to reconnect and
   closes with 1012 (``RtmConnection.drain``); a client reconnects to another process and catches up from the store;
3. HTTP requests in flight finish;

all within ``shutdown_drain_seconds``. Then the worker lets granian stop (by raising SIGINT, granian's other stop
signal), and the lifespan's shutdown closes the bus and Valkey. granian alone would drop every socket at once
(1006, no close frame) on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time

from ..services import Worker

log = logging.getLogger("widget_server.shutdown")


async def drain(worker: Worker, timeout: float) -> None:
    """Steps 1–3 of the module docstring; returns when they are done or ``timeout`` seconds have passed."""
    worker.draining = True
    deadline = time.monotonic() + timeout
    sockets = list(worker.sockets)
    if sockets:
        log.info("closing %d sockets for a restart", len(sockets))
        _, pending = await asyncio.wait([asyncio.create_task(s.drain()) for s in sockets], timeout=timeout)
        for task in pending:
            task.cancel()
    while worker.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    if worker.sockets or worker.in_flight:
        log.warning("stopping with %d sockets and %d requests not drained", len(worker.sockets), worker.in_flight)


@contextlib.contextmanager
def drain_on_sigterm(worker: Worker, timeout: float):
    """While inside: SIGTERM drains this worker, then stops it. Only where signals can be handled (a server worker's
    main thread); elsewhere (a test client's thread) a no-op."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def drain_then_stop() -> None:
        try:
            await drain(worker, timeout)
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # granian's (and uvicorn's) other stop signal

    def on_sigterm() -> None:
        if not worker.draining:
            task = asyncio.create_task(drain_then_stop(), name="drain")
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signal support
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGTERM)
