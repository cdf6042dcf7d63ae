"""RTM frames: ``response`` and ``push`` frames out. Request frames (``{action, request_id?, version?, payload?}``)
are one tagged union over the actions, built from the dispatch table (``api/dispatch.py``), so each is decoded in
one pass straight into its action's request Struct.
"""

from __future__ import annotations

from typing import Any

import msgspec

RequestId = str | int | None
"""Official clients send strings; whatever arrives is echoed back unchanged."""


class LenientFrame(msgspec.Struct):
    """Just enough of a frame that failed validation to answer it with the right request_id and action."""

    request_id: object = None
    action: object = None


class ResponseFrame(msgspec.Struct, kw_only=True, omit_defaults=True):
    request_id: RequestId = None
    action: str
    type: str
    success: bool
    payload: Any


class PushFrame(msgspec.Struct, omit_defaults=True):
    version: str
    action: str
    type: str
    payload: msgspec.Raw
    request_id: RequestId = None
