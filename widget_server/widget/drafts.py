"""The wizard's preview drafts: an owner's unsaved settings applied to the license's configuration, kept for a while
under the owner's preview token. The wizard writes them; the widget's routes show one on the preview page only."""

from __future__ import annotations

from typing import Any

import msgspec

from .. import keys
from ..protocol.config import LicenseConfig

DRAFT_TTL = 8 * 3600


class Draft(msgspec.Struct, omit_defaults=True):
    """An owner's unsaved settings applied to the license's configuration, for the wizard's preview page only."""

    config: LicenseConfig
    online: bool | None = None
    """Show the widget as if agents were online (True) or away (False); None: as it really is."""


_draft_decoder = msgspec.json.Decoder(Draft)


class Drafts:
    def __init__(self, valkey: Any) -> None:
        self._r = valkey

    async def save(self, org: str, token: str, draft: Draft, only_if_missing: bool = False) -> None:
        await self._r.set(keys.wizard_preview(org, token), msgspec.json.encode(draft), ex=DRAFT_TTL,
                          nx=only_if_missing)

    async def load(self, org: str, token: str) -> Draft | None:
        """The draft a preview token names in this license, or None (unknown, expired, or another license's
        token)."""
        if not token or len(token) > 128 or not token.replace("-", "").replace("_", "").isalnum():
            return None
        raw = await self._r.get(keys.wizard_preview(org, token))
        return _draft_decoder.decode(raw) if raw else None
