"""Webhooks: registrations per license, and delivery from a Valkey stream read by a consumer group on every worker.

A push that a license has a webhook for becomes one stream entry holding the exact body to POST (LiveChat's envelope
with ``secret_key``), so the HMAC-SHA256 signature we add (``X-Widget-Signature: sha256=<hex>``, keyed by the
webhook's secret) covers the bytes the receiver gets. Failed deliveries wait in a sorted set and go back to the
stream with exponential backoff; an entry a worker read but never acknowledged (it died) is claimed by another after
``CLAIM_IDLE_MS``. Valkey's AOF keeps all of it across restarts. Each webhook keeps a log of its latest attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec
from valkey.exceptions import ResponseError

from .. import keys
from ..protocol.common import now_rfc3339
from ..protocol.configuration import Webhook, WebhookDelivery
from ..valkey import log_failure
from . import scripts
from .ids import uuid_id

log = logging.getLogger("widget_server.webhooks")

SIGNATURE_HEADER = "X-Widget-Signature"
MAX_ATTEMPTS = 8
LOG_SIZE = 100
CLAIM_IDLE_MS = 30_000
CACHE_SECONDS = 2.0
"""How long a worker trusts its copy of a license's registrations (other workers' changes show within this)."""

_webhook_decoder = msgspec.json.Decoder(Webhook)
_delivery_decoder = msgspec.json.Decoder(WebhookDelivery)
_encode = msgspec.json.encode

PUMP_IDLE_SECONDS = 5.0
"""How long a worker's retry pump sleeps when no retry waits: a retry this worker schedules wakes it at once, one that
another worker schedules is due after ``retry_base`` at the earliest and that worker's pump moves it."""

def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Envelope(msgspec.Struct):
    webhook_id: str
    secret_key: str
    action: str
    organization_id: str
    payload: Any
    additional_data: dict[str, Any]


class Webhooks:
    """Registrations and fan-out of pushes into the delivery stream."""

    def __init__(self, valkey: Any) -> None:
        self.r = valkey
        self._cache: dict[str, tuple[float, dict[str, list[Webhook]]]] = {}

    async def register(self, org: str, webhook: Webhook) -> None:
        await self.r.hset(keys.webhooks(org), webhook.id, _encode(webhook))
        self._cache.pop(org, None)

    async def unregister(self, org: str, webhook_id: str) -> bool:
        self._cache.pop(org, None)
        return bool(await self.r.hdel(keys.webhooks(org), webhook_id))

    async def all(self, org: str) -> list[Webhook]:
        raw = await self.r.hgetall(keys.webhooks(org))
        return sorted((_webhook_decoder.decode(v) for v in raw.values()), key=lambda w: w.id)

    async def get(self, org: str, webhook_id: str) -> Webhook | None:
        raw = await self.r.hget(keys.webhooks(org), webhook_id)
        return _webhook_decoder.decode(raw) if raw else None

    async def _for_action(self, org: str, action: str) -> list[Webhook]:
        cached = self._cache.get(org)
        if cached is None or cached[0] < time.monotonic():
            by_action: dict[str, list[Webhook]] = {}
            for hook in await self.all(org):
                by_action.setdefault(hook.action, []).append(hook)
            cached = (time.monotonic() + CACHE_SECONDS, by_action)
            self._cache[org] = cached
        return cached[1].get(action, [])

    async def wanted(self, org: str, action: str) -> bool:
        """Whether the license has a webhook for ``action`` (from this worker's cached copy of its registrations):
        a caller that would have to read something only for ``emit`` asks first."""
        return bool(await self._for_action(org, action))

    async def emit(self, org: str, action: str, payload: Any, chat: dict[str, str] | None = None) -> None:
        """Queue a delivery of ``payload`` to every webhook of the license registered for ``action``."""
        hooks = await self._for_action(org, action)
        if not hooks:
            return
        builtins = msgspec.to_builtins(payload)
        async with self.r.pipeline(transaction=False) as p:
            for hook in hooks:
                if not _matches(hook, action, builtins, chat):
                    continue
                extra: dict[str, Any] = {}
                for item in hook.additional_data or ():
                    if item == "chat_properties" and chat is not None:
                        extra["chat_properties"] = msgspec.json.decode(chat.get("properties") or "{}")
                    elif item == "chat_presence_user_ids" and chat is not None:
                        agents = msgspec.json.decode(chat.get("agent_ids") or "[]")
                        extra["chat_presence_user_ids"] = [chat["customer_id"], *agents]
                body = _encode(Envelope(hook.id, hook.secret_key, action, org, builtins, extra))
                p.xadd(keys.WEBHOOK_STREAM, {"org": org, "webhook": hook.id, "attempt": 1, "body": body})
            await p.execute()

    async def deliveries(self, org: str, webhook_id: str) -> list[WebhookDelivery]:
        raw = await self.r.lrange(keys.webhook_log(org, webhook_id), 0, LOG_SIZE - 1)
        return [_delivery_decoder.decode(x) for x in raw]


def _matches(hook: Webhook, action: str, payload: Any, chat: dict[str, str] | None) -> bool:
    filters = hook.filters
    if filters is None or filters.author_type is None or action not in ("incoming_event", "event_updated"):
        return True
    author = (payload.get("event") or {}).get("author_id")
    is_customer = chat is not None and author == chat.get("customer_id")
    return (filters.author_type == "customer") == is_customer


