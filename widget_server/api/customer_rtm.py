"""Customer RTM API: ``/v3.x/customer/rtm/ws`` (see ``rtm.py`` for the transport)."""

from __future__ import annotations

import time
from typing import Any

from ..core.interface import Caller, ChatCore
from ..protocol import customer as c
from ..web.client import client_of
from ..web.request import base_url
from .dispatch import CUSTOMER
from .rtm import RtmConnection

PATHS = ["/v3.6/customer/rtm/ws", "/v3.5/customer/rtm/ws"]


class CustomerConnection(RtmConnection):
    __slots__ = ("caller",)
    table = CUSTOMER
    disconnect_action = "customer_disconnected"
    caller: Caller

    @property
    def core(self) -> ChatCore:
        return self.services.chats

    def caller_for(self, frame: Any) -> Caller:
        base = self.caller
        return Caller(org=base.org, customer_id=base.customer_id, version=frame.version or self.version,
                      transport="rtm", base_url=base.base_url, conn_id=self.conn_id, request_id=frame.request_id,
                      group_id=base.group_id, client=base.client)

    async def login(self, frame: Any, req: c.LoginRequest) -> None:
        q = self.socket.query_params
        services = self.services
        access = services.access
        org = await access.license(q.get("organization_id") or q.get("license_id"))
        claims = await access.customer(req.token, org)
        await access.origin(org, self.socket.headers.get("origin"))
        await access.not_banned(claims.cid)
        settings = services.settings
        allowed = await services.store.add_connection(
            claims.cid, self.conn_id, int(time.time()), settings.token_ttl, settings.rtm_max_connections_per_customer)
        if not allowed:
            self.disconnect("too_many_connections")
            return
        caller = Caller(org=org, customer_id=claims.cid, version=self.version,  # type: ignore[arg-type]
                        transport="rtm", base_url=base_url(self.socket, settings.public_url),
                        conn_id=self.conn_id, request_id=frame.request_id,
                        group_id=req.group_id if req.group_id is not None else claims.group,
                        client=client_of(self.socket, settings.trusted_proxy_headers))
        self.subscribe(req)
        await services.bus.register(claims.cid, self)
        self.caller, self.user_id, self.expires_at = caller, claims.cid, claims.exp
        response = await services.chats.login(caller, req)
        self.respond(frame, response)

    def subscribe(self, req: c.LoginRequest) -> None:
        """The pushes the login asked for (``pushes``; all of the connection's version by default)."""
        if req.pushes:
            self.pushes = frozenset(req.pushes.get(self.version, ()))
            if "all" in self.pushes:
                self.pushes = None
            if self.version == "3.5":
                self.pushes_36 = frozenset(req.pushes.get("3.6", ()))

    async def closed(self) -> None:
        await self.services.store.remove_connection(self.caller.customer_id, self.conn_id)
