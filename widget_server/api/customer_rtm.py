"""Customer RTM API: ``/v3.x/customer/rtm/ws`` (see ``rtm.py`` for the transport), on this server's chat core
(``CustomerConnection``) or, in proxy mode, on a websocket of the connection's own to the upstream
(``UpstreamConnection``)."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import msgspec

from ..core.interface import Caller, ChatCore
from ..protocol import customer as c
from ..protocol.errors import ApiError
from ..protocol.frames import RequestId
from ..web.client import client_of
from ..web.request import base_url
from .dispatch import CUSTOMER
from .rtm import RtmConnection

PATHS = ["/v3.6/customer/rtm/ws", "/v3.5/customer/rtm/ws"]

log = logging.getLogger("widget_server.edge")


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

    async def admit(self, spec: Any) -> None:
        if spec.writes:
            client = self.caller.client
            await self.services.access.may_write(self.caller.customer_id, client.ip if client else None)

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
        await services.bus.register_customers_feed(org, self)
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
        try:
            await self.services.bus.unregister_customers_feed(self.caller.org, self)
        finally:
            await self.services.store.remove_connection(self.caller.customer_id, self.conn_id)


class _LoginCustomer(msgspec.Struct):
    id: str


class _Login(msgspec.Struct):
    customer: _LoginCustomer


_login_decoder = msgspec.json.Decoder(_Login)


class _Goodbye(msgspec.Struct):
    reason: str = ""


_goodbye_decoder = msgspec.json.Decoder(_Goodbye)


class UpstreamConnection(CustomerConnection):
    """A customer's socket in proxy mode. Its login opens a websocket of its own to the upstream (``UpstreamCore``),
    which decides on the token; the upstream's pushes on it come straight here, no bus involved. When the upstream
    goes away, the customer is told to reconnect (``customer_disconnected``, ``service_temporarily_unavailable``;
    close code 1012), and a login while it is away fails with ``service_unavailable``."""

    async def admit(self, spec: Any) -> None:
        """Nothing: the upstream keeps its own limits."""

    async def login(self, frame: Any, req: c.LoginRequest) -> None:
        q = self.socket.query_params
        org = q.get("organization_id") or q.get("license_id") or ""
        client = client_of(self.socket, self.services.settings.trusted_proxy_headers)
        caller = Caller(org=org, customer_id="", version=self.version,  # type: ignore[arg-type]
                        transport="rtm", base_url=base_url(self.socket, self.services.settings.public_url),
                        conn_id=self.conn_id, request_id=frame.request_id, group_id=req.group_id or 0, client=client,
                        credential=req.token, origin=self.socket.headers.get("origin"))
        core = self.core
        core.attach(self.conn_id, self)
        response = await core.login(caller, req)
        try:
            customer_id = _login_decoder.decode(response).customer.id
        except msgspec.DecodeError:
            await core.detach(self.conn_id)
            raise ApiError("internal", "The chat service's login answer names no customer") from None
        self.subscribe(req)
        caller.customer_id = customer_id
        self.caller, self.user_id = caller, customer_id
        self.respond(frame, response)
        core.release(self.conn_id)
        if org:
            try:
                await self.services.accounts.tokens.remember(req.token, org, customer_id)  # type: ignore[union-attr]
            except Exception:  # tracking only: the chat goes on without it
                log.warning("could not remember the customer of a token", exc_info=True)

    def deliver(self, action: str, payload: msgspec.Raw, request_id: RequestId) -> None:
        if action == self.disconnect_action:  # the upstream's goodbye, even one sent instead of a login answer
            with contextlib.suppress(msgspec.DecodeError):
                if _goodbye_decoder.decode(payload).reason == "service_temporarily_unavailable":
                    self.restarting = True  # the upstream restarts: so does this socket (close code 1012)
            self._goodbye(payload)
            return
        super().deliver(action, payload, request_id)

    def upstream_lost(self) -> None:
        self.restarting = True  # close code 1012: reconnect
        self.disconnect("service_temporarily_unavailable")

    async def closed(self) -> None:
        await self.core.detach(self.conn_id)
