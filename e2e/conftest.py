"""Browser fixtures: pytest-playwright (sync API) driving Debian's Chromium against a real Valkey, a real
``python -m widget_server serve`` process, and a tiny static "customer site" on another port of 127.0.0.1 — so the
page's origin differs from the API's (cross-origin) while both stay same-site (SameSite=Lax cookies still flow).

The tests/ conftest is not shared with e2e/; the harness in ``tests/support/`` is reused instead. Tests here
are plain ``def`` tests: the sync Playwright API refuses to run inside a running asyncio loop, and Valkey writes are
done with ``asyncio.run`` on a fresh client in a worker thread."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from e2e.console_people import background, customer_of, make_agent, watched  # noqa: F401 (fixtures)
from tests.support import LiveServer, serve_http, start_valkey
from widget_server.bootstrap import create_license
from widget_server.protocol.config import LicenseConfig
from widget_server.valkey import connect

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


_E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last. pytest-playwright's session-scoped ``playwright`` fixture keeps the sync API's
    event loop marked as running in the main thread until the session ends, so any asyncio test (tests/) scheduled
    after it would fail with "Runner.run() cannot be called from a running event loop"."""
    items.sort(key=lambda item: _E2E_DIR in Path(str(item.path)).resolve().parents)


# --- the browser -----------------------------------------------------------------------------------------------------
# pytest-playwright already defaults ``browser_name`` to "chromium" (tests are parametrized as ``[chromium]``), so only
# the launch arguments are overridden: the system Chromium instead of Playwright's downloaded build.


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(f"no Chromium at {executable}: install Debian's chromium or set CHROMIUM=/path/to/chromium")
    args = [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS]
    return {**browser_type_launch_args, "executable_path": executable, "args": args}


# --- Valkey and the API server ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def valkey_server() -> Iterator[Any]:
    server = start_valkey()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def valkey_url(valkey_server: Any) -> str:
    return valkey_server.connection_url


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, valkey_url: str) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("e2e-server"), valkey_url).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def api(server: LiveServer) -> str:
    """The API's origin, e.g. ``http://127.0.0.1:41234``."""
    return server.url


@pytest.fixture(scope="session")
def make_license(valkey_url: str) -> Callable[..., str]:
    """``make_license(config=None) -> organization_id``: a fresh license, written synchronously (own asyncio loop)."""

    async def _create(config: LicenseConfig | None) -> str:
        client = connect(valkey_url)
        try:
            creds = await create_license(client, f"owner-{secrets.token_hex(6)}@example.com", "pw", config)
        finally:
            await client.aclose()
        return creds["organization_id"]

    def make(config: LicenseConfig | None = None) -> str:
        # A worker thread of its own: once Playwright's sync API is up, its event loop counts as running in this
        # thread, and asyncio.run() refuses to start here.
        with ThreadPoolExecutor(1, thread_name_prefix="e2e-license") as pool:
            return pool.submit(asyncio.run, _create(config)).result(timeout=30)

    return make


@pytest.fixture
def org(make_license: Callable[..., str]) -> str:
    return make_license()


# --- the customer's web site (another origin) ------------------------------------------------------------------------

SITE_PAGE = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Customer site</title></head>
<body>
<h1>A shop that embeds the chat</h1>
<p id="origin"></p>
<script>document.getElementById("origin").textContent = location.origin;</script>
</body>
</html>
"""


class _SiteHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if self.path.split("?", 1)[0] in ("/", "/index.html", "/shop.html"):
            body, status, ctype = SITE_PAGE, 200, "text/html; charset=utf-8"
        else:
            body, status, ctype = b"not found", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    """A static page served from another port of 127.0.0.1: cross-origin to the API, same-site. Yields its origin."""
    with serve_http(_SiteHandler, "e2e-site") as origin:
        yield origin