class Deliverer:
    """The worker's consumer: sends deliveries, records attempts, schedules retries."""

    def __init__(self, valkey: Any, webhooks: Webhooks, retry_base: float = 1.0, timeout: float = 10.0) -> None:
        self.r = valkey
        self.webhooks = webhooks
        self.retry_base = retry_base
        self.consumer = uuid_id()
        self.http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._pump = scripts.register(valkey, "pump_webhook_retries")
        self._done = scripts.register(valkey, "finish_webhook_delivery")
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self.internal: dict[str, Callable[[Webhook, bytes], Awaitable[None]]] = {}
        """Handlers for ``internal://<name>/…`` URLs (the built-in rule bot), called instead of an HTTP POST."""

    async def start(self) -> None:
        try:
            await self.r.xgroup_create(keys.WEBHOOK_STREAM, keys.WEBHOOK_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._tasks = [asyncio.create_task(self._consume(), name="webhook-consumer"),
                       asyncio.create_task(self._retries(), name="webhook-retries")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.aclose()
        # leave this consumer's unacknowledged entries to be claimed by a live worker; drop the idle consumer name
        try:
            await self.r.xgroup_delconsumer(keys.WEBHOOK_STREAM, keys.WEBHOOK_GROUP, self.consumer)
        except Exception:  # Valkey may already be gone at shutdown
            pass

    async def _consume(self) -> None:
        last_claim = 0.0
        while True:
            try:
                if time.monotonic() - last_claim > CLAIM_IDLE_MS / 2000:
                    last_claim = time.monotonic()
                    _, claimed, *_ = await self.r.xautoclaim(keys.WEBHOOK_STREAM, keys.WEBHOOK_GROUP, self.consumer,
                                                            CLAIM_IDLE_MS, start_id="0-0", count=50)
                    for entry_id, fields in claimed:
                        if fields:
                            await self._deliver(entry_id, fields)
                got = await self.r.xreadgroup(keys.WEBHOOK_GROUP, self.consumer, {keys.WEBHOOK_STREAM: ">"},
                                              count=20, block=1000)
                for _, entries in got or []:
                    await asyncio.gather(*(self._deliver(entry_id, fields) for entry_id, fields in entries))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (log_failure logs it)
                log_failure(log, exc, "webhook consumer failed; retrying")
                await asyncio.sleep(1)

    async def _retries(self) -> None:
        """Move due retries back to the stream: when the next one is due (at most every 0.25 s while retries wait),
        and every ``PUMP_IDLE_SECONDS`` when none does (a worker with no failing webhook runs no script 4 times a
        second), or as soon as this worker schedules one."""
        while True:
            try:
                self._wake.clear()
                now = time.time()
                next_due = await self._pump(keys=[keys.WEBHOOK_RETRY, keys.WEBHOOK_STREAM], args=[int(now * 1000), 100])
                wait = PUMP_IDLE_SECONDS if next_due < 0 else min(PUMP_IDLE_SECONDS, max(0.25, next_due / 1000 - now))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (log_failure logs it)
                log_failure(log, exc, "webhook retry pump failed")
                await asyncio.sleep(1)

    async def _record(self, org: str, webhook_id: str, hook: Webhook, entry_id: bytes, attempt: int, status: int,
                      error: str | None, body: bytes) -> None:
        """Log the attempt; schedule a retry with exponential backoff unless it succeeded or attempts ran out."""
        ok = 200 <= status < 300
        record = WebhookDelivery(delivery_id=entry_id.decode(), action=hook.action, attempt=attempt,
                                 at=now_rfc3339(), status=status, ok=ok, error=error)
        async with self.r.pipeline(transaction=False) as p:
            p.lpush(keys.webhook_log(org, webhook_id), _encode(record))
            p.ltrim(keys.webhook_log(org, webhook_id), 0, LOG_SIZE - 1)
            if not ok and attempt < MAX_ATTEMPTS:
                due = int((time.time() + self.retry_base * 2 ** (attempt - 1)) * 1000)
                retry = {"org": org, "webhook": webhook_id, "attempt": attempt + 1, "body": body.decode()}
                p.zadd(keys.WEBHOOK_RETRY, {_encode(retry): due})
            await p.execute()
        if not ok and attempt < MAX_ATTEMPTS:
            self._wake.set()  # the pump plans its next run with this retry in view

    async def _deliver(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        org, webhook_id = fields[b"org"].decode(), fields[b"webhook"].decode()
        attempt, body = int(fields[b"attempt"]), fields[b"body"]
        hook = await self.webhooks.get(org, webhook_id)
        status, error = 0, None
        if hook is not None and hook.url.startswith("internal://"):
            handler = self.internal.get(hook.url.removeprefix("internal://").split("/", 1)[0])
            try:
                if handler is None:
                    raise LookupError(f"no internal handler for {hook.url}")
                await handler(hook, body)
                status = 200
            except Exception as exc:  # the handler failed: record it and retry like an HTTP failure
                log.exception("internal webhook %s failed", hook.url)
                error = f"{type(exc).__name__}: {exc}"[:500]
            await self._record(org, webhook_id, hook, entry_id, attempt, status, error, body)
        elif hook is not None:  # (unregistered since: dropped)
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret_key, body),
                       "X-Widget-Webhook-Id": webhook_id, "X-Widget-Delivery": entry_id.decode(),
                       "X-Widget-Attempt": str(attempt), "User-Agent": "widget_server-webhooks"}
            try:
                response = await self.http.post(hook.url, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            await self._record(org, webhook_id, hook, entry_id, attempt, status, error, body)
        await self._done(keys=[keys.WEBHOOK_STREAM], args=[keys.WEBHOOK_GROUP, entry_id])
