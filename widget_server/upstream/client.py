"""The worker's HTTP and websocket client for the upstream Customer Chat API, and its view of the upstream's health.

Errors reach customers in LiveChat's shape: an error the upstream answered is relayed as it is (type, message, data
and HTTP status); an upstream that cannot be reached is ``service_unavailable`` (503), one that does not answer in
time ``request_timeout`` (504). After a failed connection the worker stops trying for a while: requests fail at once
instead of each waiting for a connect timeout, and one task probes the upstream with exponential backoff until it
answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from ..core.interface import Caller, UploadedFile
from ..protocol.errors import ApiError
from ..settings import Settings

log = logging.getLogger("widget_server.upstream")
logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per forwarded request

GET_ACTIONS = frozenset({"get_dynamic_configuration", "get_configuration", "get_localization",
                         "list_license_properties", "list_group_properties"})
"""Actions the Web API takes as GET with query parameters."""
MAX_FRAME_BYTES = 16 * 1024 * 1024
"""The largest frame accepted from the upstream's websocket (a long chat's history is one frame)."""
PING_SECONDS = 10.0
"""Control-frame pings on upstream sockets: LiveChat wants a sign of life every 15 s, and a dead upstream is found."""
FIRST_RETRY = 0.1

_encode = msgspec.json.encode
_raw = msgspec.json.Decoder(msgspec.Raw)


class _RelayedErrorBody(msgspec.Struct):
    """An upstream's error as it is read: ``protocol.errors.ErrorBody``, but one without a message is still relayed."""

    type: str
    message: str = ""
    data: dict[str, Any] | None = None


class _RelayedError(msgspec.Struct):
    error: _RelayedErrorBody


_error_decoder = msgspec.json.Decoder(_RelayedError)


