"""The agent console's sign-in (issue 18, "Same sign-in everywhere"): JSON routes under ``/agent/session`` that the
console's script calls on its own origin. ``auth/console.py`` decides; this module reads requests and writes cookies.

* ``POST /agent/session`` ``{email, password}``: signs in; sets the session cookie (``ws_agent``: the session id,
  signed; HttpOnly, SameSite=Strict, path ``/agent``, Secure over TLS) and the CSRF cookie (``ws_agent_csrf``:
  readable by the page, which echoes it as ``X-CSRF-Token``: the double-submit pattern).
* ``POST /agent/session/token``: the access token the console logs in with over RTM (never the personal access token).
* ``POST /agent/session/password`` ``{current_password, new_password}``: the agent's new password.
* ``POST /agent/session/sign-out``: the session ends (sockets logged in with its token close within a heartbeat).

Every route refuses a request without an ``Origin`` of this server (the app's CORS policy lets any origin call with
credentials, for the widget's sake): browsers send ``Origin`` on every POST, so another site's page can neither sign
someone in nor read a token. The routes after sign-in also need the CSRF header. Errors are LiveChat's shape."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, post

from ..auth.console import AgentSession, LoginRefused
from ..protocol import console as cs
from ..protocol.errors import ApiError
from ..services import Injected, Services
from ..web.client import client_of
from ..web.request import all_cookies, is_secure, read_body
from ..web.responses import json_response

COOKIE = "ws_agent"
CSRF_COOKIE = "ws_agent_csrf"
COOKIE_PATH = "/agent"
BODY_LIMIT = 4096


def _same_origin(request: Request[Any, Any, Any], services: Services) -> None:
    origin = request.headers.get("origin")
    host = urlsplit(origin).netloc if origin else ""
    public = urlsplit(services.settings.public_url).netloc if services.settings.public_url else ""
    if not host or host not in (request.headers.get("host", ""), public):
        raise ApiError("authorization", "The console's sign-in takes requests from its own page only")


async def _body(request: Request[Any, Any, Any], type_: type[Any]) -> Any:
    raw = await read_body(request, BODY_LIMIT)
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.DecodeError as exc:
        raise ApiError("validation", str(exc)) from None


def _refused(exc: LoginRefused) -> ApiError:
    if exc.retry_after:
        return ApiError("too_many_requests", exc.message, {"retry_after": exc.retry_after})
    return ApiError("authentication", exc.message)


async def _session(request: Request[Any, Any, Any], services: Services, csrf: bool = True) -> AgentSession:
    """The request's live session; ``authentication`` without one, ``authorization`` without its CSRF header."""
    _same_origin(request, services)
    session = await services.agent_sessions.get(all_cookies(request).get(COOKIE))
    if session is None:
        raise ApiError("authentication", "Not signed in")
    given = request.headers.get("x-csrf-token", "")
    if csrf and not (given and hmac.compare_digest(given.encode(), session.csrf.encode())):
        raise ApiError("authorization", "Missing or wrong X-CSRF-Token")
    return session


def set_session_cookies(response: Response[Any], request: Request[Any, Any, Any], session: AgentSession | None,
                        cookie: str, max_age: int) -> None:
    """The session cookie and its CSRF cookie, or (``session`` None) both deleted."""
    secure = is_secure(request)
    if session is None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        response.delete_cookie(CSRF_COOKIE, path=COOKIE_PATH)
        return
    response.set_cookie(COOKIE, cookie, max_age=max_age, path=COOKIE_PATH, httponly=True, secure=secure,
                        samesite="strict")
    response.set_cookie(CSRF_COOKIE, session.csrf, max_age=max_age, path=COOKIE_PATH, httponly=False,
                        secure=secure, samesite="strict")


@post("/agent/session", summary="Agent console: sign in with e-mail and password", status_code=200, include_in_schema=False)
async def console_sign_in(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
    _same_origin(request, services)
    body: cs.SignInRequest = await _body(request, cs.SignInRequest)
    ip = client_of(request, services.settings.trusted_proxy_headers).ip or "unknown"
    sessions = services.agent_sessions
    try:
        org, agent = await sessions.authenticate(body.email.strip().lower(), body.password, ip)
    except LoginRefused as exc:
        raise _refused(exc) from None
    session, cookie = await sessions.create(org, agent)
    response = json_response(cs.SignedIn(agent_id=agent["id"], organization_id=org, name=agent.get("name", "")))
    response.headers["Cache-Control"] = "no-store"
    # the cookie outlives the session's idle window a little: the session itself decides when it ends
    set_session_cookies(response, request, session, cookie, sessions.idle_seconds * 3)
    return response


@post("/agent/session/token", summary="Agent console: the session's access token", status_code=200, include_in_schema=False)
async def console_token(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
    session = await _session(request, services)
    token = services.agent_sessions.access_token(session)
    org, agent = await services.access.agent(token)  # a deleted (or, with suspension, suspended) agent: refused
    response = json_response(cs.ConsoleToken(access_token=token, agent_id=agent["id"], organization_id=org))
    response.headers["Cache-Control"] = "no-store"
    return response


@post("/agent/session/password", summary="Agent console: change my password", status_code=200, include_in_schema=False)
async def console_password(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
    session = await _session(request, services)
    body: cs.ChangePasswordRequest = await _body(request, cs.ChangePasswordRequest)
    ip = client_of(request, services.settings.trusted_proxy_headers).ip or "unknown"
    try:
        await services.agent_sessions.change_password(session, body.current_password, body.new_password, ip)
    except LoginRefused as exc:
        raise _refused(exc) from None
    return json_response({})


@post("/agent/session/sign-out", summary="Agent console: sign out", status_code=200, include_in_schema=False)
async def console_sign_out(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
    session = await _session(request, services)
    await services.agent_sessions.delete(session)
    response = json_response({})
    set_session_cookies(response, request, None, "", 0)
    return response


ROUTES = [console_sign_in, console_token, console_password, console_sign_out]
