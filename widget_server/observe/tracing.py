"""OpenTelemetry traces through Litestar's OpenTelemetry plugin, on when the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``
variable is set (the exporter reads it and the other ``OTEL_*`` variables itself).

A tracer provider set by whoever embeds the app (``opentelemetry.trace.set_tracer_provider``, as the tests do with an
in-memory exporter) is used as it is; otherwise one is made that sends spans over OTLP/HTTP in batches. The spans
cover the requests Litestar routes: the fast paths in front of it (the widget's files, the loader's calls, the RTM
sockets) are counted by ``/metrics`` instead, where a span per request would cost more than the request.
"""

from __future__ import annotations

import os
from typing import Any

SKIPPED = ["/metrics", "/healthz", "/readyz"]


def otel_plugins() -> list[Any]:
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return []
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "widget_server")})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    # (span names are Litestar's: method and path; the plugin wraps the app before routing, so no route template)
    return [OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=provider, exclude=SKIPPED))]
