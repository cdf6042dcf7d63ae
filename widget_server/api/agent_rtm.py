"""Agent RTM API: ``/v3.x/agent/rtm/ws`` (see ``rtm.py`` for the transport). ``login`` takes the personal access
token as ``token`` (``Bearer <PAT>`` or the PAT itself)."""

from __future__ import annotations

import asyncio
from typing import Any

from ..core.agents import AgentCaller, AgentCore
from ..protocol import agent as a
from ..protocol.errors import ApiError
from ..web.request import base_url
from .dispatch import AGENT, payload_of
from .rtm import RtmConnection

PATHS = ["/v3.6/agent/rtm/ws", "/v3.5/agent/rtm/ws"]


class AgentConnection(RtmConnection):
    __slots__ = ("caller", "goodbye", "logging_out", "stale", "token")
    table = AGENT
    disconnect_action = "agent_disconnected"
    caller: AgentCaller
    token: str
    """The login's credential, checked again when the agent changed and at every heartbeat (see ``handle``)."""
    stale: bool
    """An ``agent_updated`` push for this agent arrived: the next request first reads who they are now."""

    @property
    def core(self) -> AgentCore:
        return self.services.agents

    def caller_for(self, frame: Any) -> AgentCaller:
        base = self.caller
        return AgentCaller(org=base.org, agent_id=base.agent_id, role=base.role, version=frame.version or self.version,
                           transport="rtm", base_url=base.base_url, conn_id=self.conn_id, request_id=frame.request_id,
                           connection=self)

    async def login(self, frame: Any, req: a.AgentLoginRequest) -> None:
        services = self.services
        org, agent = await services.access.agent(req.token)
        self.token = req.token
        self.stale = False
        self.caller = AgentCaller(org=org, agent_id=agent["id"], role=agent.get("role", "normal"),
                                  version=self.version, transport="rtm",  # type: ignore[arg-type]
                                  base_url=base_url(self.socket, services.settings.public_url),
                                  conn_id=self.conn_id, request_id=frame.request_id)
        if req.pushes:
            subscribed = frozenset(req.pushes.get(self.version, ()))
            self.pushes = None if "all" in subscribed else subscribed
        await services.bus.register(agent["id"], self)
        await services.bus.register_agents_feed(org, self)
        self.user_id = agent["id"]
        if await self._current() is None:  # deleted while logging in: the bus's goodbye went out before we listened
            self.respond_error(frame.name, frame.request_id, ApiError("authentication", "Invalid access token"))
            self.disconnect("access_token_revoked")
            return
        await services.presence.opened(org, agent["id"], self.conn_id)
        self.respond(frame, await self.core.login(self.caller, req))
        if req.customer_monitoring_level:
            await self.core.monitor_customers(self.caller_for(frame), req.customer_monitoring_level)

    def deliver(self, action: str, payload: Any, request_id: Any) -> None:
        if action == "agent_updated":
            # (the push goes on to the agent too; it is any agent's change, as every agent of the license hears
            # them all: re-reading who this one is once costs one read, rarely)
            self.stale = True
        if action == self.disconnect_action and getattr(self, "logging_out", False):
            self.goodbye = payload  # this socket's own logout: answered first, then the goodbye (see ``handle``)
            return
        super().deliver(action, payload, request_id)

    async def handle(self, frame: Any) -> None:
        """A request of a logged-in agent is decided with who they are now, not at login. Changing an agent
        (``update_agent``) pushes ``agent_updated`` to their sockets on every worker (on this one before the change's
        answer), and the next request reads the agent again: a new role applies from then on (groups are read with
        every chat decision anyway). Deleting them closes their sockets through the bus. Should a bus message be lost
        (pub/sub delivers at most once), the heartbeat reads the agent again (``background``). Reading the agent
        before every request instead cost two Valkey round trips a message."""
        if self.user_id is not None and frame.name != "login" and self.stale:
            self.stale = False
            if not await self._refresh():
                self.respond_error(frame.name, frame.request_id, ApiError("authentication", "Invalid access token"))
                return
        if frame.name == "update_session" and self.user_id is not None:
            await self._update_session(frame)
            return
        if frame.name != "logout" or self.user_id is None:
            await super().handle(frame)
            return
        # logout: the bus hands this worker's sockets their push before publish returns, so the goodbye that closes
        # this socket would go out before the answer, which the client then never gets: it waits for the answer
        self.logging_out, self.goodbye = True, None
        try:
            await super().handle(frame)
        finally:
            self.logging_out = False
            if self.goodbye is not None:
                self._goodbye(self.goodbye)
                self.goodbye = None

    async def _update_session(self, frame: Any) -> None:
        """``update_session``: the socket lives on the new token from now on (it is checked at every heartbeat and
        when the agent changes). The token must name the same agent: a socket does not change hands."""
        req = payload_of(frame, self.services.settings)
        org, agent = await self.services.access.agent(req.token)
        if org != self.caller.org or agent["id"] != self.user_id:
            raise ApiError("authorization", "The token belongs to another agent")
        self.token = req.token
        self.caller.role = agent.get("role", "normal")
        self.respond(frame, {})

    async def _refresh(self) -> bool:
        """Who the agent is now: their role taken, or the socket closed when the token no longer names them."""
        agent = await self._current()
        if agent is None:
            self.disconnect("access_token_revoked")
            return False
        self.caller.role = agent.get("role", "normal")
        return True

    async def _current(self) -> dict[str, Any] | None:
        """The agent as they are now; None when the login's token no longer names them (deleted, revoked, expired)."""
        try:
            return (await self.services.access.agent(self.token))[1]
        except ApiError:
            return None

    async def background(self) -> None:
        """Keep this socket's entry fresh so other workers can tell it from a dead worker's; and close it within a
        heartbeat once its agent is gone, should the bus's goodbye have been lost (pub/sub delivers at most once)."""
        presence = self.services.presence
        while True:
            await asyncio.sleep(presence.heartbeat)
            if self.user_id is not None:
                if not await self._refresh():
                    return
                await presence.opened(self.caller.org, self.user_id, self.conn_id)

    async def closed(self) -> None:
        """The agent's chats stay theirs for a grace period; then, with no socket of theirs left anywhere, they go
        offline and their chats are routed again (core/presence.py; any worker does it if this one is gone).
        Its visitor subscriptions end now."""
        await self.services.bus.unregister_agents_feed(self.caller.org, self)
        await self.services.presence.closed(self.caller.org, self.caller.agent_id, self.conn_id)
        await self.core.visitors.drop(self)
        await self.core.connection_gone(self.caller.org, self.caller.agent_id, self.conn_id)
