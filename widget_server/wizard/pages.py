"""The theming wizard under ``/wizard``: sign-in, the settings form beside a live preview of the real widget,
versions with restore, the install snippet, and a small dashboard of the license's visitors.

Pages are Jinja2 templates rendered on the server and work without script; ``assets/wizard.js`` adds the live
preview, the contrast check as you type, the survey builder's buttons and the copy button. Everything runs under a
strict Content-Security-Policy (no inline script or style). Forms post back here; a bad field re-renders the page
with a message next to it and saves nothing.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath

from ..auth.sessions import SESSION_TTL, LoginRefused, OwnerSession
from ..core.configuration import AdminCaller
from ..core.local import DEFAULT_POSTCHAT, DEFAULT_PRECHAT, DEFAULT_TICKET
from ..core.timeouts import LICENSE_NAMESPACE, TIMEOUT_PROPERTIES
from ..mail.message import MailError, parse_address
from ..protocol import configuration as cf
from ..protocol import tickets as tk
from ..protocol.errors import ApiError
from ..services import Injected, Services
from ..tracking.tracker import utc_day
from ..web.request import all_cookies, base_url, is_secure
from ..web.templates import TEMPLATES_DIR
from ..widget import avatars
from ..widget.appearance import themes_of
from ..widget.assets import IMMUTABLE, Asset, compress, serve_headers
from ..widget.drafts import Draft
from ..widget.snippet import snippet_html
from ..widget.versions import SaveConflict, WizardSettings
from . import form as settings_form
from . import greetings as greetings_form
from . import hours as hours_form
from . import timeouts as timeouts_form
from .reports import REPORT_DISTRIBUTIONS, report_csv
from .sessions import COOKIE, COOKIE_PATH, LOGIN_COOKIE, client_ip, csrf_ok, same_origin

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
DEFAULT_FORMS = {"prechat": DEFAULT_PRECHAT, "postchat": DEFAULT_POSTCHAT, "ticket": DEFAULT_TICKET}
"""What the form builders show for a form the owner never saved: the widget's own defaults."""
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
ASSETS: dict[str, Asset] = {p.name: compress(p.read_bytes(), _MEDIA_TYPES[p.suffix])
                            for p in sorted(ASSETS_DIR.iterdir()) if p.suffix in _MEDIA_TYPES}

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
PREVIEW_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "frame-src 'self'; frame-ancestors 'self'; form-action 'none'; base-uri 'none'; object-src 'none'")
_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
            "Cross-Origin-Opener-Policy": "same-origin"}

_env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))
_env.globals["asset"] = lambda name: f"/wizard/assets/{name}?v={ASSETS[name].digest}"


# --- refusals ----------------------------------------------------------------------------------------------------------


class LoginRequired(Exception):
    """No valid session: pages go to the sign-in page, script calls get 401."""


class Refused(Exception):
    """A request the wizard will not take (a missing CSRF token, another site's page); shown as a page."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.endswith(("/draft", "/reports/data"))


def _login_required(request: Request[Any, Any, Any], exc: LoginRequired) -> Response[Any]:
    if _wants_json(request):
        return _json({"error": "Your session ended: sign in again."}, 401)
    return _redirect("/wizard/login")


def _refused(request: Request[Any, Any, Any], exc: Refused) -> Response[Any]:
    if _wants_json(request):
        return _json({"error": exc.message}, exc.status)
    return render("wizard_error.html", status=exc.status, title="Not accepted", message=exc.message)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Framework refusals (a body over the size limit, a malformed form) as a page, not a 500."""
    message = exc.detail if exc.status_code < 500 else "Something went wrong; please try again."
    if _wants_json(request):
        return _json({"error": message}, exc.status_code)
    return render("wizard_error.html", status=exc.status_code, title="Not accepted", message=message)


def same_origin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not same_origin(connection, connection.app.state.services):  # type: ignore[arg-type]
        raise Refused("The wizard takes requests from its own pages only.")


async def current_owner(request: Request[Any, Any, Any], services: Injected[Services]) -> OwnerSession:
    state = services
    session = await state.sessions.get(all_cookies(request).get(COOKIE))
    if session is None or not await state.licenses.exists(session.org):
        raise LoginRequired()
    return session


