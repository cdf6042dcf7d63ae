"""The app factory: routes, middleware, lifespan (Valkey, bus, core)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.openapi.config import OpenAPIConfig
from litestar.stores.valkey import ValkeyStore

from . import __version__
from .api.agent_rtm import agent_rtm
from .api.agent_web import agent_action
from .api.auth import customer_token
from .api.client import forwarded_address
from .api.configuration_web import configuration_action
from .api.console import agent_console, agent_console_asset
from .api.customer_rtm import customer_rtm
from .api.customer_web import customer_action, customer_get_action
from .api.edge import forward_customer_token, upstream_customer_rtm
from .api.errors import EXCEPTION_HANDLERS
from .api.fast_assets import FastAssets
from .api.fast_rtm import FastRtm
from .api.files import get_file
from .api.health import healthz, readyz
from .api.openapi import add_action_operations
from .api.shutdown import count_requests, drain_on_sigterm
from .api.state import AppState
from .api.tracking_web import track
from .api.widget import (
    widget_asset, widget_config, widget_demo, widget_demo_css, widget_demo_js, widget_frame, widget_loader,
    widget_snippet, widget_visit,
)
from .core.agents import AgentCore
from .core.configuration import ConfigurationCore
from .core.local import LocalCore
from .core.presence import AgentPresence
from .core.rulebot import RuleBot
from .core.webhooks import Deliverer
from .settings import Settings, load_settings
from .upstream import Upstream, UpstreamCore
from .upstream.tokens import TokenDirectory
from .valkey import connect
from .wizard.pages import ROUTES as WIZARD_ROUTES

log = logging.getLogger("widget_server")


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the ASGI app. Every worker calls this; state lives in Valkey, so workers need not know each other."""
    settings = settings or load_settings()
    if not settings.valkey_url:
        raise RuntimeError("WIDGET_VALKEY_URL is not set (the CLI sets it when it starts the embedded Valkey)")
    valkey = connect(settings.valkey_url, settings.valkey_cluster)
    state = AppState(settings, valkey)
    if settings.upstream_url:  # proxy mode: the Customer Chat API is another server's (upstream/)
        state.upstream = Upstream(settings)
        state.tokens = TokenDirectory(valkey, state.upstream, settings.token_ttl)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await state.load_secret()
        parts = (state.store, state.bus, state.signer, settings, state.router, state.webhooks, state.tracker)
        state.core = UpstreamCore(state.upstream) if state.upstream else LocalCore(*parts)
        state.agent_core = AgentCore(*parts)
        state.configuration = ConfigurationCore(state.store, state.router, state.webhooks, state.signer)
        deliverer = Deliverer(valkey, state.webhooks, retry_base=settings.webhook_retry_base)
        deliverer.internal["rulebot"] = RuleBot(state.agent_core).handle
        state.presence = AgentPresence(state.router, state.agent_core.went_away,
                                       heartbeat=settings.agent_heartbeat_seconds, grace=settings.agent_grace_seconds)
        await deliverer.start()
        await state.bus.start()
        await state.config_changes.start()
        background = [asyncio.create_task(state.tracker.run_sweeper(settings.tracking_sweep_interval)),
                      asyncio.create_task(state.presence.run_reaper())]
        # The app's ~80,000 long-lived objects (routes, signature models, schemas) leave the cyclic collector's view:
        # a full collection walked them all, ~35 ms, and landed in some request's latency.
        gc.freeze()
        try:
            with drain_on_sigterm(state, settings.shutdown_drain_seconds):
                yield
        finally:
            for task in background:
                task.cancel()
            await deliverer.stop()
            await state.bus.stop()
            if state.upstream:
                await state.core.aclose()
                await state.upstream.aclose()
            await valkey.aclose()

    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        # the widget's files and calls come from every page view of every visitor, many behind one address (an office,
        # a mobile carrier): a per-address limit would refuse them, and costs two Valkey round trips a request
        exclude=["/healthz", "/readyz", "/schema", "/widget/", "/v1/widget/", "/v1/track", "/demo"],
        store="rate_limit",
        # behind a trusted proxy (an edge in proxy mode, a load balancer), each client has its own limit
        identifier_for_request=forwarded_address if settings.trusted_proxy_headers else get_remote_address,
    )
    customer_routes = [forward_customer_token, upstream_customer_rtm] if state.upstream else [customer_token, customer_rtm]
    app = Litestar(
        route_handlers=[healthz, readyz, *customer_routes, customer_action, customer_get_action, get_file,
                        agent_action, agent_rtm, configuration_action, agent_console, agent_console_asset, track,
                        widget_loader, widget_asset, widget_frame, widget_snippet, widget_visit, widget_config,
                        widget_demo, widget_demo_js, widget_demo_css, *WIZARD_ROUTES],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        cors_config=CORSConfig(allow_origins=[], allow_origin_regex=".*", allow_credentials=True, max_age=600,
                               expose_headers=["Retry-After"]),
        middleware=[count_requests(state), rate_limit.middleware],
        stores={"rate_limit": ValkeyStore(valkey, namespace="ws:ratelimit")},
        openapi_config=OpenAPIConfig(title="widget_server", version=__version__,
                                     description="LiveChat-compatible Customer Chat API 3.6/3.5"),
        request_max_body_size=settings.upload_max_bytes + 256 * 1024,
        debug=False,
    )
    app.state.ws = state
    add_action_operations(app)
    # the RTM sockets, then the widget's files, before Litestar's request path
    return FastRtm(FastAssets(app, state), state)  # type: ignore[return-value]
