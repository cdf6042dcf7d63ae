"""The wizard's side of owners' sessions (``auth/sessions.py``): its cookies and the checks of a request.

An owner signs in with the e-mail and password from the first start (``keys.owner_login``). The session lives in
Valkey (idle expiry, renewed as it is used); the browser holds only its id, signed, in an HttpOnly SameSite=Lax
cookie scoped to ``/wizard``. Every POST carries the session's CSRF token (a form field or the ``X-CSRF-Token``
header); the sign-in form, before there is a session, carries a token bound to a cookie of its own. Failed sign-ins
are counted per e-mail address and per client IP over a window; past the limit, sign-in is refused with 429 until
the window ends, whatever the password.

The app's CORS policy lets any origin read API answers with credentials (the widget needs that on customers' sites),
so wizard routes also refuse requests whose ``Origin`` is not the wizard's own: another site can neither read a page
(and its CSRF token) nor post a form.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from ..services import Services
from ..web.client import client_of

COOKIE = "ws_wizard"
LOGIN_COOKIE = "ws_wizard_login"
COOKIE_PATH = "/wizard"


def same_origin(request: Request[Any, Any, Any], state: Services) -> bool:
    """False when the browser says the request comes from another origin's page (``Origin``, else Fetch
    metadata); requests without either (top-level navigations, non-browsers) pass."""
    origin = request.headers.get("origin")
    if origin is not None:
        host = urlsplit(origin).netloc
        public = urlsplit(state.settings.public_url).netloc if state.settings.public_url else ""
        return bool(host) and host in (request.headers.get("host", ""), public)
    site = request.headers.get("sec-fetch-site")
    mode = request.headers.get("sec-fetch-mode")
    return not (site in ("cross-site", "same-site") and mode not in (None, "navigate"))


def client_ip(request: Request[Any, Any, Any], state: Services) -> str:
    return client_of(request, state.settings.trusted_proxy_headers).ip or "unknown"


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
