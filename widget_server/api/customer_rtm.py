"""Customer RTM API: ``/v3.x/customer/rtm/ws`` (see ``rtm.py`` for the transport)."""

from __future__ import annotations

import time
from typing import Any

from litestar import WebSocket, websocket

from ..core.interface import Caller
from ..protocol import customer as c
from ..protocol.errors import ApiError
from .client import client_info
from .auth import check_banned, check_origin, require_license, verify_token
from .customer_web import base_url
from .dispatch import CUSTOMER
from .rtm import RtmConnection

PATHS = ["/v3.6/customer/rtm/ws", "/v3.5/customer/rtm/ws"]


class CustomerConnection(RtmConnection):
    __slots__ = ("caller",)
    table = CUSTOMER
    disconnect_action = "customer_disconnected"
    caller: Caller

    @property
    def core(self) -> Any:
        return self.state.core

    def caller_for(self, frame: Any) -> Caller:
        base = self.caller
        return Caller(org=base.org, customer_id=base.customer_id, version=frame.version or self.version,
                      transport="rtm", base_url=base.base_url, conn_id=self.conn_id, request_id=frame.request_id,
                      group_id=base.group_id, client=base.client)

    async def login(self, frame: Any, req: c.LoginRequest) -> None:
        q = self.socket.query_params
        org = await require_license(self.state, q.get("organization_id") or q.get("license_id"))
        claims = verify_token(self.state.signer, req.token)
        if claims.org != org:
            raise ApiError("authentication", "The access token belongs to another organization")
        await check_origin(self.state, org, self.socket.headers.get("origin"))
        await check_banned(self.state, claims.cid)
        settings = self.state.settings
        allowed = await self.state.store.add_connection(
            claims.cid, self.conn_id, int(time.time()), settings.token_ttl, settings.rtm_max_connections_per_customer)
        if not allowed:
            self.disconnect("too_many_connections")
            return
        caller = Caller(org=org, customer_id=claims.cid, version=self.version,  # type: ignore[arg-type]
                        transport="rtm", base_url=base_url(self.socket, self.state),  # type: ignore[arg-type]
                        conn_id=self.conn_id, request_id=frame.request_id,
                        group_id=req.group_id if req.group_id is not None else claims.group,
                        client=client_info(self.socket.headers, self.socket.client.host if self.socket.client else None,
                                           settings.trusted_proxy_headers))
        self.subscribe(req)
        await self.state.bus.register(claims.cid, self)
        self.caller, self.user_id, self.expires_at = caller, claims.cid, claims.exp
        response = await self.state.core.login(caller, req)
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
        await self.state.store.remove_connection(self.caller.customer_id, self.conn_id)


@websocket(PATHS)
async def customer_rtm(socket: WebSocket[Any, Any, Any]) -> None:
    """(``fast_rtm.FastRtm`` serves these paths before Litestar's routing; this route takes what it passes on.)"""
    await CustomerConnection(socket, socket.app.state.ws).run()
