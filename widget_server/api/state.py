"""What the transports share in one worker: settings, Valkey, store, bus, the chat core and the signing key."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from .. import keys
from ..core.bus import Bus
from ..core.config_changes import ConfigChanges
from ..core.interface import ChatCore
from ..core.routing import Router
from ..core.webhooks import Webhooks
from ..core.signing import Signer
from ..core.store import Store
from ..settings import Settings
from ..tracking import Tracker


class AppState:
    def __init__(self, settings: Settings, valkey: Any) -> None:
        self.settings = settings
        self.valkey = valkey
        self.store = Store(valkey)
        self.bus = Bus(valkey)
        self.router = Router(valkey)
        self.webhooks = Webhooks(valkey)
        self.tracker = Tracker(valkey, online_seconds=settings.tracking_online_seconds,
                               retention_seconds=settings.tracking_retention_days * 86400)
        self.secret = b""
        self.signer = Signer(b"")
        self.core: ChatCore
        self.agent_core: Any
        self.configuration: Any
        self._licenses: set[str] = set()
        self.presence: Any
        self.upstream: Any = None
        """Proxy mode (``WIDGET_UPSTREAM_URL``): the ``upstream.Upstream`` client; None otherwise."""
        self.tokens: Any = None
        """Proxy mode: the ``upstream.tokens.TokenDirectory`` (the customer of an upstream token)."""
        self.sockets: set[Any] = set()
        """This worker's open RTM connections (closed one by one by a graceful shutdown)."""
        self.draining = False
        self.in_flight = 0
        """HTTP requests being handled by this worker."""
        # the widget's built files, themes, rendered frame pages and encoded static configurations (per worker)
        self.widget_assets: Any = None
        self.themes: Any = None
        self.frame_pages: dict[tuple[str, ...], Any] = {}
        self.static_configs: dict[tuple[Any, ...], bytes] = {}
        self.launcher_css: str | None = None
        self.online_groups: dict[tuple[str, int], tuple[float, bool]] = {}
        """(license, group) -> (until, any agent accepting): the widget's per-worker second-long cache."""
        self.config_changes = ConfigChanges(self.bus, self.forget_config)
        """Saved license configurations reach every worker at once (the store announces its saves through it)."""
        self.store.on_config_saved = self.config_changes.announce

    def forget_config(self, org: str) -> None:
        """A license's configuration changed: drop this worker's copy and the widget configurations made from it."""
        self.store.forget_config(org)
        for key in [k for k in self.static_configs if k[0] == org]:
            self.static_configs.pop(key, None)

    async def load_secret(self) -> None:
        if self.settings.secret:
            secret = self.settings.secret.encode()
        else:
            await self.valkey.set(keys.SECRET, secrets.token_hex(32), nx=True)
            secret = await self.valkey.get(keys.SECRET)
        self.secret = hashlib.sha256(b"widget_server\0" + secret).digest()
        self.signer = Signer(self.secret)

    async def license_exists(self, org: str) -> bool:
        """Licenses are never deleted while a worker runs, so a positive answer is cached for the worker's life."""
        if org in self._licenses:
            return True
        if len(org) > 64 or not await self.valkey.exists(keys.license(org)):
            return False
        self._licenses.add(org)
        return True

    async def agent_for_token(self, token: str | None) -> dict[str, str] | None:
        if not token:
            return None
        raw = await self.valkey.hgetall(keys.agent_token(hashlib.sha256(token.encode()).hexdigest()))
        return {k.decode(): v.decode() for k, v in raw.items()} or None
