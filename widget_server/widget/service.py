"""The widget's domain: what the loader's calls, the frame page and the frame's configuration answer, given what a
route read of the request. The routes (``api/widget.py``) only read requests and write responses.

A page with the snippet costs: the loader (cached), one visit (identity, access token, page view, launcher look,
greeting) and a heartbeat every ``heartbeat`` seconds. Only opening the chat (or an active chat) loads the frame, its
assets, the frame's configuration and the RTM socket."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any
from urllib.parse import quote

import msgspec
from litestar.datastructures import Cookie

from ..auth.access import Access
from ..auth.signing import Signer
from ..core import greetings
from ..core.bus import Bus
from ..core.store import Store
from ..protocol import pushes as p
from ..protocol.config import Group, LicenseConfig
from ..protocol.errors import ApiError
from ..settings import Settings
from ..tracking import Tracker
from ..tracking.models import Activity
from ..web.templates import templates
from .appearance import color_overrides, theme_for
from .assets import Asset, WidgetAssets, compress
from .cache import WidgetCache
from .drafts import Draft, Drafts
from .locales import TEXTS, default_forms, direction, negotiate
from .models import Greeting, Launcher, StaticConfig, ThemeConfig, VisitorConfig, VisitRequest, VisitResponse
from .visitors import Browser, Visitors

_encode = msgspec.json.encode

ICONS = {
    "chat": "M4 4h16v12H8l-4 4z",
    "bubble": "M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.5 3.4 6L4 21l4.6-2.4c1.1.3 2.2.4 3.4.4 5.5 0 10-3.6 10-8s-4.5-8-10-8z",
    "help": "M12 2a10 10 0 100 20 10 10 0 000-20zm1 16h-2v-2h2zm2.1-7.7l-.9.9c-.7.7-1.2 1.3-1.2 2.8h-2v-.5c0-1.1.5"
            "-2.1 1.2-2.8l1.2-1.3A2 2 0 1010 8H8a4 4 0 118 0c0 .9-.4 1.7-.9 2.3z",
}
SHAPES = {"circle": "50%", "rounded": "30%", "square": "6px"}


def group_of(config: LicenseConfig, group_id: int) -> Group:
    group = next((g for g in config.groups if g.id == group_id), None)
    if group is None:
        raise ApiError("group_not_found", f"Group {group_id} not found")
    return group


def language_for(config: LicenseConfig, accept_language: str | None, explicit: str | None = None) -> str:
    if explicit in TEXTS:
        return explicit  # type: ignore[return-value]
    if config.appearance.language != "auto":
        return config.appearance.language if config.appearance.language in TEXTS else "en"
    return negotiate(accept_language, config.language)


_ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


def frame_csp(config: LicenseConfig, host: str, preview: bool = False, embedder: str | None = None) -> str:
    """The frame page's policy. Who may frame it: the wizard's preview only this server; the license's listed
    origins; else the page the frame was made for (the loader names it in ``origin=``): the frame acts for that
    page's site (its visitor identity, ``auth.rules.identity_site``), so no other site may show it."""
    if preview:
        ancestors = "'self'"
    elif config.allowed_origins:
        ancestors = " ".join(config.allowed_origins)
    elif embedder and _ORIGIN.fullmatch(embedder):
        ancestors = embedder
    else:
        ancestors = "*"
    return (f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
            f"connect-src 'self' ws://{host} wss://{host}; font-src 'self'; media-src 'self' blob:; "
            f"frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'")


