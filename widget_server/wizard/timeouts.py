"""The wizard's chat timeouts form: LiveChat's three inactivity timeouts of the license (``core/timeouts.py``), in
minutes, each field empty for the server's default (``WIDGET_INACTIVITY_*_SECONDS``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.timeouts import MAX_MINUTES, TIMEOUT_PROPERTIES

LABELS = {"transfer_chat_after_min": "Transfer an unanswered chat after",
          "chat_inactive_after_min": "Mark a silent chat inactive after",
          "archive_chat_after_min": "Close a silent chat after"}
MAX_FIELD = 20


@dataclass
class Parsed:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    minutes: dict[str, float | None] = field(default_factory=dict)
    """What to save when there are no errors (None: the server's default)."""


def values_of(chats: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields for the license's saved ``chats`` properties."""
    out = {}
    for name in TIMEOUT_PROPERTIES:
        value = chats.get(name)
        out[name] = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    return out


def parse(form: Mapping[str, str]) -> Parsed:
    parsed = Parsed(values={name: str(form.get(name, ""))[:MAX_FIELD].strip() for name in TIMEOUT_PROPERTIES})
    for name, raw in parsed.values.items():
        if not raw:
            parsed.minutes[name] = None
            continue
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not 0 <= value <= MAX_MINUTES:
            parsed.errors[name] = f"a number of minutes from 0 (never) to {MAX_MINUTES}, or empty for the default"
        else:
            parsed.minutes[name] = int(value) if value.is_integer() else value
    return parsed
