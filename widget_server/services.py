"""The worker's services as one typed object, built once by ``create_app``; handlers get the narrow ones they use
through Litestar's ``Provide`` (``app.py``), the ASGI fast paths from this object.

Proxy mode (``WIDGET_UPSTREAM_URL``) is one choice here: the customer chat core, the customer tokens and the
visitors' identity are the upstream's (``upstream/``) instead of this server's; nothing downstream asks which."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Protocol, TypeAlias, TypeVar

from litestar.di import NamedDependency
from litestar.params import SkipValidation
from valkey.asyncio import Valkey
from valkey.asyncio.cluster import ValkeyCluster

from .api.smtp_inbound import InboundHandler, InboundListener
from .auth.access import Access
from .auth.console import AgentSessions
from .auth.sessions import Sessions
from .auth.signing import Signer
from .auth.tokens import CustomerTokens, Keyring, SignedTokens
from .core.agents import AgentCore
from .core.availability import Availability
from .core.bus import Bus
from .core.config_changes import ConfigChanges
from .core.configuration import ConfigurationCore
from .core.inactivity import Inactivity
from .core.interface import ChatCore
from .core.licenses import Licenses
from .core.local import LocalCore
from .core.migrations import migrate
from .core.presence import AgentPresence
from .core.repair import Repair
from .core.retention import ChatRetention
from .core.routing import Router
from .core.rulebot import RuleBot
from .core.store import Store
from .core.targets import TargetPolicy, parse_networks
from .core.tickets import Tickets, Transcripts
from .core.webhooks import Deliverer, Webhooks
from .mail import Mailer
from .observe import metrics
from .settings import Settings
from .tracking import Tracker
from .upstream import Upstream, UpstreamCore
from .upstream.accounts import UpstreamAccounts
from .upstream.tokens import TokenDirectory
from .upstream.visitors import UpstreamVisitors
from .valkey import cancel_and_wait
from .widget.avatars import Avatars
from .widget.drafts import Drafts
from .widget.local_visitors import LocalVisitors
from .widget.service import Widget
from .widget.versions import Versions
from .widget.visitors import Visitors

T = TypeVar("T")
log = logging.getLogger("widget_server.services")

Injected: TypeAlias = NamedDependency[SkipValidation[T]]
"""A handler's parameter that ``create_app``'s providers fill by its name (``settings``, ``store``, ``chats`` …): the
worker's own objects, handed over as they are (a signature model would validate them on every request)."""


class Drainable(Protocol):
    async def drain(self) -> None:
        """Finish what was read, tell the client to reconnect elsewhere, close (``api/rtm.py``)."""
        ...


class Worker:
    """This worker's transports in flight: what a graceful drain (``api/shutdown.py``) waits for."""

    __slots__ = ("sockets", "draining", "in_flight")

    def __init__(self) -> None:
        self.sockets: set[Drainable] = set()
        """This worker's open RTM connections (closed one by one by a graceful shutdown)."""
        self.draining = False
        self.in_flight = 0
        """HTTP requests being handled by this worker (counted where every one enters: ``api/fast_assets.py``)."""




