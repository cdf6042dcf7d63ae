"""Faults under load: a granian worker SIGKILLed and sockets dropped while customers and an agent are chatting.

Clients do what a real one must: a message goes out with a ``custom_id``; when the answer does not come (the socket
dropped, the worker died, the server said it is busy) the client reconnects and sends the same message again with the
same ``custom_id``. The server must keep every acknowledged message and store none twice, and the dead worker must be
replaced while the other one keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable

from tests.support import AgentClient, CustomerClient, LiveServer, Socket
from widget_server.bootstrap import create_agent

from .conftest import new_license

CUSTOMERS = 3
MESSAGES = 12
"""Messages each customer sends, and the agent sends to each customer's chat."""
MAX_TRIES = 40
"""A message not acknowledged after this many tries fails the test (instead of retrying for ever)."""


def _workers(live: LiveServer) -> list[int]:
    assert live.proc is not None
    found = subprocess.run(["pgrep", "-P", str(live.proc.pid)], capture_output=True, text=True, check=False).stdout.split()
    return sorted(int(pid) for pid in found)


class RetryingSender:
    """One client's RTM connection that sends messages until each is acknowledged, reconnecting as needed."""

    def __init__(self, connect: Callable[[], Awaitable[Socket]]) -> None:
        self.connect = connect
        self.sock: Socket | None = None
        self.tries = 0
        self.errors: list[str] = []
        self._n = 0

    async def send(self, chat_id: str, custom_id: str, lose_answer: bool = False) -> str:
        """Send a message whose text is ``custom_id`` until it is acknowledged; its event id. With ``lose_answer``
        the first try drops the socket right after the frame is written, as a network failure would."""
        for attempt in range(MAX_TRIES):
            self.tries += 1
            try:
                if self.sock is None or self.sock.closed.is_set():
                    self.sock = await asyncio.wait_for(self.connect(), 5)
                sock = self.sock
                self._n += 1
                rid = f"m{self._n}"
                answer = asyncio.get_running_loop().create_future()
                sock.responses[rid] = answer
                await sock.ws.send(json.dumps({"action": "send_event", "request_id": rid, "payload": {
                    "chat_id": chat_id, "event": {"type": "message", "text": custom_id, "custom_id": custom_id}}}))
                if lose_answer and attempt == 0:
                    sock.ws.transport.abort()
                    raise ConnectionError("answer lost on purpose")
                closed = asyncio.ensure_future(sock.closed.wait())
                await asyncio.wait({answer, closed}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
                closed.cancel()
                if not answer.done():
                    raise ConnectionError("no answer")
                frame = answer.result()
                if frame["success"]:
                    return frame["payload"]["event_id"]
                self.errors.append(frame["payload"]["error"]["type"])
            except Exception as exc:  # noqa: BLE001 - any failure of the connection: reconnect and send again
                self.errors.append(type(exc).__name__)
            await self.drop()
            await asyncio.sleep(0.05 * min(attempt + 1, 10))
        raise AssertionError(f"{custom_id} never acknowledged: {self.errors[-5:]}")

    async def drop(self) -> None:
        """Cut the connection without a closing handshake (what a network failure does)."""
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.ws.transport.abort()
            sock._reader.cancel()


async def test_a_killed_worker_and_dropped_sockets_lose_no_acknowledged_message_and_store_none_twice(
        tmp_path, valkey_url, valkey):
    live = LiveServer(tmp_path, valkey_url, workers=2).start()
    org = await new_license(valkey)
    email = f"ann-{secrets.token_hex(4)}@example.com"
    ann = AgentClient(live.url, email, (await create_agent(valkey, org, email, "Ann", "normal", 10))["personal_access_token"])
    customers = [await CustomerClient(live.url, org).authorize() for _ in range(CUSTOMERS)]
    senders: list[RetryingSender] = []
    try:
        workers = _workers(live)
        assert len(workers) == 2, live.log()
        await ann.ok("set_routing_status", {"status": "accepting_chats"})
        chats = [(await c.ok("start_chat", {}))["chat_id"] for c in customers]
        acked: dict[str, str] = {}  # custom_id -> event id, once acknowledged
        chat_of: dict[str, str] = {}

        async def customer_talks(i: int) -> None:
            sender = RetryingSender(customers[i].rtm)
            senders.append(sender)
            for n in range(MESSAGES):
                custom_id = f"c{i}-{n}"
                chat_of[custom_id] = chats[i]
                acked[custom_id] = await sender.send(chats[i], custom_id, lose_answer=n % 4 == 1)

        async def agent_talks() -> None:
            sender = RetryingSender(ann.rtm)
            senders.append(sender)
            for n in range(MESSAGES):
                for i, chat_id in enumerate(chats):
                    custom_id = f"a{i}-{n}"
                    chat_of[custom_id] = chat_id
                    acked[custom_id] = await sender.send(chat_id, custom_id, lose_answer=n % 5 == 2)

        async def faults() -> None:
            while len(acked) < 10:
                await asyncio.sleep(0.01)
            os.kill(workers[0], signal.SIGKILL)  # one worker dies mid-load, no cleanup
            while len(acked) < 35:
                await asyncio.sleep(0.01)
            for sender in senders:  # and every client's network drops at once
                await sender.drop()

        total = CUSTOMERS * MESSAGES * 2
        await asyncio.wait_for(asyncio.gather(*(customer_talks(i) for i in range(CUSTOMERS)), agent_talks(), faults()),
                               120)
        assert len(acked) == total

        # the server outlived its worker, and granian started a new one in its place
        assert live.proc.poll() is None, live.log()
        deadline = time.monotonic() + 30
        while (len(_workers(live)) < 2 or workers[0] in _workers(live)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert len(_workers(live)) == 2 and workers[0] not in _workers(live), live.log()

        # every acknowledged message is stored, under the id its sender was given, and each exactly once
        stored: list[tuple[str, str]] = []
        for chat_id in chats:
            thread = (await ann.ok("get_chat", {"chat_id": chat_id}))["thread"]
            stored += [(e["text"], e["id"]) for e in thread["events"] if e["type"] == "message"]
        texts = [text for text, _ in stored]
        assert sorted(texts) == sorted(acked), "a message was lost or stored twice"
        assert dict(stored) == acked
        for chat_id in chats:  # and in the chat it was sent to
            events = (await ann.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
            assert {e["text"] for e in events if e["type"] == "message"} == {
                c for c, chat in chat_of.items() if chat == chat_id}
        # the faults did happen: answers were lost and sends retried
        assert sum(s.tries for s in senders) > total
    finally:
        for sender in senders:
            with contextlib.suppress(Exception):
                await sender.drop()
        for client in (*customers, ann):
            await client.aclose()
        live.stop()