class UpstreamError(ApiError):
    """An error the upstream answered with, relayed with its own HTTP status."""

    def __init__(self, status: int, type: str, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(type, message, data)  # type: ignore[arg-type]  (the upstream's types are its own)
        self.status = status

    @property
    def status_code(self) -> int:
        return self.status


def unavailable(message: str = "The chat service is temporarily unavailable; try again shortly") -> ApiError:
    return ApiError("service_unavailable", message)


def error_from(payload: bytes, status: int | None = None) -> ApiError:
    """The ApiError of an upstream error body (``{"error": {type, message, data?}}``); with ``status`` (Web) it keeps
    the upstream's HTTP status. A body that is not LiveChat-shaped (a gateway's HTML page) becomes ours."""
    try:
        error = _error_decoder.decode(payload).error
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        if status in (502, 503, 504) or status is None:
            return unavailable()
        return UpstreamError(status if status >= 400 else 502, "internal", f"The chat service answered HTTP {status}")
    if status is None:
        return ApiError(error.type, error.message, error.data)  # type: ignore[arg-type]
    return UpstreamError(status, error.type, error.message, error.data)


class Health:
    """Whether this worker can reach the upstream. ``failed`` (a connection could not be made) marks it down until
    the probe answers: after 0.1 s, then twice as long each time, at most ``retry_max`` seconds apart."""

    def __init__(self, probe: Callable[[], Awaitable[bool]], retry_max: float) -> None:
        self._probe = probe
        self._retry_max = max(retry_max, FIRST_RETRY)
        self.down = False
        self._task: asyncio.Task[None] | None = None

    def check(self) -> None:
        if self.down:
            raise unavailable()

    def failed(self, reason: object) -> None:
        if self.down:
            return
        self.down = True
        log.warning("upstream unreachable (%s); probing it with backoff", reason)
        self._task = asyncio.create_task(self._recover(), name="upstream-probe")

    async def _recover(self) -> None:
        delay = FIRST_RETRY
        while True:
            await asyncio.sleep(delay)
            if await self._probe():
                self.down = False
                log.warning("upstream is reachable again")
                return
            delay = min(delay * 2, self._retry_max)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class Upstream:
    """One per worker: the upstream's base URLs, a pooled HTTP client, and ``health``."""

    def __init__(self, settings: Settings) -> None:
        self.api_url = settings.upstream_url.rstrip("/")  # (load_settings checked it is an http(s) base URL)
        self.accounts_url = settings.upstream_accounts_url.rstrip("/") or self.api_url
        self.ws_url = "ws" + self.api_url.removeprefix("http")
        self.timeout = settings.upstream_timeout
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
            # Never keep the upstream's cookies: they are one browser's identity, relayed to that browser only.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )
        self.health = Health(self._probe, settings.upstream_retry_max)

    async def aclose(self) -> None:
        await self.health.aclose()
        await self.http.aclose()

    async def _probe(self) -> bool:
        """Any HTTP answer but a gateway's "upstream down" (502/503/504) means the upstream is there."""
        try:
            r = await self.http.get(self.api_url + "/", timeout=min(self.timeout, 5.0))
        except httpx.HTTPError:
            return False
        return r.status_code not in (502, 503, 504)

    # --- HTTP ----------------------------------------------------------------------------------------------------

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP request to the upstream, its failures turned into LiveChat errors."""
        return await self._send(self.http.build_request(method, url, **kwargs), stream=False)

    async def open_stream(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """A GET whose body is not read yet (``aiter_raw``; the caller closes it): the ``/files`` relay streams it
        through instead of holding it in memory."""
        return await self._send(self.http.build_request("GET", url, headers=headers), stream=True)

    async def _send(self, request: httpx.Request, stream: bool) -> httpx.Response:
        self.health.check()
        try:
            return await self.http.send(request, stream=stream)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self.health.failed(exc)
            raise unavailable() from None
        except httpx.TimeoutException:
            raise ApiError("request_timeout", "The chat service did not answer in time") from None
        except httpx.HTTPError as exc:  # the connection broke under the request: the upstream is going away
            log.warning("upstream request failed: %r", exc)
            raise unavailable() from None

    @staticmethod
    def headers(caller: Caller) -> dict[str, str]:
        """What the upstream needs to judge the request as if the customer had sent it: token, origin, client."""
        headers: dict[str, str] = {}
        if caller.credential:
            headers["authorization"] = caller.credential
        if caller.origin:
            headers["origin"] = caller.origin
        if caller.client is not None:
            if caller.client.user_agent:
                headers["user-agent"] = caller.client.user_agent
            if caller.client.ip:
                headers["x-forwarded-for"] = caller.client.ip
        return headers

    def _action_url(self, caller: Caller, name: str) -> str:
        return f"{self.api_url}/v{caller.version}/customer/action/{name}"

    async def action(self, name: str, caller: Caller, request: Any) -> msgspec.Raw:
        """A Web action: the request Struct re-encoded (JSON body, or query parameters for the GET actions); the
        answer relayed as it is."""
        params = {"organization_id": caller.org} if caller.org else {}
        headers = self.headers(caller)
        if name in GET_ACTIONS:
            params.update(_query(request))
            r = await self.send("GET", self._action_url(caller, name), params=params, headers=headers)
        else:
            headers["content-type"] = "application/json"
            r = await self.send("POST", self._action_url(caller, name), params=params, headers=headers,
                                content=_encode(request))
        return relay(r)

    async def upload(self, caller: Caller, file: UploadedFile) -> msgspec.Raw:
        params = {"organization_id": caller.org} if caller.org else {}
        r = await self.send("POST", self._action_url(caller, "upload_file"), params=params,
                            headers=self.headers(caller), files={"file": (file.name, file.data, file.content_type)})
        return relay(r)

    async def upload_stream(self, caller: Caller, content_type: str, length: str | None,
                            body: AsyncIterator[bytes]) -> msgspec.Raw:
        """``upload_file`` with the customer's multipart body passed on as it arrives (``body`` bounds its size), not
        held whole here: the upstream parses and checks it, as it does the file."""
        params = {"organization_id": caller.org} if caller.org else {}
        headers = {**self.headers(caller), "content-type": content_type}
        if length is not None and length.isdigit():
            headers["content-length"] = length  # (else it goes on chunked)
        r = await self.send("POST", self._action_url(caller, "upload_file"), params=params, headers=headers,
                            content=body)
        return relay(r)

    # --- RTM -----------------------------------------------------------------------------------------------------

    async def connect(self, caller: Caller) -> ClientConnection:
        """A websocket to the upstream's customer RTM API, for one edge connection."""
        self.health.check()
        url = f"{self.ws_url}/v{caller.version}/customer/rtm/ws"
        if caller.org:
            url += "?organization_id=" + quote(caller.org, safe="")
        client = caller.client
        extra = {"x-forwarded-for": client.ip} if client is not None and client.ip else {}
        user_agent = client.user_agent if client is not None and client.user_agent else "widget_server"
        try:
            return await connect(url, origin=caller.origin, additional_headers=extra,  # type: ignore[arg-type]
                                 user_agent_header=user_agent, open_timeout=self.timeout, close_timeout=2,
                                 compression=None, max_size=MAX_FRAME_BYTES, ping_interval=PING_SECONDS)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status >= 500:
                self.health.failed(f"HTTP {status}")
            raise unavailable() from None
        except (OSError, TimeoutError) as exc:
            self.health.failed(exc)
            raise unavailable() from None
        except (InvalidHandshake, InvalidURI) as exc:
            log.warning("upstream websocket handshake failed: %r", exc)
            raise unavailable() from None


def relay(r: httpx.Response) -> msgspec.Raw:
    """A successful answer's body, checked to be JSON and passed on unchanged; an error raised as the upstream's."""
    if r.is_success:
        try:
            return _raw.decode(r.content)
        except msgspec.DecodeError:
            raise ApiError("internal", "The chat service sent an answer that is not JSON") from None
    raise error_from(r.content, r.status_code)


def _query(request: Any) -> dict[str, str]:
    """A GET action's request Struct as query parameters (the upstream converts them back to its types)."""
    params: dict[str, str] = {}
    for key, value in msgspec.to_builtins(request).items():
        if value is None:
            continue
        params[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return params