class Widget:
    def __init__(self, settings: Settings, access: Access, store: Store, tracker: Tracker, drafts: Drafts,
                 visitors: Visitors, greeter: tuple[Signer, Bus] | None = None) -> None:
        self.settings = settings
        self.greeter = greeter
        """Signs greetings' ids and pushes ``incoming_greeting``; None in proxy mode (the upstream greets)."""
        self.access = access
        self.store = store
        self.tracker = tracker
        self.drafts = drafts
        self.visitors = visitors
        self.cache = WidgetCache()
        self._agent_looks: dict[tuple[str, str], tuple[float, str, str]] = {}

    # --- what every call needs -------------------------------------------------------------------------------------

    def assets(self) -> WidgetAssets:
        cache = self.cache
        if cache.assets is None:
            cache.assets = WidgetAssets.load()
            if cache.assets is None:
                raise ApiError("service_unavailable", "The widget is not built: run `python -m widget_server build`")
        return cache.assets

    async def preview(self, org: str, token: str | None) -> Draft | None:
        """The wizard's unsaved draft a preview token names. The preview page is on the server's own origin and is no
        visitor: origins are not checked and nothing is tracked. A wrong or expired token is refused rather than
        showing the saved widget, which the owner could take for their draft."""
        if not token:
            return None
        draft = await self.drafts.load(org, token)
        if draft is None:
            raise ApiError("authorization", "The preview expired: reload the wizard")
        return draft

    async def online(self, org: str, group: int, preview: Draft | None) -> bool:
        """Whether the group has agents. Every page view asks, so a worker keeps the answer for a moment
        (``visitors.online_cache_seconds``: an agent's status change shows within it)."""
        if preview is not None and preview.online is not None:
            return preview.online
        now = time.monotonic()
        known = self.cache.online_groups
        cached = known.get((org, group))
        if cached is not None and cached[0] > now:
            return cached[1]
        online = await self.visitors.group_online(org, group)
        if len(known) > 100_000:
            known.clear()
        known[(org, group)] = (now + self.visitors.online_cache_seconds, online)
        return online

    # --- the frame page --------------------------------------------------------------------------------------------

    def frame_page(self, config: LicenseConfig, lang: str) -> Asset:
        """The chat frame's page, rendered once per build, theme and language."""
        assets = self.assets()
        theme = theme_for(self.cache, config.appearance)
        key = (assets.manifest.source_digest, theme.name, lang)
        page = self.cache.frame_pages.get(key)
        if page is None:
            body = templates.get_template("widget_frame.html").render(
                lang=lang, title=TEXTS[lang]["title"], widget_js=assets.url("widget.js"),
                widget_css=assets.url("widget.css"), theme_css=assets.url(f"theme-{theme.name}.css"),
            ).encode()
            page = self.cache.frame_pages[key] = compress(body, "text/html")
        return page

    # --- the loader's calls ----------------------------------------------------------------------------------------

    async def visit(self, browser: Browser, req: VisitRequest,
                    accept_language: str | None) -> tuple[VisitResponse, list[Cookie]]:
        """``visit`` (the page loaded): the visitor's identity, an access token, the page view, and the launcher.
        ``page_view`` (a single-page app navigated) and ``heartbeat`` (the page is still open) carry the token and
        get it back, renewed when it is past half its life; an expired or foreign token is an ``authentication``
        error, on which the loader starts over."""
        access = self.access
        org = await access.license(req.cfg.license_name())
        preview = await self.preview(org, req.cfg.preview)
        if preview is None:
            await access.origin(org, browser.origin)
        config = preview.config if preview else await self.store.license_config(org)
        group = req.cfg.group
        group_of(config, group)
        client = browser.client

        if req.type != "visit":
            claims = await access.customer(req.token, org)
            # one Valkey round trip: the tracking script refuses a banned visitor, and a heartbeat takes an agent's
            # invitation to chat (then the loader opens the widget, which connects and shows the chat)
            beat = req.type == "heartbeat"
            activity = None
            if preview is not None:
                await access.not_banned(claims.cid)
            elif beat:
                activity = await self.tracker.heartbeat(org, claims.cid, take_invitation=True)
            if activity is None and preview is None:  # a page view, or a heartbeat of a visitor the tracker forgot
                activity = await self.tracker.page_view(org, claims.cid, req.url, req.title, req.referrer,
                                                        client.user_agent, client.ip, client.geo,
                                                        take_invitation=beat)
            invited = activity is not None and activity.invitation is not None
            online = await self.online(org, group, preview)
            targeted = None
            if online and activity is not None and not invited:
                # a heartbeat answers a greeting too (the group came online, or the visitor came back to the tab),
                # without pushing it again: the host page shows a greeting once whichever answer brings it
                targeted = await self.targeted_greeting(org, claims.cid, config, group, req, activity,
                                                        language_for(config, accept_language), push=not beat)
            return VisitResponse(
                token=self.visitors.renewed(claims, group) or req.token or "", customer_id=claims.cid,
                cst=req.cst or "", availability="online" if online else "offline",
                active_chat=True if invited else None, greeting=targeted,
            ), []

        # the page's site keeps an identity of its own unless the license lists its sites (auth.rules.identity_site)
        site = await access.identity_site(org, browser.origin, browser.own_hosts, None)
        arrival = await self.visitors.arrive(browser, org, group, req.cfg, req.cst, site)
        activity = None if preview else await self.tracker.page_view(
            org, arrival.customer_id, req.url, req.title, req.referrer, client.user_agent, client.ip, client.geo)
        online = await self.online(org, group, preview)
        appearance = config.appearance
        lang = language_for(config, accept_language)
        greeting = None
        # the preview shows the greeting whenever there is one, so the owner sees how it looks
        if appearance.greeting and (preview is not None
                                    or online and activity and activity.new_visit and not arrival.active_chat):
            greeting = Greeting(text=appearance.greeting, delay=appearance.greeting_delay,
                                close=TEXTS[lang]["greeting_close"])
        if preview is None and online and activity is not None and not arrival.active_chat:
            # an automatic greeting whose rules this page meets replaces the simple one
            greeting = await self.targeted_greeting(org, arrival.customer_id, config, group, req, activity,
                                                    lang) or greeting
        return VisitResponse(
            token=arrival.token, customer_id=arrival.customer_id, cst=arrival.cst,
            availability="online" if online else "offline",
            launcher=self.launcher(browser.base_url, org, group, browser.origin or "", config, lang,
                                   req.cfg.preview if preview else None),
            active_chat=arrival.active_chat, heartbeat=max(2, self.settings.tracking_online_seconds // 2),
            greeting=greeting, identity_error=arrival.identity_error,
            returning=True if activity is not None and activity.statistics.visits_count > 1 else None,
        ), arrival.cookies

    async def targeted_greeting(self, org: str, cid: str, config: LicenseConfig, group_id: int, req: VisitRequest,
                                activity: Activity, lang: str, push: bool = True) -> Greeting | None:
        """The first automatic greeting (``core/greetings.py``) this page view meets, not yet seen in the visitor's
        browser session. Matching reads only the configuration this call holds already; Valkey is called only
        when one matches (the agent's name, and ``incoming_greeting`` to the visitor's open sockets)."""
        if self.greeter is None or not config.greetings:
            return None
        page = greetings.PageContext(url=req.url, referrer=req.referrer or "", visits=activity.statistics.visits_count,
                                     page_views=activity.statistics.page_views_count, group=group_of(config, group_id),
                                     now=dt.datetime.now(dt.UTC))
        template = greetings.pick(config.greetings, page, req.seen_since(activity.visit_started))
        if template is None:
            return None
        signer, bus = self.greeter
        unique_id = greetings.issue_unique_id(signer, org, cid, template.id, int(time.time()))
        appearance = config.appearance
        name, avatar = appearance.agent_name or TEXTS[lang]["title"], appearance.agent_avatar
        agent_id = template.agent_id or ""
        if agent_id:
            name, avatar = await self._agent_look(org, agent_id, name, avatar)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        if push:
            # LiveChat's incoming_greeting carries a message event, or a rich message event for a greeting that has one
            event: dict[str, Any] = {"id": unique_id[:32], "type": "message", "text": template.text, "created_at": now,
                                     "author_id": agent_id}
            if template.rich_message is not None:
                event = {"id": unique_id[:32], "type": "rich_message", "created_at": now, "author_id": agent_id,
                         **msgspec.to_builtins(template.rich_message)}
            await bus.publish([cid], "incoming_greeting", p.IncomingGreeting(
                id=template.id, unique_id=unique_id, displayed_first_time=True, accepted=False, subtype="announcement",
                is_exit_intent=False, event=event, agent=p.GreetingAgent(id=agent_id, name=name, avatar=avatar)))
        site_seconds = max(0, int(time.time()) - activity.visit_started)
        return Greeting(text=template.text, delay=greetings.delay_of(template, site_seconds),
                        close=TEXTS[lang]["greeting_close"], id=template.id, unique_id=unique_id, agent_name=name,
                        agent_avatar=avatar or None, rich_message=template.rich_message)

    async def _agent_look(self, org: str, agent_id: str, name: str, avatar: str) -> tuple[str, str]:
        """A greeting's agent's name and avatar, kept by this worker for a minute: a visitor whose greeting is still
        waiting to show gets it again with each heartbeat, and that must not cost a Valkey call each time."""
        now = time.monotonic()
        kept = self._agent_looks.get((org, agent_id))
        if kept is None or kept[0] < now:
            record = (await self.store.agents(org, [agent_id])).get(agent_id) or {}
            if len(self._agent_looks) > 10_000:
                self._agent_looks.clear()
            kept = self._agent_looks[(org, agent_id)] = (now + 60, record.get("name") or "", record.get("avatar") or "")
        return kept[1] or name, kept[2] or avatar

    def launcher(self, base: str, org: str, group: int, origin: str, config: LicenseConfig, lang: str,
                 preview: str | None = None) -> Launcher:
        appearance = config.appearance
        theme = theme_for(self.cache, appearance)
        assets = self.assets()
        colors = msgspec.structs.asdict(theme.tokens.colors) | color_overrides(appearance)
        texts = TEXTS[lang]
        css = self.cache.launcher_css
        if css is None:
            css = self.cache.launcher_css = assets.by_logical("launcher.css").body.decode()
        cls = f"w {appearance.launcher}" + (" l" if appearance.position == "bottom-left" else "")
        return Launcher(
            css=css,
            vars={"--c": colors["primary"], "--o": colors["on_primary"], "--x": f"{appearance.offset_x}px",
                  "--y": f"{appearance.offset_y}px", "--s": theme.tokens.launcher.size,
                  "--r": SHAPES[theme.tokens.launcher.shape], "--w": f"{appearance.width}px",
                  "--h": f"{appearance.height}px"},
            cls=cls,
            icon=ICONS[theme.tokens.launcher.icon],
            text=(appearance.launcher_text or texts["title"]) if appearance.launcher == "text" else "",
            label=texts["open_chat"],
            frame=f"{base}/widget/frame?organization_id={quote(org)}&group_id={group}&origin={quote(origin, safe='')}"
                  + (f"&preview={quote(preview)}" if preview else ""),
            host=base + assets.url("host.js"),
        )

    # --- the frame's configuration ---------------------------------------------------------------------------------

    async def frame_config(self, browser: Browser, org: str, group_id: int, preview: Draft | None,
                           config: LicenseConfig, lang: str, authorization: str | None) -> bytes:
        """Everything the chat frame needs to render, for one visitor: the license's part (``static_config``) and
        the visitor's (availability; with their token, who they are and their latest chats)."""
        static = self.static_config(org, config, group_id, lang, cache=preview is None)
        visitor = VisitorConfig(online=await self.online(org, group_id, preview), chats=[])
        # the wizard's preview shows a sample conversation that the frame makes: never who the owner's own browser
        # is to the widget, nor its chats (the preview page's loader holds that browser's visitor token)
        if authorization and preview is None:
            claims = await self.access.customer(authorization, org)
            await self.access.origin(org, browser.origin)
            view = await self.visitors.view(browser, org, claims, authorization)
            visitor.customer, visitor.chats = view.customer, view.chats
        return b'{"static":' + static + b',"visitor":' + _encode(visitor) + b"}"

    def static_config(self, org: str, config: LicenseConfig, group_id: int, lang: str, cache: bool = True) -> bytes:
        """Encoded once per license configuration, group and language, then reused by every visitor's request (not
        kept with ``cache=False``: a preview's draft)."""
        appearance = config.appearance
        theme = theme_for(self.cache, appearance)
        assets = self.assets()
        key = (org, self.store.config_version(org), group_id, lang, assets.manifest.source_digest)
        kept = self.cache.static_configs
        cached = kept.get(key) if cache else None
        if cached is not None:
            return cached
        texts = TEXTS[lang]
        group = group_of(config, group_id)
        # the owner's forms as they wrote them; the default ones in the visitor's language
        default_prechat, default_postchat, default_ticket = default_forms(lang)
        encoded = _encode(StaticConfig(
            organization_id=org,
            group={"id": group.id, "name": group.name},
            language=lang,
            texts=texts,
            theme=ThemeConfig(theme.name, theme.variables(color_overrides(appearance)),
                              assets.url(f"theme-{theme.name}.css"),
                              theme.variables(color_overrides(appearance), dark=True)
                              if theme.tokens.dark is not None else None),
            title=appearance.title or texts["title"],
            agent_name=appearance.agent_name,
            agent_avatar=appearance.agent_avatar,
            position=appearance.position,
            width=appearance.width,
            height=appearance.height,
            rating=appearance.rating,
            offline_title=appearance.offline_title or texts["offline_title"],
            offline_text=appearance.offline_text or texts["offline_text"],
            upload_max_bytes=self.settings.upload_max_bytes,
            ticket_form=config.ticket.form if config.ticket and config.ticket.form else default_ticket,
            prechat_form=((config.prechat.form or default_prechat)
                          if config.prechat and config.prechat.enabled else None),
            postchat_form=((config.postchat.form or default_postchat)
                           if config.postchat and config.postchat.enabled else None),
            direction=direction(lang),
        ))
        if not cache:
            return encoded
        if len(kept) > 10_000:
            kept.clear()
        kept[key] = encoded
        return encoded
