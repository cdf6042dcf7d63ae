"""Webhooks: registrations per license, and delivery from a Valkey stream read by a consumer group on every worker.

A push that a license has a webhook for becomes one stream entry holding the exact body to POST (LiveChat's envelope
with ``secret_key``) and a delivery id that stays the same on every attempt. Each attempt is signed twice, both keyed
by the webhook's secret: ``X-Widget-Signature: sha256=<hex HMAC of the body>`` and the Standard Webhooks headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC of "id.timestamp.body">``). Failed
deliveries wait in a sorted set and go back to the stream with exponential backoff; an entry a worker read but never
acknowledged (it died) is claimed by another after ``claim_idle_ms``. Valkey's AOF keeps all of it across restarts.
Each webhook keeps a log of its latest attempts.

Targets are checked by ``targets.TargetPolicy`` on the resolved address of every attempt. A worker sends at most
``webhook_target_concurrency`` deliveries to one target (scheme, host, port) at once and lets as many wait; a further
one goes back to the retry set unattempted, so a slow endpoint delays only its own deliveries.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
from valkey.exceptions import ResponseError

from .. import keys
from ..observe import metrics
from ..protocol.common import now_rfc3339
from ..protocol.configuration import Webhook, WebhookDelivery
from ..protocol.errors import ApiError
from ..valkey import cancel_and_wait, log_failure
from . import scripts
from .ids import uuid_id
from .limits import read_properties
from .targets import TargetPolicy, TargetRefused

log = logging.getLogger("widget_server.webhooks")

SIGNATURE_HEADER = "X-Widget-Signature"
MAX_ATTEMPTS = 8
LOG_SIZE = 100
CLAIM_IDLE_MS = 30_000
"""An entry read but not acknowledged for this long (at least; longer when attempts may take longer) is taken to
be a dead worker's and delivered by another."""
MAX_IN_FLIGHT = 512
"""Deliveries one worker holds at once (sending or waiting for their target's turn); it reads no more meanwhile."""
READ_COUNT = 20
MAX_DISABLED_CLIENTS = 100
"""Client ids whose license webhooks one license may have disabled at once (``disable_license_webhooks``)."""
CACHE_SECONDS = 2.0
"""How long a worker trusts its copy of a license's registrations (other workers' changes show within this)."""

_webhook_decoder = msgspec.json.Decoder(Webhook)
_delivery_decoder = msgspec.json.Decoder(WebhookDelivery)
_encode = msgspec.json.encode

PUMP_IDLE_SECONDS = 5.0
"""How long a worker's retry pump sleeps when no retry waits: a retry this worker schedules wakes it at once, one that
another worker schedules is due after ``retry_base`` at the earliest and that worker's pump moves it."""
STOP_PATIENCE_SECONDS = 3.0
"""How long ``stop`` waits for the consumer, the pump and deliveries in flight to end (a blocking read ends within
1 s; a delivery is cut off)."""


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _standard_key(secret: str) -> bytes:
    """Standard Webhooks secrets are ``whsec_<base64>`` and the key is the decoded bytes; LiveChat's ``secret_key``
    is any string, and then its UTF-8 bytes are the key (``standardwebhooks.Webhook(secret.encode())``)."""
    if secret.startswith("whsec_"):
        with contextlib.suppress(binascii.Error, ValueError):
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            if key:
                return key
    return secret.encode()


def sign_standard(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature`` of the Standard Webhooks spec: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()).decode()


def new_delivery_id() -> str:
    return "msg_" + uuid_id().replace("-", "")


def target_of(url: str) -> str:
    """What one per-target limit covers: scheme, host and port; a built-in consumer's whole URL (one rule bot)."""
    if url.startswith("internal://"):
        return url
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port or ''}"


class Envelope(msgspec.Struct):
    webhook_id: str
    secret_key: str
    action: str
    organization_id: str
    payload: Any
    additional_data: dict[str, Any]


