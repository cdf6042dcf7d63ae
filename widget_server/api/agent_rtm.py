"""Agent RTM API: ``/v3.x/agent/rtm/ws`` (see ``rtm.py`` for the transport). ``login`` takes the personal access
token as ``token`` (``Bearer <PAT>`` or the PAT itself)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar import WebSocket, websocket

from ..core.agents import AgentCaller
from ..protocol import agent as a
from .auth import authenticate_agent
from .customer_web import base_url
from .dispatch import AGENT
from .rtm import RtmConnection


HEARTBEAT_SECONDS = 20
ALIVE_SECONDS = 3 * HEARTBEAT_SECONDS
"""A socket not refreshed for this long belongs to a worker that died."""
_grace_checks: set[asyncio.Task[None]] = set()


class AgentConnection(RtmConnection):
    table = AGENT
    disconnect_action = "agent_disconnected"
    caller: AgentCaller

    @property
    def core(self) -> Any:
        return self.state.agent_core

    def caller_for(self, frame: Any) -> AgentCaller:
        base = self.caller
        return AgentCaller(org=base.org, agent_id=base.agent_id, role=base.role, version=frame.version or self.version,
                           transport="rtm", base_url=base.base_url, conn_id=self.conn_id, request_id=frame.request_id)

    async def login(self, frame: Any, req: a.AgentLoginRequest) -> None:
        org, agent = await authenticate_agent(self.state, req.token)
        self.caller = AgentCaller(org=org, agent_id=agent["id"], role=agent.get("role", "normal"),
                                  version=self.version, transport="rtm",  # type: ignore[arg-type]
                                  base_url=base_url(self.socket, self.state),  # type: ignore[arg-type]
                                  conn_id=self.conn_id, request_id=frame.request_id)
        if req.pushes:
            subscribed = frozenset(req.pushes.get(self.version, ()))
            self.pushes = None if "all" in subscribed else subscribed
        await self.state.bus.register(agent["id"], self)
        self.user_id = agent["id"]
        await self.state.router.connected(org, agent["id"], self.conn_id, time.time())
        self.respond(frame, await self.core.login(self.caller, req))

    async def background(self) -> None:
        """Keep this socket's entry fresh so other workers can tell it from a dead worker's."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if self.user_id is not None:
                await self.state.router.connected(self.caller.org, self.user_id, self.conn_id, time.time())

    async def closed(self) -> None:
        org, agent_id = self.caller.org, self.caller.agent_id
        await self.state.router.disconnected(org, agent_id, self.conn_id)
        task = asyncio.create_task(self._grace(org, agent_id))
        _grace_checks.add(task)
        task.add_done_callback(_grace_checks.discard)

    async def _grace(self, org: str, agent_id: str) -> None:
        """The agent's chats stay theirs for a grace period (a reload, a flaky network); then, with no socket of
        theirs left anywhere, they go offline and their chats are routed again."""
        await asyncio.sleep(self.state.settings.agent_grace_seconds)
        if not await self.state.router.has_connections(org, agent_id, time.time() - ALIVE_SECONDS):
            await self.core.went_away(org, agent_id)


@websocket(["/v3.6/agent/rtm/ws", "/v3.5/agent/rtm/ws"])
async def agent_rtm(socket: WebSocket[Any, Any, Any]) -> None:
    await AgentConnection(socket, socket.app.state.ws).run()
