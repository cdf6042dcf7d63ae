"""The outbox: ``Mailer.enqueue`` stores a message in Valkey and returns; every worker's sender loop claims due
messages, sends them over SMTP and settles them.

Durable and exactly once across workers and hosts: a message is a hash plus a member of one sorted set scored by when
it may next be claimed. ``claim_mail`` takes due messages for one worker and pushes their score to the end of a lease,
so no other worker takes them while it sends; ``settle_mail`` (only for the claim that holds the message) marks it
sent, makes it due again after an exponential backoff (the server was down, answered 4xx, timed out), or moves it to
the license's bounded failure list (a permanent 5xx, or no success within ``mail_give_up_seconds``). A worker that
dies mid-send leaves its claim to run out: another worker sends the message after the lease (the one case where a
message can go twice: the dead worker may have finished the SMTP transaction but not the settle; its stable
Message-ID lets mail clients fold the copies). Valkey's AOF keeps the outbox across restarts.

Bounded: a license has at most ``mail_max_pending`` messages queued (mail is made on behalf of anonymous visitors),
each at most ``message.MAX_BODY_BYTES``; every hash expires, the failure list keeps the latest ``FAILED_KEEP``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from datetime import UTC, datetime
from typing import Any

import msgspec

from .. import keys
from ..core import scripts
from ..core.ids import uuid_id
from ..observe import metrics
from ..protocol.common import now_rfc3339
from ..settings import Settings
from . import smtp
from .config import SmtpTarget, check_sender, default_sender, describe, parse_smtp_url
from .message import OutgoingMail, check, rfc2822_now, to_email

log = logging.getLogger("widget_server.mail")

BATCH = 4
"""Messages a worker claims and sends at once (one SMTP connection each)."""
IDLE_POLL_SECONDS = 1.0
"""How often an idle worker looks for due messages: another worker's enqueue is sent within this (this worker's own
enqueue wakes it at once)."""
FAILED_KEEP = 100
FAILED_TTL = 30 * 86400
SENT_KEEP = 86400
"""How long a sent message's id is remembered: enqueueing it again meanwhile does not send it again."""
STOP_WAIT_SECONDS = 2.0
"""How long ``stop`` lets a batch being sent finish (within the server's shutdown drain) before it cancels it; a
cancelled claim runs out and another worker sends the message."""


class OutboxFull(Exception):
    """The license has ``mail_max_pending`` messages queued already (the caller answers ``too_many_requests``)."""


class MailOff(Exception):
    """``WIDGET_SMTP_URL`` is not set: this server sends no mail (the caller answers ``service_unavailable`` or
    leaves mail out)."""


class FailedMail(msgspec.Struct, kw_only=True):
    """A message given up, kept for inspection (``Mailer.failed``)."""

    id: str
    to: list[str]
    subject: str
    attempts: int
    error: str
    enqueued_at: str
    failed_at: str


_encode = msgspec.json.encode
_mail_decoder = msgspec.json.Decoder(OutgoingMail)
_failed_decoder = msgspec.json.Decoder(FailedMail)