class Webhooks:
    """Registrations and fan-out of pushes into the delivery stream."""

    def __init__(self, valkey: Any, targets: TargetPolicy | None = None) -> None:
        self.r = valkey
        self.targets = targets or TargetPolicy()
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

    async def set_enabled(self, org: str, owner_client_id: str | None, enabled: bool) -> None:
        """``enable_license_webhooks`` / ``disable_license_webhooks``: the license webhooks of one owner client id
        deliver, or not (bot webhooks always do). Other workers follow within ``CACHE_SECONDS``."""
        if enabled:
            await self.r.srem(keys.webhooks_disabled(org), owner_client_id or "")
        else:
            disabled = keys.webhooks_disabled(org)
            if (await self.r.scard(disabled) >= MAX_DISABLED_CLIENTS
                    and not await self.r.sismember(disabled, owner_client_id or "")):
                raise ApiError("limit_reached", f"At most {MAX_DISABLED_CLIENTS} clients' webhooks can be disabled")
            await self.r.sadd(disabled, owner_client_id or "")
        self._cache.pop(org, None)

    async def enabled(self, org: str, owner_client_id: str | None) -> bool:
        return not await self.r.sismember(keys.webhooks_disabled(org), owner_client_id or "")

    async def _for_action(self, org: str, action: str) -> list[Webhook]:
        cached = self._cache.get(org)
        if cached is None or cached[0] < time.monotonic():
            by_action: dict[str, list[Webhook]] = {}
            disabled = {x.decode() if isinstance(x, bytes) else x
                        for x in await self.r.smembers(keys.webhooks_disabled(org))}
            for hook in await self.all(org):
                if hook.type == "license" and (hook.owner_client_id or "") in disabled:
                    continue  # disabled license webhooks are not sent (nor kept for later)
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
        builtins = _webhook_payload(action, msgspec.to_builtins(payload), chat)
        async with self.r.pipeline(transaction=False) as p:
            for hook in hooks:
                if not _matches(hook, action, builtins, chat):
                    continue
                extra: dict[str, Any] = {}
                for item in hook.additional_data or ():
                    if item == "chat_properties" and chat is not None:
                        extra["chat_properties"] = read_properties(chat.get("properties"))
                    elif item == "chat_presence_user_ids" and chat is not None:
                        agents = msgspec.json.decode(chat.get("agent_ids") or "[]")
                        extra["chat_presence_user_ids"] = [chat["customer_id"], *agents]
                body = _encode(Envelope(hook.id, hook.secret_key, action, org, builtins, extra))
                p.xadd(keys.WEBHOOK_STREAM, {"org": org, "webhook": hook.id, "attempt": 1, "body": body,
                                             "id": new_delivery_id()})
            await p.execute()

    async def deliveries(self, org: str, webhook_id: str) -> list[WebhookDelivery]:
        raw = await self.r.lrange(keys.webhook_log(org, webhook_id), 0, LOG_SIZE - 1)
        return [_delivery_decoder.decode(x) for x in raw]


def _webhook_payload(action: str, payload: Any, chat: dict[str, str] | None) -> Any:
    """The push's payload as LiveChat's webhook carries it: ``incoming_chat`` without the push's ``requester_id``
    (the webhook has ``chat`` and ``transferred_from`` only), and the user's ``user_type`` on
    ``user_added_to_chat`` / ``user_removed_from_chat`` (the pushes lost it in 3.2, the webhooks kept it)."""
    if action == "incoming_chat" and isinstance(payload, dict):
        payload.pop("requester_id", None)
    elif action == "user_added_to_chat" and isinstance(payload, dict) and isinstance(payload.get("user"), dict):
        payload.setdefault("user_type", payload["user"].get("type", "agent"))
    elif action == "user_removed_from_chat" and isinstance(payload, dict):
        customer = chat.get("customer_id") if chat else None
        payload.setdefault("user_type", "customer" if payload.get("user_id") == customer else "agent")
    return payload


def _matches(hook: Webhook, action: str, payload: Any, chat: dict[str, str] | None) -> bool:
    filters = hook.filters
    if filters is None or filters.author_type is None or action not in ("incoming_event", "event_updated"):
        return True
    author = (payload.get("event") or {}).get("author_id")
    is_customer = chat is not None and author == chat.get("customer_id")
    return (filters.author_type == "customer") == is_customer


