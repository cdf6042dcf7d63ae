"""LiveChat-shaped errors: ``{"error": {"type", "message", "data"?}}`` and the HTTP status each type maps to."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

ErrorType = Literal[
    "authentication",
    "authorization",
    "chat_anonymized",
    "chat_inactive",
    "customer_banned",
    "entity_too_large",
    "greeting_not_found",
    "group_not_found",
    "group_offline",
    "group_unavailable",
    "groups_offline",
    "internal",
    "license_expired",
    "license_not_found",
    "limit_reached",
    "misdirected_request",
    "request_timeout",
    "service_unavailable",
    "too_many_requests",
    "unsupported_version",
    "validation",
    "wrong_product_version",
    "not_allowed",
    "not_found",
    "pending_requests_limit_reached",
    "users_limit_reached",
    # agent and configuration APIs
    "agent_offline",
    "already_exists",
    "missing_access",
    "requester_already_offline",
    "requester_awaiting_approval",
    "requester_suspended",
    "seats_limit_exceeded",
    "ownership_transfer",
]

HTTP_STATUS: dict[str, int] = {
    "authentication": 401,
    "authorization": 403,
    "customer_banned": 403,
    "not_allowed": 403,
    "chat_anonymized": 403,
    "license_expired": 402,
    "entity_too_large": 413,
    "license_not_found": 404,
    "group_not_found": 404,
    "greeting_not_found": 404,
    "not_found": 404,
    "already_exists": 409,
    "missing_access": 403,
    "misdirected_request": 421,
    "too_many_requests": 429,
    "pending_requests_limit_reached": 429,
    "limit_reached": 429,
    "users_limit_reached": 429,
    "internal": 500,
    "service_unavailable": 503,
    "request_timeout": 504,
    "requester_suspended": 403,
    "requester_awaiting_approval": 403,
}
"""Status per error type; every other type (validation, chat_inactive, group_offline, …) is a 400."""


class ErrorBody(msgspec.Struct, omit_defaults=True):
    type: str
    message: str
    data: dict[str, Any] | None = None


class ErrorPayload(msgspec.Struct):
    error: ErrorBody


class ApiError(Exception):
    """Raised anywhere below the transports; each transport renders it in its own envelope."""

    def __init__(self, type: ErrorType, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.type = type
        self.message = message
        self.data = data

    @property
    def status_code(self) -> int:
        return HTTP_STATUS.get(self.type, 400)

    def payload(self) -> ErrorPayload:
        return ErrorPayload(ErrorBody(self.type, self.message, self.data))
