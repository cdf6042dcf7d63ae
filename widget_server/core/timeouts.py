"""The license's chat inactivity timeouts (``core/inactivity.py`` runs them): LiveChat's names in its ``chats``
license-properties namespace, in minutes, with the server's ``WIDGET_INACTIVITY_*_SECONDS`` as defaults."""

from __future__ import annotations

import math
from typing import Any

from ..protocol.config import LicenseConfig
from ..protocol.errors import ApiError
from ..settings import Settings

LICENSE_NAMESPACE = "chats"
"""The license-properties namespace of the per-license timeouts (LiveChat's)."""
TIMEOUT_PROPERTIES = ("transfer_chat_after_min", "chat_inactive_after_min", "archive_chat_after_min")
"""The per-license timeouts, in minutes, in the order (transfer, inactive, close)."""
MAX_MINUTES = 7 * 24 * 60
"""The longest timeout a license may set (a week); longer would keep a silent chat's agent slot for ever."""
ROUTING_NAMESPACE = "routing"
"""The chat-properties namespace of ``idle`` (LiveChat's routing namespace)."""


def minutes_of(value: Any) -> float | None:
    """A timeout as stored: a number of minutes from 0 to ``MAX_MINUTES``, else None (not a valid setting)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return float(value) if 0 <= value <= MAX_MINUTES else None  # (an int too large for a float is out of range)


def check_timeout_property(name: str, value: Any) -> None:
    """A per-license timeout as the Configuration API accepts it: a number of minutes from 0 (off) to a week."""
    if minutes_of(value) is None:
        raise ApiError("validation", f"properties.{LICENSE_NAMESPACE}.{name}: a number of minutes from 0 (off) "
                                     f"to {MAX_MINUTES}")


def inactivity_timeouts(settings: Settings, config: LicenseConfig) -> tuple[int, int, int]:
    """The license's (transfer, inactive, close) timeouts in ms; 0 for a timer that is off."""
    props = config.license_properties.get(LICENSE_NAMESPACE) or {}
    defaults = (settings.inactivity_transfer_seconds, settings.inactivity_inactive_seconds,
                settings.inactivity_close_seconds)
    out = []
    for name, default in zip(TIMEOUT_PROPERTIES, defaults):
        minutes = minutes_of(props.get(name))
        out.append(int(minutes * 60_000) if minutes is not None else int(max(default, 0) * 1000))
    return out[0], out[1], out[2]