class Deliverer:
    """The worker's consumer: sends deliveries, records attempts, schedules retries."""

    def __init__(self, valkey: Any, webhooks: Webhooks, retry_base: float = 1.0, timeout: float = 10.0,
                 target_concurrency: int = 4) -> None:
        self.r = valkey
        self.webhooks = webhooks
        self.retry_base = retry_base
        self.timeout = timeout
        self.target_concurrency = target_concurrency
        # an entry waits at most one attempt for its turn and takes at most one: it is claimed only after both
        self.claim_idle_ms = max(CLAIM_IDLE_MS, int((2 * timeout + 10) * 1000))
        self.consumer = uuid_id()
        self._tls = httpx.create_ssl_context()  # made once: every client below shares it
        self._clients: dict[str, httpx.AsyncClient] = {}
        """Per target, while this worker holds deliveries for it. A request goes to the checked address, so a
        client's pool is keyed by that address: one client per target keeps a TLS connection made for one name
        (its SNI, its certificate) from carrying another name's delivery to the same address."""
        self._pump = scripts.register(valkey, "pump_webhook_retries")
        self._done = scripts.register(valkey, "finish_webhook_delivery")
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._held: dict[str, int] = {}
        """Per target: deliveries this worker holds (sending or waiting for a slot)."""
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
        tasks = [*self._tasks, *self._in_flight]
        for task in await cancel_and_wait(tasks, STOP_PATIENCE_SECONDS):
            log.warning("webhook task %s did not stop", task.get_name())
        for client in self._clients.values():
            await client.aclose()
        # leave this consumer's unacknowledged entries to be claimed by a live worker; drop the idle consumer name
        try:
            await self.r.xgroup_delconsumer(keys.WEBHOOK_STREAM, keys.WEBHOOK_GROUP, self.consumer)
        except Exception:  # Valkey may already be gone at shutdown
            pass

    def _dispatch(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        """Deliver in a task of its own: the consumer goes on reading while a slow target answers."""
        task = asyncio.create_task(self._handle(entry_id, fields))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _consume(self) -> None:
        last_claim = 0.0
        while True:
            try:
                if len(self._in_flight) >= MAX_IN_FLIGHT:
                    await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
                    continue
                room = min(READ_COUNT, MAX_IN_FLIGHT - len(self._in_flight))
                if time.monotonic() - last_claim > self.claim_idle_ms / 2000:
                    last_claim = time.monotonic()
                    _, claimed, *_ = await self.r.xautoclaim(keys.WEBHOOK_STREAM, keys.WEBHOOK_GROUP, self.consumer,
                                                            self.claim_idle_ms, start_id="0-0", count=room)
                    for entry_id, fields in claimed:
                        if fields:
                            self._dispatch(entry_id, fields)
                    continue
                got = await self.r.xreadgroup(keys.WEBHOOK_GROUP, self.consumer, {keys.WEBHOOK_STREAM: ">"},
                                              count=room, block=1000)
                for _, entries in got or []:
                    for entry_id, fields in entries:
                        self._dispatch(entry_id, fields)
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

    async def _schedule(self, org: str, webhook_id: str, delivery_id: str, attempt: int, body: bytes,
                        delay: float, record: WebhookDelivery | None = None) -> None:
        """Queue ``attempt`` of the delivery ``delay`` seconds from now (and log ``record``, the attempt that
        failed, if any)."""
        retry = {"org": org, "webhook": webhook_id, "attempt": attempt, "body": body.decode(), "id": delivery_id}
        async with self.r.pipeline(transaction=False) as p:
            if record is not None:
                p.lpush(keys.webhook_log(org, webhook_id), _encode(record))
                p.ltrim(keys.webhook_log(org, webhook_id), 0, LOG_SIZE - 1)
            p.zadd(keys.WEBHOOK_RETRY, {_encode(retry): int((time.time() + delay) * 1000)})
            await p.execute()
        self._wake.set()  # the pump plans its next run with this retry in view

    async def _record(self, org: str, webhook_id: str, hook: Webhook, delivery_id: str, attempt: int, status: int,
                      error: str | None, body: bytes) -> None:
        """Log the attempt; schedule a retry with exponential backoff unless it succeeded or attempts ran out."""
        ok = 200 <= status < 300
        record = WebhookDelivery(delivery_id=delivery_id, action=hook.action, attempt=attempt,
                                 at=now_rfc3339(), status=status, ok=ok, error=error)
        if not ok and attempt < MAX_ATTEMPTS:
            await self._schedule(org, webhook_id, delivery_id, attempt + 1, body,
                                 self.retry_base * 2 ** (attempt - 1), record)
            return
        async with self.r.pipeline(transaction=False) as p:
            p.lpush(keys.webhook_log(org, webhook_id), _encode(record))
            p.ltrim(keys.webhook_log(org, webhook_id), 0, LOG_SIZE - 1)
            await p.execute()

    async def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        """One stream entry: deliver it when its target has room, else put it back for later; then acknowledge."""
        try:
            org, webhook_id = fields[b"org"].decode(), fields[b"webhook"].decode()
            attempt, body = int(fields[b"attempt"]), fields[b"body"]
            # entries queued before delivery ids existed take their first entry id as theirs from here on
            delivery_id = (fields.get(b"id") or entry_id).decode()
            hook = await self.webhooks.get(org, webhook_id)
            if hook is not None:  # (unregistered since: dropped)
                target = target_of(hook.url)
                held = self._held.get(target, 0)
                if held >= 2 * self.target_concurrency:
                    # the target is slow: the entry waits in Valkey, not here (an entry held here longer than
                    # claim_idle_ms would be claimed and sent again); this is no attempt
                    await self._schedule(org, webhook_id, delivery_id, attempt, body, self.retry_base)
                else:
                    self._held[target] = held + 1
                    slots = self._slots.setdefault(target, asyncio.Semaphore(self.target_concurrency))
                    try:
                        async with slots:
                            await self._deliver(org, webhook_id, hook, delivery_id, target, attempt, body)
                    finally:
                        self._held[target] -= 1
                        if not self._held[target]:
                            del self._held[target], self._slots[target]
                            client = self._clients.pop(target, None)
                            if client is not None:
                                await client.aclose()
            await self._done(keys=[keys.WEBHOOK_STREAM], args=[keys.WEBHOOK_GROUP, entry_id])
        except asyncio.CancelledError:
            raise
        except Exception:  # left pending: claimed and tried again after claim_idle_ms
            log.exception("webhook delivery %s failed", entry_id.decode(errors="replace"))

    async def _deliver(self, org: str, webhook_id: str, hook: Webhook, delivery_id: str, target: str,
                       attempt: int, body: bytes) -> None:
        status, error = 0, None
        if hook.url.startswith("internal://"):
            handler = self.internal.get(hook.url.removeprefix("internal://").split("/", 1)[0])
            try:
                if handler is None:
                    raise LookupError(f"no internal handler for {hook.url}")
                await handler(hook, body)
                status = 200
            except Exception as exc:  # the handler failed: record it and retry like an HTTP failure
                log.exception("internal webhook %s failed", hook.url)
                error = f"{type(exc).__name__}: {exc}"[:500]
        else:
            status, error = await self._post(self._client(target), hook, delivery_id, attempt, body)
        metrics.WEBHOOK_DELIVERIES.labels("ok" if 200 <= status < 300 else "failed").inc()
        await self._record(org, webhook_id, hook, delivery_id, attempt, status, error, body)

    def _client(self, target: str) -> httpx.AsyncClient:
        client = self._clients.get(target)
        if client is None:
            # never follow a redirect: its target would escape the address check (a 3xx is a failed attempt)
            client = self._clients[target] = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                                               verify=self._tls)
        return client

    async def _post(self, http: httpx.AsyncClient, hook: Webhook, delivery_id: str, attempt: int,
                    body: bytes) -> tuple[int, str | None]:
        """POST to the hook's URL at the address the policy permits; (status, error) for the log. The error says
        only "refused" or "failed": the log is the owner's to read, and which ports of which hosts answer how would
        make it a scanner."""
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret_key, body),
                   "X-Widget-Webhook-Id": hook.id, "X-Widget-Delivery": delivery_id,
                   "X-Widget-Attempt": str(attempt), "User-Agent": "widget_server-webhooks",
                   "webhook-id": delivery_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign_standard(hook.secret_key, delivery_id, timestamp, body)}
        try:
            async with asyncio.timeout(self.timeout):
                url = httpx.URL(hook.url)
                host = url.raw_host.decode("ascii")  # IDNA-encoded, without an IPv6 literal's brackets
                address = await self.webhooks.targets.resolve(host, url.port or (443 if url.scheme == "https" else 80))
                # connect to the checked address; the name stays in Host and in TLS (SNI and certificate check)
                headers["Host"] = url.netloc.decode("ascii")
                pinned = url.copy_with(host=address)
                async with http.stream("POST", pinned, content=body, headers=headers,
                                       extensions={"sni_hostname": host}) as response:
                    return response.status_code, None  # the answer's body is not read: it is not ours to hold
        except TargetRefused:
            return 0, "refused"
        except (httpx.HTTPError, httpx.InvalidURL, OSError, TimeoutError, ValueError):
            return 0, "failed"
