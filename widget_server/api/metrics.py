"""``GET /metrics``: the Prometheus text format of every worker's metrics (``observe/metrics.py``)."""

from __future__ import annotations

import logging

from litestar import Request, Response, get

from ..auth.operator import may_scrape
from ..observe import metrics
from ..services import Injected, Services
from ..web.client import address_of

log = logging.getLogger("widget_server.metrics")

MAX_LICENSES = 1000
"""The online-visitor and queued-chat gauges count the first this many licenses with an agent connected (a scrape
stays a bounded pass; a license without agents has no queue to wait in)."""


@get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics_text(request: Request, services: Injected[Services]) -> Response[bytes]:
    settings = services.settings
    if not may_scrape(address_of(request, settings.trusted_proxy_headers), request.headers.get("authorization"),
                      settings.metrics_token):
        # (as an unknown path: a scan learns nothing)
        return Response(b'{"error":{"type":"not_found","message":"Not found"}}', status_code=404,
                        media_type="application/json")
    try:
        # (proxy mode: the upstream owns chats and queues; the visitors are still this server's)
        licenses = (await services.router.licenses_with_agents())[:MAX_LICENSES]
        metrics.ONLINE_VISITORS.set(await services.tracker.online_total(licenses))
        if services.upstream is None:
            metrics.QUEUED_CHATS.set(await services.availability.queued_chats(licenses))
    except Exception:  # Valkey unreachable: the gauges keep their last value, the counters are still served
        log.warning("metrics: the online visitors and queued chats could not be counted", exc_info=True)
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
