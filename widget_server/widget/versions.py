"""What the wizard edits of a license's configuration (``WizardSettings``) and its saved versions.

The wizard owns the widget's look (``Appearance``), the allowed origins and the forms (pre-chat, post-chat, offline); groups, forms and
properties that the Configuration API sets are left as they are. A save is one Lua script over the license's keys
(one hash tag, so one node of a cluster): it writes the configuration only if nobody changed it since it was read
(else the wizard reads it again and retries), and records the settings as the next numbered version. The first save
of a license also records the settings it replaced, so "restore the previous version" works from the first save on.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .. import keys
from ..core import scripts
from ..protocol.common import now_rfc3339
from ..protocol.config import Appearance, FormSetting, LicenseConfig

MAX_VERSIONS = 50

class WizardSettings(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The part of a license's configuration the wizard edits."""

    appearance: Appearance = msgspec.field(default_factory=Appearance)
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    prechat: FormSetting | None = None
    postchat: FormSetting | None = None
    ticket: FormSetting | None = None
    """The post-chat survey and the offline message form; None in versions saved before the wizard edited them,
    which leave the license's as they are when restored."""

    @classmethod
    def of(cls, config: LicenseConfig) -> "WizardSettings":
        return cls(appearance=config.appearance, allowed_origins=list(config.allowed_origins), prechat=config.prechat,
                   postchat=config.postchat, ticket=config.ticket)

    def applied_to(self, config: LicenseConfig) -> LicenseConfig:
        """``config`` with these settings (a copy: the rest of the configuration is kept as it is)."""
        return msgspec.structs.replace(config, appearance=self.appearance, allowed_origins=list(self.allowed_origins),
                                       prechat=self.prechat,
                                       postchat=self.postchat if self.postchat is not None else config.postchat,
                                       ticket=self.ticket if self.ticket is not None else config.ticket)


class Version(msgspec.Struct, kw_only=True, omit_defaults=True):
    saved_at: str
    by: str
    settings: WizardSettings
    restored_from: int | None = None
    initial: bool = False
    """The settings the license had before its first save from the wizard."""
    number: int = 0
    """Not stored: the hash field is the number."""


class SaveConflict(Exception):
    """The configuration kept changing under a save (it was retried)."""


_config_decoder = msgspec.json.Decoder(LicenseConfig)
_version_decoder = msgspec.json.Decoder(Version)
_encode = msgspec.json.encode


class Versions:
    def __init__(self, valkey: Any) -> None:
        self.r = valkey
        self._save = scripts.register(valkey, "save_wizard_version")

    async def current(self, org: str) -> tuple[bytes, LicenseConfig]:
        """The configuration as stored now (not a worker's cached copy), raw and decoded."""
        raw = await self.r.get(keys.license_config(org)) or b""
        return raw, (_config_decoder.decode(raw) if raw else LicenseConfig())

    async def save(self, org: str, settings: WizardSettings, by: str, restored_from: int | None = None,
                   attempts: int = 5) -> int:
        """Apply ``settings`` to the license's configuration and record them as a new version; its number."""
        record = _encode(Version(saved_at=now_rfc3339(), by=by, settings=settings, restored_from=restored_from))
        for _ in range(attempts):
            raw, config = await self.current(org)
            initial = _encode(Version(saved_at=now_rfc3339(), by="", settings=WizardSettings.of(config), initial=True))
            n = await self._save(keys=[keys.license_config(org), keys.wizard_versions(org), keys.wizard_version_seq(org)],
                                 args=[raw, _encode(settings.applied_to(config)), MAX_VERSIONS, initial, record])
            if int(n) >= 0:
                return int(n)
        raise SaveConflict(org)

    async def list(self, org: str) -> list[Version]:
        """The kept versions, newest first."""
        raw = await self.r.hgetall(keys.wizard_versions(org))
        out = []
        for number, body in raw.items():
            version = _version_decoder.decode(body)
            version.number = int(number)
            out.append(version)
        return sorted(out, key=lambda v: v.number, reverse=True)

    async def get(self, org: str, number: int) -> Version | None:
        body = await self.r.hget(keys.wizard_versions(org), number)
        if body is None:
            return None
        version = _version_decoder.decode(body)
        version.number = number
        return version
