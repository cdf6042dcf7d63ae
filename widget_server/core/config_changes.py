"""Cross-worker invalidation of license configurations.

Every worker keeps each license's configuration for a moment (``Store.license_config``), and values derived from it
(the widget's encoded static configuration). When one worker saves a configuration it announces it on the bus; every
worker, itself included, drops what it keeps for that license, so the next visitor anywhere sees the new settings.
One bus "user" (``keys.CONFIG_FEED``) carries the announcements of every license: they are rare (an owner saving),
and on a Valkey Cluster that is one sharded channel on one primary. Pub/sub may lose a message while a subscriber
reconnects; the store's short cache lifetime bounds how long a worker can then stay behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from .. import keys
from ..protocol.frames import RequestId
from .bus import Bus

log = logging.getLogger("widget_server.config_changes")

ACTION = "license_config_changed"


class ConfigChanged(msgspec.Struct):
    """The bus message (``license_config_changed``): every worker forgets what it keeps of this license."""

    organization_id: str


_decode = msgspec.json.Decoder(ConfigChanged).decode


class ConfigChanges:
    """Subscribed to the configuration feed for the worker's life; ``forget(org)`` drops a worker's cached copies."""

    conn_id = "config-changes"

    def __init__(self, bus: Bus, forget: Callable[[str], None]) -> None:
        self._bus = bus
        self._forget = forget

    async def start(self) -> None:
        await self._bus.register(keys.CONFIG_FEED, self)

    async def stop(self) -> None:
        await self._bus.unregister(keys.CONFIG_FEED, self)

    async def announce(self, org: str) -> None:
        """The configuration of ``org`` changed in Valkey: forget it here now, and on every worker."""
        self._forget(org)
        await self._bus.publish([keys.CONFIG_FEED], ACTION, ConfigChanged(org))

    def deliver(self, action: str, payload: msgspec.Raw, request_id: RequestId) -> None:
        if action != ACTION:
            return
        try:
            self._forget(_decode(payload).organization_id)
        except msgspec.DecodeError:
            log.error("undecodable configuration change: %r", bytes(payload)[:200])
