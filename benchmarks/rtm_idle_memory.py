"""Our per-socket memory above granian's floor, alone: the idle-sockets and tracemalloc phases of ``rtm_load.py``
(same stacks, same clients, same measurements), without its 25 minutes of chat load.

Run it by hand from the repository root (not a pytest test)::

    .venv/bin/python benchmarks/rtm_idle_memory.py                       # 10,000 idle sockets, then 1,000 traced
    .venv/bin/python benchmarks/rtm_idle_memory.py --idle 5000 --traced 0

For each of ``ours`` (``python -m widget_server serve``) and the granian floor (``rtm_apps.floor_app``), freshly
started: N logged-in customer sockets (the floor's: plain sockets) with heartbeats, held ``--idle-hold`` s; RSS of the
server's process tree (after − before) / N. Then ours under tracemalloc (``rtm_apps.traced_widget_app``): the Python
heap per logged-in customer socket after a warm-up, by package and by allocation site. Memory figures do not depend on
CPU load, so the machine need not be quiet; a busy one only makes connecting slower.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent)]

import rtm_load  # noqa: E402
from rtm_load import CLIENT_CPUS, Floor, Ours, idle_run, traced_run  # noqa: E402


async def main(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"idle": {}}
    with tempfile.TemporaryDirectory(prefix="rtm-idle-") as tmpdir:
        tmp = Path(tmpdir)
        if args.idle:
            for cls in (Floor, Ours):
                r = await idle_run(cls, args, tmp, args.idle)
                out["idle"][r["stack"]] = r
        if args.traced:
            out["traced"] = await traced_run(args, tmp)
    return out


def report(out: dict[str, Any]) -> str:
    lines = []
    idle = out["idle"]
    floor, ours = idle.get("granian floor"), idle.get("ours")
    for r in idle.values():
        lines.append(f"{r['stack']}: {r['sockets']:,} sockets, RSS {r['rss_per_socket'] / 1024:.1f} KB per socket, "
                     f"connect {r['connect_seconds']:.1f} s, {r['heartbeats_in_hold']:,} heartbeats, "
                     f"errors {r['errors'] or 0}")
    if floor and ours:
        lines.append(f"ours above the floor: {(ours['rss_per_socket'] - floor['rss_per_socket']) / 1024:.1f} KB "
                     "of RSS per socket")
    traced = out.get("traced")
    if traced:
        lines.append(f"Python heap per logged-in customer socket ({traced['sockets']:,} sockets): "
                     f"{traced['bytes_per_socket'] / 1024:.2f} KB; errors {traced['errors'] or 0}")
        for k, v in sorted(traced["by_package_per_socket"].items(), key=lambda kv: -kv[1]):
            if abs(v) >= 10:
                lines.append(f"  {k}: {v / 1024:.2f} KB")
        lines.append("  largest sites:")
        for t in traced["top"]:
            lines.append(f"    {t['bytes_per_socket']:6.0f} B  {t['count'] / traced['sockets']:4.1f} blocks  {t['where']}")
    return "\n".join(lines)


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=10_000, help="idle sockets per stack (0: skip)")
    parser.add_argument("--idle-hold", type=float, default=35.0)
    parser.add_argument("--heartbeat", type=float, default=15.0)
    parser.add_argument("--traced", type=int, default=1000, help="sockets for the tracemalloc measurement (0: skip)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    if os.cpu_count() and os.cpu_count() < 2:
        rtm_load.SERVER_CPUS = rtm_load.CLIENT_CPUS = {0}
    else:
        os.sched_setaffinity(0, CLIENT_CPUS)
    try:
        import uvloop

        out = uvloop.run(main(args))
    except ImportError:
        out = asyncio.run(main(args))
    print("\n" + report(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    run()
