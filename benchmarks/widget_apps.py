"""The ASGI apps ``widget_http.py`` serves, besides ``python -m widget_server serve`` itself. Not a test, not the product.

- ``fastapi_config``: ``GET /v1/widget/config`` as a typical Python team writes it: FastAPI, typed query parameters,
  pydantic v2 models mirroring ``widget_server.widget.models.StaticConfig`` / ``VisitorConfig`` and a
  ``response_model``. The static part is a model built once at start-up (from the JSON document our server answered,
  whose path is in ``WIDGET_BENCH_CONFIG``); each request builds the small visitor part, as ours does. It reads
  nothing from Valkey (ours does: agent presence for ``visitor.online``), so the comparison flatters it.
- ``starlette_static``: Starlette ``StaticFiles`` mounted at ``/widget/assets`` over ``static/dist``.
- ``granian_static_fallback``: the app behind granian's own static serving (``--static-path-mount``); granian answers
  ``/widget/assets/*`` in Rust before the app is called, anything else is a 404 here.
- ``ours_no_limiter`` / ``ours_many_visitors``: our app factory (``widget_server.app:create_app``, unchanged code) with
  the rate limiter's configuration adjusted at construction time, to show what the limiter costs:
  ``ours_no_limiter`` excludes the widget's paths (``/widget/``, ``/v1/widget/``) from it, ``ours_many_visitors``
  keeps it on every request but keys it by a rotating id over 100,000 ids instead of the client address, so one load
  generator looks like 100,000 visitors each with a short history (as in production, where every visitor has its
  own address) instead of one client whose history grows by one entry per request.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "static" / "dist"


# --- FastAPI + pydantic: the configuration document -----------------------------------------------------------------


def fastapi_config() -> Any:
    from fastapi import FastAPI
    from pydantic import BaseModel

    class FormField(BaseModel):
        id: str
        type: Literal["header", "name", "email", "question", "textarea", "radio", "select", "checkbox",
                      "group_chooser", "rating"]
        label: str = ""
        required: bool = False
        options: list[dict[str, Any]] | None = None

    class Form(BaseModel):
        id: str
        fields: list[FormField]

    class Group(BaseModel):
        id: int
        name: str

    class ThemeConfig(BaseModel):
        name: str
        variables: dict[str, str]
        css: str

    class StaticConfig(BaseModel):
        organization_id: str
        group: Group
        language: str
        texts: dict[str, str]
        theme: ThemeConfig
        title: str
        agent_name: str
        agent_avatar: str
        position: str
        width: int
        height: int
        rating: bool
        offline_title: str
        offline_text: str
        upload_max_bytes: int
        ticket_form: Form
        prechat_form: Form | None = None
        postchat_form: Form | None = None

    class ChatSummary(BaseModel):
        id: str
        active: bool
        unread: bool

    class VisitorConfig(BaseModel):
        online: bool
        chats: list[ChatSummary]
        customer: dict[str, str] | None = None

    class WidgetConfig(BaseModel):
        static: StaticConfig
        visitor: VisitorConfig

    document = json.loads(Path(os.environ["WIDGET_BENCH_CONFIG"]).read_text())
    static = StaticConfig.model_validate(document["static"])
    online = bool(document["visitor"]["online"])

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    # response_model_exclude_defaults: omit the defaults as msgspec's omit_defaults does, so the JSON is the same
    @app.get("/v1/widget/config", response_model=WidgetConfig, response_model_exclude_defaults=True)
    async def widget_config(organization_id: str, group_id: int = 0) -> WidgetConfig:
        return WidgetConfig(static=static, visitor=VisitorConfig(online=online, chats=[]))

    return app


# --- Starlette StaticFiles ------------------------------------------------------------------------------------------


def starlette_static() -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    return Starlette(routes=[Mount("/widget/assets", app=StaticFiles(directory=DIST), name="assets")])


# --- granian's static serving: the app behind it ----------------------------------------------------------------------


async def granian_static_fallback(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


# --- our app with the rate limiter adjusted ----------------------------------------------------------------------------


def _ours_with_limiter(adjust: Any) -> Any:
    import widget_server.app as app_module

    original = app_module.RateLimitConfig

    def adjusted(**kwargs: Any) -> Any:
        return original(**adjust(kwargs))

    app_module.RateLimitConfig = adjusted  # type: ignore[assignment, misc]
    try:
        return app_module.create_app()
    finally:
        app_module.RateLimitConfig = original  # type: ignore[misc]


def ours_no_limiter() -> Any:
    return _ours_with_limiter(lambda kw: {**kw, "exclude": [*kw.get("exclude", []), "/widget/", "/v1/widget/"]})


def ours_many_visitors() -> Any:
    ids = itertools.count()
    return _ours_with_limiter(lambda kw: {**kw, "identifier_for_request": lambda request: f"v{next(ids) % 100_000}"})
