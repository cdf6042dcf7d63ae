"""Liveness and readiness probes."""

from __future__ import annotations

from litestar import Response, get

from ..core.store import Store
from ..services import Injected, Worker


@get("/healthz", summary="The process is up", include_in_schema=True)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", summary="Valkey is reachable and the worker is not shutting down")
async def readyz(worker: Injected[Worker], store: Injected[Store]) -> Response[dict[str, str]]:
    if worker.draining:
        return Response({"status": "draining"}, status_code=503)
    try:
        await store.ping()
    except Exception as exc:  # any failure to reach Valkey means not ready
        return Response({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
    return Response({"status": "ok"})
