"""The agent console's own requests (issue 18): signing in with e-mail and password (``/agent/session``), and canned
responses (our extension actions on the Agent API: ``list_canned_responses``, ``create_canned_response``,
``update_canned_response``, ``delete_canned_response``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class SignInRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class ChangePasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class SignedIn(msgspec.Struct):
    agent_id: str
    organization_id: str
    name: str


class ConsoleToken(msgspec.Struct):
    access_token: str
    """Logs the console in over RTM (``login``'s ``token``) while the session lives."""
    agent_id: str
    organization_id: str


# --- canned responses ------------------------------------------------------------------------------------------------

Shortcut = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[\w-]+$")]
"""What follows ``#`` in the reply box: letters, digits, ``_`` and ``-``."""
Scope = Literal["license", "agent"]
"""``license``: every agent of the license uses it (only administrators change those); ``agent``: the caller's own."""


class CannedResponse(msgspec.Struct, kw_only=True):
    id: int
    shortcut: str
    text: str
    scope: Scope
    created_by: str
    updated_at: str


class ListCannedResponsesRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    scope: Scope | None = None
    """Only the license's or only the caller's; both when left out."""


class ListCannedResponsesResponse(msgspec.Struct):
    canned_responses: list[CannedResponse]


class CreateCannedResponseRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    shortcut: Shortcut
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=65536)]
    """Bounded further by ``WIDGET_CANNED_TEXT_MAX``; ``{{customer.name}}`` and ``{{agent.name}}`` are filled in by
    the console when it is used."""
    scope: Scope = "agent"


class CreateCannedResponseResponse(msgspec.Struct):
    id: int


class UpdateCannedResponseRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[int, msgspec.Meta(ge=1)]
    shortcut: Shortcut | None = None
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=65536)] | None = None


class DeleteCannedResponseRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[int, msgspec.Meta(ge=1)]
