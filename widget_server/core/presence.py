"""Agent presence across workers: whether an agent still has a socket somewhere, and what happens when the last one
is gone for good.

A worker lists each agent socket it holds in the license's ``rt:conns`` sorted set, scored by when it last refreshed
it (every heartbeat). A socket that closes stays listed, scored as if it had been silent for a whole liveness window,
so it stops counting as a connection at once and comes up for settling a grace period later. Settling a socket means
claiming it (ZREM: exactly one caller wins) and, when the agent has no live socket left, ``went_away``: the agent goes
offline and their chats are routed again.

The worker that held a socket settles it when its grace period ends. If that worker dies first (SIGKILL, a lost host,
a restart within the grace period), nobody would: so every worker also runs ``reap`` each heartbeat, which settles the
sockets of any license that are past liveness and grace, whichever worker held them. The licenses to look at come
from a small index scored by their latest socket activity, pruned once nothing of theirs can be left to settle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from ..valkey import log_failure
from .routing import Router

log = logging.getLogger("widget_server.presence")


class AgentPresence:
    def __init__(self, router: Router, went_away: Callable[[str, str], Awaitable[None]], *, heartbeat: float = 20.0,
                 grace: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.router = router
        self.went_away = went_away
        self.heartbeat = heartbeat
        self.alive = 3 * heartbeat
        """A socket not refreshed for this long belongs to a worker that died."""
        self.grace = grace
        self.clock = clock
        self._grace_checks: set[asyncio.Task[None]] = set()

    async def opened(self, org: str, agent_id: str, conn_id: str) -> None:
        """A socket logged in, or is still open (call it every ``heartbeat`` seconds)."""
        await self.router.connected(org, agent_id, conn_id, self.clock())

    async def closed(self, org: str, agent_id: str, conn_id: str) -> None:
        """A socket closed: the agent keeps their chats for the grace period (a reload, a flaky network)."""
        await self.router.disconnected(org, agent_id, conn_id, self.clock() - self.alive)
        task = asyncio.create_task(self._settle_after_grace(org, agent_id, conn_id))
        self._grace_checks.add(task)
        task.add_done_callback(self._grace_checks.discard)

    async def _settle_after_grace(self, org: str, agent_id: str, conn_id: str) -> None:
        await asyncio.sleep(self.grace)
        try:
            await self._settle(org, agent_id, conn_id)
        except Exception:  # the reaper of some worker settles it later
            log.exception("settling %s's closed socket failed", agent_id)

    async def _settle(self, org: str, agent_id: str, conn_id: str) -> None:
        if not await self.router.claim_connection(org, agent_id, conn_id):
            return  # settled already (by this worker's grace check or another worker's reaper)
        if not await self.router.has_connections(org, agent_id, self.clock() - self.alive):
            await self.went_away(org, agent_id)

    async def reap(self) -> None:
        """Settle every license's sockets that are past liveness and grace (closed ones whose worker did not settle
        them, and the ones of dead workers)."""
        before = self.clock() - self.alive - self.grace
        for org, agent_id, conn_id in await self.router.silent_connections(await self.router.licenses_with_agents(),
                                                                           before):
            log.info("agent %s's socket %s outlived its worker; settling it", agent_id, conn_id)
            await self._settle(org, agent_id, conn_id)
        # a license whose latest socket activity is this old had nothing newer than ``before``: all settled above
        await self.router.forget_idle_licenses(before)

    async def run_reaper(self) -> None:
        """Forever, every heartbeat: ``reap``. Every worker runs one; claims keep them from acting twice."""
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.reap()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (log_failure logs it); a Valkey hiccup must not end the reaper for the worker's life
                log_failure(log, exc, "agent presence reaper failed")