# --- responses ---------------------------------------------------------------------------------------------------------


def render(template: str, status: int = 200, csp: str = PAGE_CSP, **context: Any) -> Response[bytes]:
    body = _env.get_template(template).render(**context).encode()
    headers = {**_HEADERS, "Content-Security-Policy": csp}
    if csp == PAGE_CSP:
        headers["X-Frame-Options"] = "DENY"
    return Response(body, status_code=status, media_type="text/html", headers=headers)


def _redirect(location: str) -> Response[bytes]:
    return Response(b"", status_code=303, headers={"Location": location, "Cache-Control": "no-store"})


def _json(value: Any, status: int = 200) -> Response[bytes]:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _set_cookie(response: Response[Any], request: Request[Any, Any, Any], name: str, value: str,
                max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, secure=is_secure(request),
                        samesite="lax")


def _check_csrf(owner: OwnerSession, form: Any, request: Request[Any, Any, Any]) -> None:
    given = form.get("csrf") if form is not None else None
    if not csrf_ok(owner.csrf, str(given) if given else request.headers.get("x-csrf-token")):
        raise Refused("This form was not accepted: it expired or did not come from the wizard. "
                      "Reload the page and try again.")


def _as_owner(owner: OwnerSession) -> AdminCaller:
    """The signed-in owner as the Configuration API's caller: the wizard saves through the API's own actions, with
    their checks and limits."""
    return AdminCaller(org=owner.org, agent_id=owner.email, role="owner")


async def _form(request: Request[Any, Any, Any]) -> Any:
    try:
        return await request.form()
    except HTTPException:
        raise
    except Exception:  # a malformed multipart body
        raise Refused("The form could not be read; reload the page and try again.", 400) from None


# --- the settings' view ------------------------------------------------------------------------------------------------


def _themes_view(state: Services) -> list[dict[str, Any]]:
    return [{"name": t.name, "label": t.tokens.label, "colors": msgspec.structs.asdict(t.tokens.colors)}
            for t in sorted(themes_of(state.widget.cache).values(),
                            key=lambda t: (t.name != "classic", t.tokens.label))]


def _settings_page(state: Services, owner: OwnerSession, values: dict[str, Any],
                   errors: dict[str, str], status: int = 200, saved: str | None = None) -> Response[bytes]:
    themes = themes_of(state.widget.cache)
    return render(
        "wizard_settings.html", status=status, page="settings", owner=owner, values=values, errors=errors,
        themes=_themes_view(state), warnings=settings_form.contrast_warnings(themes, values), saved=saved,
        positions=settings_form.POSITIONS, launchers=settings_form.LAUNCHERS, languages=settings_form.LANGUAGES,
        survey_types=settings_form.SURVEY_TYPES, forms=settings_form.FORMS, form_types=settings_form.FORM_TYPES, numbers=settings_form.NUMBERS, limits=settings_form.TEXTS_MAX,
        max_avatar_kb=avatars.MAX_BYTES // 1024, label_of=settings_form.label_of,
    )


async def _submission(state: Services, owner: OwnerSession, form: Any,
                      current: WizardSettings) -> settings_form.Parsed:
    """The settings a submitted form asks for, the avatar upload included (stored, not yet kept)."""
    avatar = current.appearance.agent_avatar
    avatar_error = None
    upload = form.get("avatar_file")
    if form.get("avatar_remove"):
        avatar = ""
    elif isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
        try:
            avatar = await state.avatars.store(owner.org, data)
        except avatars.AvatarError as exc:
            avatar_error = str(exc)
    else:
        given = str(form.get("agent_avatar") or "")
        if given and given != avatar:
            if avatars.name_in(owner.org, given) is None:
                avatar_error = "Choose the avatar image again."
            else:
                avatar = given  # uploaded for the preview
    parsed = settings_form.parse(form, themes_of(state.widget.cache), avatar)
    if avatar_error:
        parsed.errors["avatar_file"] = avatar_error
        parsed.settings = None
    return parsed


def _saved_message(number: int, restored_from: int | None = None) -> str:
    done = f"Restored version {restored_from} as version {number}" if restored_from else f"Saved as version {number}"
    return f"{done}. Visitors see it from now on."


