"""The webhook delivery scripts (``core/webhooks.py``) with their KEYS and ARGV on the session's real Valkey. They run
on test keys of their own: the live servers' deliverers read the real stream."""

from __future__ import annotations

import asyncio
import secrets

import msgspec

from widget_server.core import scripts


def _stream_keys() -> tuple[str, str]:
    tag = secrets.token_hex(6)
    return f"test:{{{tag}}}:retry", f"test:{{{tag}}}:stream"


async def test_pump_webhook_retries_moves_each_due_retry_to_the_stream_once(valkey):
    """Every worker runs the pump: two running at once still send a due retry once, and one not due stays. The
    delivery id goes with it (the receiver's dedup key); a retry queued before ids existed gets an empty one."""
    pump = scripts.register(valkey, "pump_webhook_retries")
    retry, stream = _stream_keys()
    for i, due in enumerate((1000, 1500, 9000)):
        retry_item = {"org": "o1", "webhook": f"w{i}", "attempt": 2, "body": f'{{"n":{i}}}'}
        if i != 1:
            retry_item["id"] = f"msg_{i}"
        await valkey.zadd(retry, {msgspec.json.encode(retry_item): due})
    assert await asyncio.gather(*(pump(keys=[retry, stream], args=[2000, 100]) for _ in range(2))) == [9000, 9000]
    entries = {fields[b"webhook"]: fields for _, fields in await valkey.xrange(stream)}
    assert entries == {f"w{i}".encode(): {b"org": b"o1", b"webhook": f"w{i}".encode(), b"attempt": b"2",
                                          b"body": f'{{"n":{i}}}'.encode(), b"id": delivery_id}
                       for i, delivery_id in ((0, b"msg_0"), (1, b""))}
    assert await valkey.zcard(retry) == 1
    assert await pump(keys=[retry, stream], args=[9000, 100]) == -1  # nothing waits any more
    assert await valkey.xlen(stream) == 3


async def test_pump_webhook_retries_moves_at_most_the_given_number(valkey):
    pump = scripts.register(valkey, "pump_webhook_retries")
    retry, stream = _stream_keys()
    await valkey.zadd(retry, {msgspec.json.encode({"org": "o", "webhook": f"w{i}", "attempt": 2, "body": "{}"}): i
                              for i in range(5)})
    assert await pump(keys=[retry, stream], args=[10, 3]) == 3
    assert await valkey.xlen(stream) == 3


async def test_finish_webhook_delivery_acknowledges_and_drops_the_entry_together(valkey):
    """A delivered entry is never left in the stream acknowledged (growing it for ever) nor dropped while still
    pending (claimed and sent again by another worker)."""
    done = scripts.register(valkey, "finish_webhook_delivery")
    _, stream = _stream_keys()
    await valkey.xgroup_create(stream, "g", id="0", mkstream=True)
    entry = await valkey.xadd(stream, {"body": "{}"})
    await valkey.xreadgroup("g", "worker", {stream: ">"})
    assert (await valkey.xpending(stream, "g"))["pending"] == 1
    assert await done(keys=[stream], args=["g", entry]) == 1
    assert (await valkey.xpending(stream, "g"))["pending"] == 0 and await valkey.xlen(stream) == 0
    assert await done(keys=[stream], args=["g", entry]) == 0