class Mailer:
    """Outbound mail: the queue every worker shares, and this worker's sender loop (``start`` / ``stop``)."""

    def __init__(self, valkey: Any, settings: Settings, *, tls_context: ssl.SSLContext | None = None,
                 lease_seconds: float | None = None) -> None:
        self.r = valkey
        self.smtp_url = settings.smtp_url
        self.target: SmtpTarget | None = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self.sender = check_sender(settings.mail_from or default_sender())
        self.max_pending = settings.mail_max_pending
        self.retry_base = settings.mail_retry_base
        self.retry_max = settings.mail_retry_max
        self.give_up = settings.mail_give_up_seconds
        self.timeout = settings.mail_timeout
        self.lease = lease_seconds if lease_seconds is not None else settings.mail_timeout * 3 + 30
        """Longer than a send can take (``smtp.send`` bounds a transaction to three timeouts), so a live worker's
        claim never runs out under it."""
        self.ttl = int(self.give_up + 2 * self.retry_max + 2 * self.lease + 3600)
        """A queued message's hash lives this long: past its give-up age and one more backoff and lease."""
        self.tls_context = tls_context
        """The TLS trust for the SMTP server (None: the system's); tests trust their self-signed certificate."""
        self.sent = 0
        """Messages this worker delivered (for tests and logs)."""
        self._enqueue = scripts.register(valkey, "enqueue_mail")
        self._claim = scripts.register(valkey, "claim_mail")
        self._settle = scripts.register(valkey, "settle_mail")
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def enabled(self) -> bool:
        """Whether this server sends mail (``WIDGET_SMTP_URL`` is set)."""
        return self.target is not None

    def describe(self) -> str:
        """Where mail goes, for the start-up output: never the password."""
        return describe(self.smtp_url, self.sender)

    async def enqueue(self, org: str, mail: OutgoingMail) -> str:
        """Queue ``mail`` on behalf of license ``org`` and return its id (``mail.id``, or a new one). The same id
        queued again is queued once. Raises MailError (``message.check``), OutboxFull, or MailOff."""
        if self.target is None:
            raise MailOff("mail is off: WIDGET_SMTP_URL is not set")
        mail = msgspec.structs.replace(mail, id=mail.id or uuid_id(), created_at=mail.created_at or rfc2822_now())
        check(mail)
        done = await self._enqueue(
            keys=[keys.MAIL_QUEUE, keys.mail_pending(org), keys.mail_message(mail.id)],
            args=[mail.id, org, _encode(mail), int(time.time() * 1000), self.max_pending, self.ttl])
        if done == 0:
            raise OutboxFull(f"{self.max_pending} messages of this license wait to be sent already")
        self._wake.set()
        return mail.id

    async def pending(self, org: str) -> int:
        """How many of the license's messages wait to be sent."""
        return await self.r.zcard(keys.mail_pending(org))

    async def failed(self, org: str) -> list[FailedMail]:
        """The license's latest messages given up, newest first."""
        return [_failed_decoder.decode(x) for x in await self.r.lrange(keys.mail_failed(org), 0, FAILED_KEEP - 1)]

    async def start(self) -> None:
        if self.target is not None and self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="mail-sender")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait([task], timeout=STOP_WAIT_SECONDS)
        if not done:
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                wait = await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mail sender failed; retrying")
                wait = IDLE_POLL_SECONDS
            if wait > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)

    async def send_due(self) -> float:
        """Claim and send one batch of due messages; returns how many seconds until more may be due (0: now)."""
        now = time.time()
        token = uuid_id()
        reply = await self._claim(keys=[keys.MAIL_QUEUE],
                                  args=[int(now * 1000), int(self.lease * 1000), BATCH, token])
        next_due, rows = int(reply[0]), reply[1:]
        claimed = [rows[i:i + 5] for i in range(0, len(rows), 5)]
        if claimed:
            for row, outcome in zip(claimed, await asyncio.gather(*(self._send(token, *row) for row in claimed),
                                                                   return_exceptions=True)):
                if isinstance(outcome, Exception):  # (Valkey failed; the claim runs out and is tried again)
                    log.error("mail %s: %s", row[0].decode(), outcome)
            if len(claimed) == BATCH:
                return 0.0
            return 0.0 if next_due >= 0 and next_due / 1000 <= time.time() else self._until(next_due)
        return self._until(next_due)

    @staticmethod
    def _until(next_due: int) -> float:
        if next_due < 0:
            return IDLE_POLL_SECONDS
        return min(IDLE_POLL_SECONDS, max(0.02, next_due / 1000 - time.time()))

    async def _send(self, token: str, raw_id: bytes, raw_org: bytes, body: bytes, raw_attempts: Any,
                    raw_enqueued: bytes) -> None:
        mail_id, org, attempts = raw_id.decode(), raw_org.decode(), int(raw_attempts)
        enqueued = int(raw_enqueued) / 1000
        assert self.target is not None
        mail = _mail_decoder.decode(body)
        try:
            refused = await smtp.send(self.target, to_email(mail, self.sender), self.timeout, self.tls_context)
        except smtp.Temporary as exc:
            delay = min(self.retry_max, self.retry_base * 2 ** (attempts - 1))
            if time.time() + delay - enqueued > self.give_up:
                log.warning("mail %s of %s given up after %d attempts: %s", mail_id, org, attempts, exc)
                await self._fail(token, mail, attempts, enqueued, f"gave up: {exc}")
            else:
                metrics.MAIL_DELIVERIES.labels("retry").inc()
                log.info("mail %s of %s not sent (attempt %d), retrying in %.0f s: %s", mail_id, org, attempts,
                         delay, exc)
                await self._settle_as(token, mail_id, "retry", due=int((time.time() + delay) * 1000), error=str(exc))
            return
        except smtp.Permanent as exc:
            log.warning("mail %s of %s refused for good: %s", mail_id, org, exc)
            await self._fail(token, mail, attempts, enqueued, str(exc))
            return
        except Exception as exc:  # a bug or a message the stored data cannot make: keep it, do not loop on it
            log.exception("mail %s of %s could not be sent", mail_id, org)
            await self._fail(token, mail, attempts, enqueued, f"{type(exc).__name__}: {exc}"[:300])
            return
        if refused:
            log.warning("mail %s of %s sent, but %d recipient(s) refused: %s", mail_id, org, len(refused),
                        "; ".join(refused.values()))
        self.sent += 1
        metrics.MAIL_DELIVERIES.labels("sent").inc()
        # Sent: the settle must land, or the message would be sent again once the lease runs out.
        for retry in range(3):
            try:
                await self._settle_as(token, mail_id, "sent")
                return
            except Exception:
                if retry == 2:
                    log.exception("mail %s was sent but could not be marked sent", mail_id)
                    return
                await asyncio.sleep(0.5)

    async def _fail(self, token: str, mail: OutgoingMail, attempts: int, enqueued: float,
                    error: str) -> None:
        at = datetime.fromtimestamp(enqueued, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        metrics.MAIL_DELIVERIES.labels("failed").inc()
        record = FailedMail(id=mail.id, to=mail.to, subject=mail.subject, attempts=attempts, error=error[:500],
                            enqueued_at=at, failed_at=now_rfc3339())
        await self._settle_as(token, mail.id, "failed", failed=_encode(record))

    async def _settle_as(self, token: str, mail_id: str, outcome: str, *, due: int = 0, error: str = "",
                         failed: bytes = b"") -> None:
        settled = await self._settle(keys=[keys.MAIL_QUEUE, keys.mail_message(mail_id)],
                                     args=[mail_id, token, outcome, due, error[:500], failed, FAILED_KEEP,
                                           FAILED_TTL, SENT_KEEP])
        if not settled:
            log.warning("mail %s: the claim ran out before it was settled (%s)", mail_id, outcome)
