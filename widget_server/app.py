"""The app factory: routes, middleware, lifespan (Valkey, bus, core)."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.stores.valkey import ValkeyStore

from . import __version__
from .api.accounts import customer_token, forward_customer_token
from .api.agent_rtm import PATHS as AGENT_RTM_PATHS
from .api.agent_web import agent_action
from .api.configuration_web import configuration_action
from .api.console import agent_console, agent_console_asset
from .api.console_session import ROUTES as CONSOLE_SESSION_ROUTES
from .api.customer_rtm import PATHS as CUSTOMER_RTM_PATHS
from .api.customer_web import FORM_SLACK, customer_action, customer_get_action
from .api.email_verification import email_verification_confirm, email_verification_page
from .api.errors import EXCEPTION_HANDLERS
from .api.fast_assets import FastAssets
from .api.fast_rtm import FastRtm
from .api.files import get_file, relay_file
from .api.health import healthz, readyz
from .api.metrics import metrics_text
from .api.openapi import add_action_operations
from .api.reports_web import reports_action
from .api.shutdown import drain_on_sigterm
from .api.tracking_web import track
from .api.widget import (
    avatar_image,
    widget_asset,
    widget_config,
    widget_demo,
    widget_demo_console,
    widget_demo_css,
    widget_demo_js,
    widget_frame,
    widget_loader,
    widget_snippet,
    widget_tracking,
    widget_visit,
)
from .observe import metrics
from .observe.asgi import Observe
from .observe.tracing import otel_plugins
from .services import Services
from .settings import Settings, load_settings
from .valkey import connect
from .web.client import forwarded_address
from .widget.assets import WidgetAssets
from .wizard.pages import ROUTES as WIZARD_ROUTES

log = logging.getLogger("widget_server")


def docs_ui() -> SwaggerRenderPlugin:
    """``/schema``: Swagger UI, its files served by this server (built from npm's ``swagger-ui-dist`` with the widget,
    ``widget/build.py``), so the docs render without reaching a CDN; before a build, from the CDN."""
    no_icon = "<link rel='icon' href='data:,'>"  # (Litestar's default is an image on a CDN)
    assets = WidgetAssets.load()
    if assets is None or "docs.js" not in assets.names:
        return SwaggerRenderPlugin(path=["/", "/swagger"], favicon=no_icon)
    return SwaggerRenderPlugin(path=["/", "/swagger"], js_url=assets.url("docs.js"), css_url=assets.url("docs.css"),
                               standalone_preset_js_url=assets.url("docs-preset.js"), favicon=no_icon)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the ASGI app. Every worker calls this; state lives in Valkey, so workers need not know each other."""
    settings = settings or load_settings()
    if not settings.valkey_url:
        raise RuntimeError("WIDGET_VALKEY_URL is not set (the CLI sets it when it starts the embedded Valkey)")
    services = Services(settings, connect(settings.valkey_url, settings.valkey_cluster,
                                               settings.valkey_timeout))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await services.start()
        try:
            with drain_on_sigterm(services.worker, settings.shutdown_drain_seconds):
                yield
        finally:
            await services.stop()
            metrics.HTTP.flush()  # (this worker's last requests)
            metrics.worker_exit(os.getpid())  # this worker's open-socket gauge leaves the sum

    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        # the widget's files and calls come from every page view of every visitor, many behind one address (an office,
        # a mobile carrier): a per-address limit would refuse them, and costs two Valkey round trips a request
        exclude=["/healthz", "/readyz", "/metrics", "/schema", "/widget/", "/v1/widget/", "/v1/track", "/demo",
                 "/tracking.js"],
        store="rate_limit",
        # behind a trusted proxy (an edge in proxy mode, a load balancer), each client has its own limit
        identifier_for_request=forwarded_address if settings.trusted_proxy_headers else get_remote_address,
    )
    # the RTM sockets are served in front of Litestar (api/fast_rtm.py), so they have no Litestar routes
    token_route = forward_customer_token if services.upstream else customer_token
    file_route = relay_file if services.upstream else get_file  # (proxy mode: the upstream keeps the files)
    # customer tokens are handed out per address at a pace of their own (on top of the limit of every API call): one
    # page load of a site with the JS SDK asks once, so a client asking for many is collecting identities
    token_grants = Router(path="/", route_handlers=[token_route], middleware=[RateLimitConfig(
        rate_limit=("minute", settings.token_grants_per_minute), store="token_grants",
        identifier_for_request=rate_limit.identifier_for_request,
    ).middleware])
    app = Litestar(
        route_handlers=[healthz, readyz, metrics_text, token_grants, customer_action, customer_get_action, file_route,
                        agent_action, configuration_action, agent_console, agent_console_asset, *CONSOLE_SESSION_ROUTES,
                        track,
                        widget_loader, widget_tracking, widget_asset, widget_frame, widget_snippet, widget_visit,
                        widget_config, widget_demo, widget_demo_console, widget_demo_js, widget_demo_css, avatar_image,
                        *WIZARD_ROUTES, reports_action, email_verification_page, email_verification_confirm],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        cors_config=CORSConfig(allow_origins=[], allow_origin_regex=".*", allow_credentials=True, max_age=600,
                               expose_headers=["Retry-After"]),
        dependencies=providers(services),
        middleware=[rate_limit.middleware],
        stores={"rate_limit": ValkeyStore(services.valkey, namespace="ws:ratelimit"),
                "token_grants": ValkeyStore(services.valkey, namespace="ws:tokengrants")},
        openapi_config=OpenAPIConfig(title="widget_server", version=__version__,
                                     description="LiveChat-compatible Customer Chat API 3.6/3.5",
                                     render_plugins=[docs_ui()]),
        request_max_body_size=settings.upload_max_bytes + FORM_SLACK,
        plugins=otel_plugins(),
        logging_config=None,  # the log format is the CLI's (observe/logs.py, applied by granian in every worker)  # OpenTelemetry traces when OTEL_EXPORTER_OTLP_ENDPOINT is set
        debug=False,
    )
    app.state.services = services  # (for guards, which take no dependencies: the wizard's same-origin guard)
    add_action_operations(app)
    # the RTM sockets, then the widget's files, before Litestar's request path; outside them all, the request id, the
    # metrics and the access log of every request (observe/asgi.py)
    return Observe(FastRtm(FastAssets(app, services), services),  # type: ignore[return-value]
                   settings.access_log, frozenset((*CUSTOMER_RTM_PATHS, *AGENT_RTM_PATHS)))


def providers(services: Services) -> dict[str, Provide]:
    """The dependencies a handler may declare by name: the narrow services, and ``services`` for the routes that
    compose many (the widget's, the wizard's)."""
    values = {
        "services": services, "settings": services.settings, "access": services.access, "keyring": services.keyring,
        "store": services.store, "tracker": services.tracker, "worker": services.worker, "chats": services.chats,
        "agents": services.agents, "configuration": services.configuration, "widget": services.widget,
        "avatars": services.avatars,
        "reports": services.reports,
    }
    return {name: Provide(_constant(value), use_cache=True, sync_to_thread=False) for name, value in values.items()}


def _constant(value: object) -> Callable[[], object]:
    def provide() -> object:
        return value

    return provide
