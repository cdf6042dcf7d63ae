"""RTM frames: ``{version?, request_id?, action, payload}`` in; ``response`` and ``push`` frames out.

``payload`` stays raw JSON in the envelope so each action's payload is decoded once, straight into its own Struct.
"""

from __future__ import annotations

import msgspec

RequestId = str | int | None
"""Official clients send strings; whatever arrives is echoed back unchanged."""

EMPTY = msgspec.Raw(b"{}")


class RequestFrame(msgspec.Struct, omit_defaults=True):
    action: str
    request_id: RequestId = None
    version: str | None = None
    payload: msgspec.Raw = EMPTY


class LenientFrame(msgspec.Struct):
    """Just enough of a frame that failed validation to answer it with the right request_id and action."""

    request_id: object = None
    action: object = None


class ResponseFrame(msgspec.Struct, kw_only=True, omit_defaults=True):
    request_id: RequestId = None
    action: str
    type: str
    success: bool
    payload: msgspec.Raw


class PushFrame(msgspec.Struct, omit_defaults=True):
    version: str
    action: str
    type: str
    payload: msgspec.Raw
    request_id: RequestId = None