# --- the controller ----------------------------------------------------------------------------------------------------


class WizardController(Controller):
    path = "/wizard"
    include_in_schema = False
    guards = [same_origin_guard]
    dependencies = {"owner": Provide(current_owner)}
    exception_handlers = {LoginRequired: _login_required, Refused: _refused, HTTPException: _http_error}

    # --- sign-in ---------------------------------------------------------------------------------------------------

    @get("/login")
    async def login_page(self, request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
        state = services
        if await state.sessions.get(all_cookies(request).get(COOKIE)):
            return _redirect("/wizard")
        notice = "You are signed out." if request.query_params.get("signed_out") else None
        return self._login(request, state, notice=notice)

    @staticmethod
    def _login(request: Request[Any, Any, Any], state: Services, status: int = 200, error: str | None = None,
               email: str = "", notice: str | None = None, retry_after: int = 0) -> Response[bytes]:
        sessions = state.sessions
        nonce = all_cookies(request).get(LOGIN_COOKIE) or ""
        if not 20 <= len(nonce) <= 64:
            nonce = secrets.token_urlsafe(24)
        response = render("wizard_login.html", status=status, page="login", csrf=sessions.login_token(nonce),
                          error=error, email=email, notice=notice)
        _set_cookie(response, request, LOGIN_COOKIE, nonce, 3600)
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @post("/login", status_code=303)
    async def login(self, request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
        state = services
        form = await _form(request)
        sessions = state.sessions
        email = str(form.get("email") or "").strip().lower()[:256]
        password = str(form.get("password") or "")[:1024]
        if not sessions.login_token_ok(all_cookies(request).get(LOGIN_COOKIE), str(form.get("csrf") or "")):
            return self._login(request, state, 403, "The sign-in form expired. Please sign in again.", email)
        if not email or not password:
            return self._login(request, state, 400, "Enter your e-mail address and password.", email)
        try:
            org = await sessions.authenticate(email, password, client_ip(request, state))
        except LoginRefused as exc:
            status = 429 if exc.retry_after else 400
            return self._login(request, state, status, exc.message, email, retry_after=exc.retry_after)
        _, cookie = await sessions.create(org, email)
        response = _redirect("/wizard")
        _set_cookie(response, request, COOKIE, cookie, SESSION_TTL)
        response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
        return response

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                   services: Injected[Services]) -> Response[bytes]:
        _check_csrf(owner, await _form(request), request)
        await services.sessions.delete(owner)
        response = _redirect("/wizard/login?signed_out=1")
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response

    # --- settings ----------------------------------------------------------------------------------------------------

    @get("/")
    async def settings(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                   services: Injected[Services]) -> Response[bytes]:
        state = services
        config = await state.store.license_config(owner.org)
        values = settings_form.values_of(WizardSettings.of(config), DEFAULT_FORMS)
        # the form shows the saved settings: so does the preview, until the form changes
        await state.drafts.save(owner.org, owner.preview, Draft(config))
        saved = request.query_params.get("saved")
        restored = request.query_params.get("restored_from")
        message = None
        if saved and saved.isdigit():
            message = _saved_message(int(saved), int(restored) if restored and restored.isdigit() else None)
        return _settings_page(state, owner, values, {}, saved=message)

    @post("/settings", status_code=303)
    async def save(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                   services: Injected[Services]) -> Response[bytes]:
        state = services
        form = await _form(request)
        _check_csrf(owner, form, request)
        current = WizardSettings.of(await state.store.license_config(owner.org))
        parsed = await _submission(state, owner, form, current)
        if parsed.settings is not None and not await state.avatars.keep(owner.org,
                                                                   parsed.settings.appearance.agent_avatar):
            parsed.errors["avatar_file"] = "The uploaded avatar expired: choose the image again."
            parsed.settings = None
        if parsed.settings is None:
            return _settings_page(state, owner, parsed.values, parsed.errors, status=400)
        number = await self._save(state, owner, parsed.settings)
        return _redirect(f"/wizard?saved={number}")

    @staticmethod
    async def _save(state: Services, owner: OwnerSession, settings: WizardSettings,
                    restored_from: int | None = None) -> int:
        try:
            number = await state.versions.save(owner.org, settings, owner.email, restored_from)
        except SaveConflict:
            raise Refused("The settings changed elsewhere while saving; reload the page and try again.", 409) from None
        await state.config_changes.announce(owner.org)
        return number

    # --- the live preview --------------------------------------------------------------------------------------------

    @post("/draft", status_code=200)
    async def draft(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                   services: Injected[Services]) -> Response[bytes]:
        """The form as it is now, for the preview: field errors (400), or the draft kept for the preview page."""
        state = services
        form = await _form(request)
        _check_csrf(owner, form, request)
        config = await state.store.license_config(owner.org)
        parsed = await _submission(state, owner, form, WizardSettings.of(config))
        warnings = settings_form.contrast_warnings(themes_of(state.widget.cache), parsed.values)
        if parsed.settings is None:
            return _json({"errors": parsed.errors, "warnings": warnings}, 400)
        online = {"online": True, "offline": False}.get(str(form.get("preview_agents") or ""))
        await state.drafts.save(owner.org, owner.preview, Draft(parsed.settings.applied_to(config), online))
        return _json({"errors": {}, "warnings": warnings, "avatar": parsed.settings.appearance.agent_avatar})

    @get("/preview")
    async def preview(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                   services: Injected[Services]) -> Response[bytes]:
        """A page like the owner's site, with the real widget showing the session's draft."""
        state = services
        # (the settings page starts each draft; a preview opened on its own starts from the saved settings)
        await state.drafts.save(owner.org, owner.preview, Draft(await state.store.license_config(owner.org)),
                         only_if_missing=True)
        return render("wizard_preview.html", csp=PREVIEW_CSP, org=owner.org, token=owner.preview,
                      open="1" if request.query_params.get("open") == "1" else "0")

    # --- versions ----------------------------------------------------------------------------------------------------

    @get("/history")
    async def history(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                   services: Injected[Services]) -> Response[bytes]:
        state = services
        versions = await state.versions.list(owner.org)
        labels = {t.name: t.tokens.label for t in themes_of(state.widget.cache).values()}
        restored = request.query_params.get("restored")
        message = None
        if restored and restored.isdigit() and versions and versions[0].restored_from:
            message = _saved_message(int(restored), versions[0].restored_from)
        return render("wizard_history.html", page="history", owner=owner, versions=versions, theme_labels=labels,
                      positions=settings_form.POSITIONS, message=message)

    @post("/restore", status_code=303)
    async def restore(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                   services: Injected[Services]) -> Response[bytes]:
        state = services
        form = await _form(request)
        _check_csrf(owner, form, request)
        raw = str(form.get("version") or "")
        version = await state.versions.get(owner.org, int(raw)) if raw.isdigit() and len(raw) < 10 else None
        if version is None:
            raise Refused(f"There is no version {raw[:12]} to restore.", 404)
        await state.avatars.keep(owner.org, version.settings.appearance.agent_avatar)
        number = await self._save(state, owner, version.settings, restored_from=version.number)
        return _redirect(f"/wizard/history?restored={number}")

    # --- business hours ----------------------------------------------------------------------------------------------

    @staticmethod
    def _hours_page(state: Services, owner: OwnerSession, config: Any, group_id: int, values: dict[str, str],
                    errors: dict[str, str], status: int = 200, saved: bool = False) -> Response[bytes]:
        group = next(g for g in config.groups if g.id == group_id)
        open_now = state.availability.hours_open(config, group_id)
        return render("wizard_hours.html", status=status, page="hours", owner=owner, groups=config.groups,
                      group=group, values=values, errors=errors, saved=saved, days=hours_form.DAY_LABELS,
                      open_now=open_now)

    @staticmethod
    def _group_of(config: Any, raw: Any) -> int:
        raw = str(raw or "0")
        if not raw.isdigit() or len(raw) > 9 or not any(g.id == int(raw) for g in config.groups):
            raise Refused(f"There is no group {raw[:12]}.", 404)
        return int(raw)

    @get("/hours")
    async def hours(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                    services: Injected[Services]) -> Response[bytes]:
        """A group's business hours (``?group=<id>``, group 0 by default)."""
        config = await services.store.license_config(owner.org)
        group_id = self._group_of(config, request.query_params.get("group"))
        group = next(g for g in config.groups if g.id == group_id)
        return self._hours_page(services, owner, config, group_id, hours_form.values_of(group.business_hours), {},
                                saved=request.query_params.get("saved") == "1")

    @post("/hours", status_code=303)
    async def save_hours(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                         services: Injected[Services]) -> Response[bytes]:
        form = await _form(request)
        _check_csrf(owner, form, request)
        config = await services.store.license_config(owner.org)
        group_id = self._group_of(config, form.get("group_id"))
        parsed = hours_form.parse(form)
        if not parsed.errors:
            # the Configuration API's action: the same checks, the same pushes to connected customers
            caller = _as_owner(owner)
            try:
                await services.configuration.update_group_business_hours(
                    caller, cf.UpdateGroupBusinessHoursRequest(group_id=group_id, business_hours=parsed.hours))
            except ApiError as exc:
                parsed.errors["form"] = exc.message
        if parsed.errors:
            return self._hours_page(services, owner, config, group_id, parsed.values, parsed.errors, status=400)
        return _redirect(f"/wizard/hours?group={group_id}&saved=1")

    # --- greetings and the welcome message ----------------------------------------------------------------------------

    @staticmethod
    def _greetings_page(owner: OwnerSession, config: Any, values: dict[str, str], errors: dict[str, str],
                        status: int = 200, saved: str = "") -> Response[bytes]:
        groups = {g.id: g.name for g in config.groups}
        listed = [(g, groups.get(g.group, str(g.group)), greetings_form.describe(g)) for g in config.greetings]
        return render("wizard_greetings.html", status=status, page="greetings", owner=owner, groups=config.groups,
                      greetings=listed, values=values, errors=errors, saved=saved,
                      url_operators=greetings_form.URL_OPERATORS, visitors=greetings_form.VISITORS,
                      hours=greetings_form.HOURS, limits=greetings_form.LIMITS)

    @get("/greetings")
    async def greetings(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                        services: Injected[Services]) -> Response[bytes]:
        """The license's automatic greetings, a form for a new one, and each group's welcome message."""
        config = await services.store.license_config(owner.org)
        saved = str(request.query_params.get("saved") or "")
        return self._greetings_page(owner, config, greetings_form.blank(), {},
                                    saved=saved if saved in ("greeting", "deleted", "welcome") else "")

    @post("/greetings", status_code=303)
    async def save_greeting(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                            services: Injected[Services]) -> Response[bytes]:
        form = await _form(request)
        _check_csrf(owner, form, request)
        config = await services.store.license_config(owner.org)
        parsed = greetings_form.parse(form, {g.id for g in config.groups})
        if parsed.request is not None:
            # the Configuration API's action: the same checks and limits
            caller = _as_owner(owner)
            try:
                await services.configuration.create_greeting(caller, parsed.request)
            except ApiError as exc:
                parsed.errors["form"] = exc.message
        if parsed.errors:
            return self._greetings_page(owner, config, parsed.values, parsed.errors, status=400)
        return _redirect("/wizard/greetings?saved=greeting")

    @post("/greetings/delete", status_code=303)
    async def delete_greeting(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                              services: Injected[Services]) -> Response[bytes]:
        form = await _form(request)
        _check_csrf(owner, form, request)
        raw = str(form.get("id") or "")
        caller = _as_owner(owner)
        try:
            if not raw.isdigit() or len(raw) > 9:
                raise ApiError("greeting_not_found", "Greeting not found")
            await services.configuration.delete_greeting(caller, cf.GreetingIdRequest(id=int(raw)))
        except (ApiError, msgspec.ValidationError):
            raise Refused(f"There is no greeting {raw[:12]}.", 404) from None
        return _redirect("/wizard/greetings?saved=deleted")

    @post("/welcome", status_code=303)
    async def save_welcome(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                           services: Injected[Services]) -> Response[bytes]:
        form = await _form(request)
        _check_csrf(owner, form, request)
        config = await services.store.license_config(owner.org)
        group_id = self._group_of(config, form.get("group_id"))
        text = str(form.get("welcome_message") or "").strip()
        if len(text) > 500:
            return self._greetings_page(owner, config, greetings_form.blank(),
                                        {f"welcome_{group_id}": "At most 500 characters."}, status=400)
        caller = _as_owner(owner)
        await services.configuration.update_group(caller, cf.UpdateGroupRequest(id=group_id, welcome_message=text))
        return _redirect("/wizard/greetings?saved=welcome")

    # --- tickets -------------------------------------------------------------------------------------------------------

    @staticmethod
    def _tickets_page(state: Services, owner: OwnerSession, values: dict[str, str], errors: dict[str, str],
                      status: int = 200, saved: bool = False) -> Response[bytes]:
        return render("wizard_tickets.html", status=status, page="tickets", owner=owner, values=values,
                      errors=errors, saved=saved, default_timeout=int(state.settings.queue_timeout_seconds))

    @get("/tickets")
    async def tickets(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                      services: Injected[Services]) -> Response[bytes]:
        """Where ticket notifications go, and how long a queued chat waits before it is missed."""
        settings = (await services.store.license_config(owner.org)).tickets
        values = {"notification_email": settings.notification_email,
                  "queue_timeout_seconds": "" if settings.queue_timeout_seconds is None
                  else str(settings.queue_timeout_seconds)}
        return self._tickets_page(services, owner, values, {}, saved=request.query_params.get("saved") == "1")

    @post("/tickets", status_code=303)
    async def save_tickets(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                           services: Injected[Services]) -> Response[bytes]:
        form = await _form(request)
        _check_csrf(owner, form, request)
        values = {"notification_email": str(form.get("notification_email") or "").strip()[:254],
                  "queue_timeout_seconds": str(form.get("queue_timeout_seconds") or "").strip()[:12]}
        errors: dict[str, str] = {}
        timeout = values["queue_timeout_seconds"]
        if values["notification_email"]:
            try:
                parse_address(values["notification_email"])
            except MailError as exc:
                errors["notification_email"] = str(exc)
        if timeout and not (timeout.isdigit() and int(timeout) <= 86400):
            errors["queue_timeout_seconds"] = "a whole number of seconds from 0 to 86400, or empty for the default"
        if not errors:
            # the Configuration API's action: the same checks
            caller = _as_owner(owner)
            request_ = tk.UpdateTicketSettingsRequest(settings=tk.TicketSettings(
                notification_email=values["notification_email"],
                queue_timeout_seconds=int(timeout) if timeout else None))
            try:
                await services.configuration.update_ticket_settings(caller, request_)
            except ApiError as exc:
                errors["notification_email"] = exc.message.partition(": ")[2] or exc.message
        if errors:
            return self._tickets_page(services, owner, values, errors, status=400)
        return _redirect("/wizard/tickets?saved=1")
    # --- chat timeouts -----------------------------------------------------------------------------------------------

    @staticmethod
    def _timeouts_page(state: Services, owner: OwnerSession, values: dict[str, str], errors: dict[str, str],
                       status: int = 200, saved: bool = False) -> Response[bytes]:
        s = state.settings
        defaults = dict(zip(TIMEOUT_PROPERTIES, (s.inactivity_transfer_seconds, s.inactivity_inactive_seconds,
                                                 s.inactivity_close_seconds)))
        return render("wizard_timeouts.html", status=status, page="timeouts", owner=owner, values=values,
                      errors=errors, saved=saved, labels=timeouts_form.LABELS,
                      defaults={k: f"{v / 60:g}" for k, v in defaults.items()})

    @get("/timeouts")
    async def timeouts(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                       services: Injected[Services]) -> Response[bytes]:
        """The license's chat inactivity timeouts (transfer, inactive, close)."""
        config = await services.store.license_config(owner.org)
        values = timeouts_form.values_of(config.license_properties.get(LICENSE_NAMESPACE) or {})
        return self._timeouts_page(services, owner, values, {}, saved=request.query_params.get("saved") == "1")

    @post("/timeouts", status_code=303)
    async def save_timeouts(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                            services: Injected[Services]) -> Response[bytes]:
        form = await _form(request)
        _check_csrf(owner, form, request)
        parsed = timeouts_form.parse(form)
        if not parsed.errors:
            caller = _as_owner(owner)
            try:
                await services.configuration.set_inactivity_timeouts(caller, parsed.minutes)
            except ApiError as exc:
                parsed.errors["form"] = exc.message
        if parsed.errors:
            return self._timeouts_page(services, owner, parsed.values, parsed.errors, status=400)
        return _redirect("/wizard/timeouts?saved=1")

    # --- install and dashboard ---------------------------------------------------------------------------------------

    @get("/install")
    async def install(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                   services: Injected[Services]) -> Response[bytes]:
        state = services
        base = base_url(request, state.settings.public_url)
        return render("wizard_install.html", page="install", owner=owner, snippet=snippet_html(base, owner.org),
                      secret=await state.licenses.identity_secret(owner.org), base=base,
                      license_id=await state.licenses.number(owner.org),
                      demo=f"{base}/demo?organization_id={quote(owner.org)}")

    @get("/dashboard")
    async def dashboard(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                   services: Injected[Services]) -> Response[bytes]:
        state = services
        now = time.time()
        days = [utc_day(now - i * 86400) for i in range(7)]  # today first
        *counters, online = await asyncio.gather(*(state.tracker.counters(owner.org, day) for day in days),
                                                 state.tracker.online(owner.org, limit=1))
        totals = {name: sum(getattr(c, name) for c in counters) for name in ("page_views", "visits", "chats")}
        peak = max([c.page_views for c in counters] + [1])
        report = await state.reports.dashboard(owner.org, days[-1], days[0], None, "day")
        return render("wizard_dashboard.html", page="dashboard", owner=owner, today=counters[0], days=counters,
                      online=online.total, totals=totals, peak=peak, report=report, report_from=days[-1],
                      report_to=days[0], poll=state.settings.reports_poll_seconds)

    # --- reports (core/reports.py: the counters the Reports API reads too) -------------------------------------------

    @staticmethod
    async def _report(request: Request[Any, Any, Any], owner: OwnerSession, services: Services) -> dict[str, Any]:
        """The dashboard's numbers for the range the page asks (``from``, ``to``: dates, both days included;
        ``distribution`` day or hour; ``tz``: the browser's IANA zone)."""
        q = request.query_params
        distribution = q.get("distribution") or "day"
        if distribution not in REPORT_DISTRIBUTIONS:
            raise ApiError("validation", "distribution: day, hour, day-hours, month or year")
        return await services.reports.dashboard(owner.org, q.get("from") or None, q.get("to") or None,
                                                q.get("tz") or None, distribution)

    @get("/reports/data")
    async def reports_data(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                           services: Injected[Services]) -> Response[bytes]:
        """The dashboard's charts' data (the page polls it)."""
        return _json(await self._report(request, owner, services))

    @get("/reports.csv")
    async def reports_csv(self, request: Request[Any, Any, Any], owner: NamedDependency[OwnerSession],
                          services: Injected[Services]) -> Response[bytes]:
        """The same numbers as a CSV file: one row per period (``table=periods``), agent or group."""
        table = request.query_params.get("table") or "periods"
        if table not in ("periods", "agents", "groups"):
            raise ApiError("validation", "table: periods, agents or groups")
        report = await self._report(request, owner, services)
        body = report_csv(report[table], "period" if table == "periods" else "id")
        name = f"chats-{table}-{report['from'][:10]}-{report['to'][:10]}.csv"
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={**_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})

    # --- files -------------------------------------------------------------------------------------------------------

    @get("/assets/{name:str}")
    async def asset(self, request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        asset = ASSETS.get(name)
        if asset is None:
            raise ApiError("not_found", "No such asset")
        # the pages link them with ?v=<digest> (the preview reloads often: no revalidation for those)
        cache = IMMUTABLE if request.query_params.get("v") == asset.digest else "no-cache"
        status, body, headers = serve_headers(asset, request.headers, cache)
        return Response(body, status_code=status, headers=headers, media_type=asset.media_type)


ROUTES = [WizardController]
