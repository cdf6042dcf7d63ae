"""OpenTelemetry (issue 19): with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, the app traces the requests Litestar routes
(Litestar's OpenTelemetry plugin). The spans go to an in-memory exporter here: the app uses the tracer provider its
host set, as it would an OTLP exporter's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from widget_server.app import create_app
from widget_server.settings import load_settings


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run in this test's own loop (as ``tests/test_rtm_sockets.py`` does; Litestar's test
    client would run it in a thread of its own), and an HTTP client speaking to it through ASGI."""
    to_app: asyncio.Queue[dict] = asyncio.Queue()
    from_app: asyncio.Queue[dict] = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                       to_app.get, from_app.put))
    to_app.put_nowait({"type": "lifespan.startup"})
    assert (await asyncio.wait_for(from_app.get(), 30))["type"] == "lifespan.startup.complete"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client
    finally:
        to_app.put_nowait({"type": "lifespan.shutdown"})
        await asyncio.wait_for(lifespan, 30)


async def test_requests_are_traced_when_an_otlp_endpoint_is_set(valkey_url, monkeypatch, tmp_path):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    # without the variable, no plugin and no span
    plain = create_app(load_settings({}, valkey_url=valkey_url, data_dir=str(tmp_path)))
    async with served(plain) as client:
        assert (await client.get("/v3.6/customer/action/get_dynamic_configuration")).status_code in (400, 401, 404)
    assert exporter.get_finished_spans() == ()

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # (never reached: our provider is used)
    app = create_app(load_settings({}, valkey_url=valkey_url, data_dir=str(tmp_path)))
    async with served(app) as client:
        r = await client.post("/v3.6/customer/action/list_chats", json={}, params={"organization_id": "nope"})
        assert r.status_code >= 400
        assert (await client.get("/healthz")).status_code == 200  # (not traced: probes would drown the traces)
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == trace.SpanKind.SERVER]
    assert [s.name for s in servers] == ["POST /v3.6/customer/action/list_chats"], [s.name for s in spans]
    assert servers[0].attributes["http.status_code"] == r.status_code
