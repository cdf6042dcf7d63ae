"""LiveChat's accounts API as the customer SDKs call it: ``POST /v2/customer/token`` (cookie and agent-token grants)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class TokenRequest(msgspec.Struct, omit_defaults=True):
    grant_type: Annotated[str, msgspec.Meta(max_length=64)]
    response_type: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    client_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    organization_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    license_id: str | int | None = None
    redirect_uri: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    entity_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class TokenResponse(msgspec.Struct, omit_defaults=True):
    access_token: str
    entity_id: str
    expires_in: int
    token_type: str
    organization_id: str | None = None
    client_id: str | None = None


class TokenError(msgspec.Struct, omit_defaults=True):
    """An accounts-endpoint error; the JS customer SDK reads the code from ``oauth_exception``, a ban from
    ``identity_exception``."""

    oauth_exception: str | None = None
    identity_exception: str | None = None
    exception_details: str | None = None