class Services:
    """Everything a worker serves with. Built by ``create_app`` (no I/O); ``start`` and ``stop`` run in the
    lifespan."""

    def __init__(self, settings: Settings, valkey: Valkey | ValkeyCluster) -> None:
        self.settings = settings
        self.valkey = valkey
        self.keyring = Keyring()
        signer = self.keyring.signer
        self.licenses = Licenses(valkey)
        self.store = Store(valkey, customer_ttl=settings.tracking_retention_days * 86400,
                           chat_max_events=settings.chat_max_events,
                           report_retention_days=settings.chat_retention_days,
                           report_max_days=settings.reports_max_days)
        self.reports = self.store.reports
        """Report counters and their reads (``core/reports.py``): the Reports API and the owner's dashboard."""
        self.bus = Bus(valkey)
        self.router = Router(valkey)
        self.router.reports = self.reports
        self.webhooks = Webhooks(valkey, TargetPolicy(parse_networks(settings.webhook_allowed_networks)))
        self.tracker = Tracker(valkey, online_seconds=settings.tracking_online_seconds,
                               retention_seconds=settings.tracking_retention_days * 86400)
        self.drafts = Drafts(valkey)
        self.avatars = Avatars(valkey)
        self.versions = Versions(valkey)
        """The wizard's saved versions of a license's settings."""
        self.sessions = Sessions(valkey, signer)
        """Site owners' sessions (the wizard's sign-in)."""
        self.worker = Worker()
        self.config_changes = ConfigChanges(self.bus, self.forget_config)
        """Saved license configurations reach every worker at once (the store announces its saves through it)."""
        self.store.on_config_saved = self.config_changes.announce

        self.upstream: Upstream | None = None
        """Proxy mode: the upstream Customer Chat API's client; None when this server is the chat service."""
        self.accounts: UpstreamAccounts | None = None
        """Proxy mode: the upstream's token endpoint, and which customer each of its tokens is."""
        self.availability = Availability(self.store, self.router, self.bus)
        """Groups' online status (business hours and agents), its pushes and the business-hours timer."""
        tokens: CustomerTokens
        parts = (self.store, self.bus, signer, settings, self.router, self.webhooks, self.tracker, self.availability)
        if settings.upstream_url:
            self.upstream = Upstream(settings)
            directory = TokenDirectory(valkey, self.upstream, settings.token_ttl)
            self.accounts, tokens = UpstreamAccounts(self.upstream, directory), directory
            self.chats: ChatCore = UpstreamCore(self.upstream)
        else:
            tokens = SignedTokens(signer)
            self.chats = LocalCore(*parts)
        self.access = Access(self.licenses, self.store, signer, tokens, settings.new_visitors_per_minute,
                             settings.tracking_calls_per_minute,
                             (settings.customer_events_per_minute, settings.address_events_per_minute))
        self.agent_sessions = AgentSessions(valkey, signer, self.sessions, settings.agent_session_idle_seconds)
        """Agents' console sessions (e-mail and password sign-in at ``/agent``)."""
        self.access.console = self.agent_sessions
        visitors: Visitors
        if self.upstream is not None and self.accounts is not None:
            visitors = UpstreamVisitors(self.upstream, self.accounts, signer, self.access.not_banned)
        else:
            visitors = LocalVisitors(self.keyring, self.licenses, self.store, self.availability, settings.token_ttl,
                                     self.access.new_visitors)
        self.widget = Widget(settings, self.access, self.store, self.tracker, self.drafts, visitors,
                             greeter=None if self.upstream is not None else (signer, self.bus))
        self.agents = AgentCore(*parts)
        self.configuration = ConfigurationCore(self.store, self.router, self.webhooks, signer, self.bus,
                                               self.availability)
        self.configuration.attach_visitors(self.tracker, customer_ttl=settings.tracking_retention_days * 86400)
        self.deliverer = Deliverer(valkey, self.webhooks, retry_base=settings.webhook_retry_base,
                                   timeout=settings.webhook_timeout,
                                   target_concurrency=settings.webhook_target_concurrency)
        self.deliverer.internal["rulebot"] = RuleBot(self.agents).handle
        self.presence = AgentPresence(self.router, self.agents.went_away, heartbeat=settings.agent_heartbeat_seconds,
                                      grace=settings.agent_grace_seconds)
        self.repair = Repair(valkey, self.agents, grace=settings.repair_grace, interval=settings.repair_interval)
        self.inactivity = Inactivity(self.agents, settings)
        """Chat inactivity: the transfer, idle and close timers (one worker at a time acts on each due chat)."""
        self.mailer = Mailer(valkey, settings)
        """Outbound e-mail: the outbox every worker shares, and this worker's sender (off without WIDGET_SMTP_URL)."""
        self.configuration.mailer = self.mailer  # (request_agent_unsuspension mails the owners)
        self.tickets = Tickets(valkey, self.store, self.bus, signer, settings, self.mailer)
        """Offline messages and missed chats as tickets, their mail and the missed-chat timer (``core/tickets.py``)."""
        self.transcripts = Transcripts(self.tickets)
        for core in (self.chats, self.agents):
            if isinstance(core, (LocalCore, AgentCore)):
                core.tickets, core.transcripts = self.tickets, self.transcripts
        self.inbound: InboundListener | None = None
        """The inbound SMTP listener for visitors' replies (``WIDGET_SMTP_INBOUND``), held by one worker at a time."""
        if settings.smtp_inbound and self.upstream is None:
            self.inbound = InboundListener(settings.smtp_inbound, InboundHandler(signer, self.tickets),
                                           settings.smtp_inbound_max_bytes)
        self._background: list[asyncio.Task[None]] = []

    @property
    def signer(self) -> Signer:
        return self.keyring.signer

    def forget_config(self, org: str) -> None:
        """A license's configuration changed: drop this worker's copy and the widget configurations made from it."""
        self.store.forget_config(org)
        self.widget.cache.forget(org)

    async def start(self) -> None:
        # the data at this release's schema before the worker serves (a no-op after ``widget-server serve`` migrated;
        # a server started another way migrates here, one worker under the lock, the others waiting); data a newer
        # release wrote stops the worker with SchemaTooNew
        await migrate(self.valkey, self.settings.tracking_retention_days * 86_400)
        self.keyring.load(await self.licenses.load_secret(self.settings.secret))
        await self.deliverer.start()
        await self.mailer.start()
        await self.bus.start()
        await self.config_changes.start()
        self._background = [asyncio.create_task(self.tracker.run_sweeper(self.settings.tracking_sweep_interval)),
                            asyncio.create_task(self.presence.run_reaper()),
                            asyncio.create_task(self.repair.run()),
                            asyncio.create_task(self._sample_valkey_latency()),
                            asyncio.create_task(metrics.run_flusher())]
        if self.upstream is None:  # in proxy mode the upstream owns groups and their hours
            self._background.append(asyncio.create_task(
                self.availability.run(self.settings.business_hours_tick_seconds)))
            self._background.append(asyncio.create_task(
                self.inactivity.run(self.settings.inactivity_tick_seconds)))
            self._background.append(asyncio.create_task(self.tickets.run()))
        if self.inbound is not None:
            await self.inbound.start()
        if self.settings.chat_retention_days > 0:
            retention = ChatRetention(self.agents, self.settings.chat_retention_days,
                                      customer_ttl=self.settings.tracking_retention_days * 86_400)
            self._background.append(asyncio.create_task(retention.run(self.settings.chat_retention_sweep_interval)))
        # The app's ~80,000 long-lived objects (routes, signature models, schemas) leave the cyclic collector's view:
        # a full collection walked them all, ~35 ms, and landed in some request's latency.
        gc.freeze()

    async def _sample_valkey_latency(self, every: float = 5.0) -> None:
        """A PING's round trip every few seconds into ``/metrics`` (``widget_valkey_ping_seconds``): what every command
        pays on top of its own work, measured without timing (and slowing) the commands of requests."""
        while True:
            await asyncio.sleep(every)
            started = time.perf_counter()
            try:
                await self.store.ping()
            except Exception:
                log.debug("Valkey latency sample failed", exc_info=True)
                continue
            metrics.VALKEY_LATENCY.observe(time.perf_counter() - started)

    async def stop(self) -> None:
        # each loop finishes its turn's cleanup (the repair pass gives its lock back) before Valkey is closed; a loop
        # stuck in a Valkey call that does not end holds the stop up for 2 s at most
        for task in await cancel_and_wait(self._background, 2.0):
            log.warning("background task %s did not stop", task.get_name())
        if self.inbound is not None:
            await self.inbound.stop()
        await self.deliverer.stop()
        await self.mailer.stop()
        await self.bus.stop()
        if self.upstream is not None:
            await self.chats.aclose()  # type: ignore[attr-defined]
            await self.upstream.aclose()
        await self.valkey.aclose()
