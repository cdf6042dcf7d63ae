"""The mail outbox's scripts (``mail/outbox.py``) with their KEYS and ARGV on the session's real Valkey: the bound on a
license's queue, claims that two workers never share, a dead worker's claim taken over once its lease ends, and a
settle that only the claim holding the message may make. The queue key is the test's own; message hashes have ids
no other test uses."""

from __future__ import annotations

import asyncio
import secrets

import msgspec

from widget_server import keys
from widget_server.core import scripts


def _outbox() -> tuple[str, str]:
    """A queue of the test's own, and a license id."""
    return f"test:{{mail}}:{secrets.token_hex(6)}:queue", f"org-{secrets.token_hex(6)}"


async def _enqueue(valkey, queue: str, org: str, now: int, max_pending: int = 10, ttl: int = 3600,
                   mail_id: str | None = None) -> tuple[str, int]:
    enqueue = scripts.register(valkey, "enqueue_mail")
    mail_id = mail_id or secrets.token_hex(8)
    done = await enqueue(keys=[queue, keys.mail_pending(org), keys.mail_message(mail_id)],
                         args=[mail_id, org, b'{"body":1}', now, max_pending, ttl])
    return mail_id, done


def _claimed(reply: list) -> list[str]:
    return [reply[i].decode() for i in range(1, len(reply), 5)]


async def test_enqueue_mail_bounds_a_license_and_queues_an_id_once(valkey):
    """A license's queue holds at most max_pending (another license's is its own), and an id queued again (a caller
    retrying after an error) stays one message."""
    queue, org = _outbox()
    ids = [(await _enqueue(valkey, queue, org, 1000 + i, max_pending=3))[0] for i in range(3)]
    assert (await _enqueue(valkey, queue, org, 2000, max_pending=3))[1] == 0
    assert (await _enqueue(valkey, queue, "other-" + org, 2000, max_pending=3))[1] == 1
    assert (await _enqueue(valkey, queue, org, 2000, max_pending=3, mail_id=ids[0]))[1] == -1
    assert await valkey.zcard(keys.mail_pending(org)) == 3 and await valkey.zcard(queue) == 4
    assert await valkey.ttl(keys.mail_message(ids[0])) > 0  # every queued message expires


async def test_enqueue_mail_stops_counting_messages_whose_hash_expired(valkey):
    """An entry older than the hashes' lifetime no longer holds a place in the license's queue."""
    queue, org = _outbox()
    await _enqueue(valkey, queue, org, 1000, max_pending=1, ttl=10)
    assert (await _enqueue(valkey, queue, org, 5000, max_pending=1, ttl=10))[1] == 0
    assert (await _enqueue(valkey, queue, org, 1000 + 10_001, max_pending=1, ttl=10))[1] == 1


async def test_two_workers_claiming_at_once_never_share_a_message(valkey):
    queue, org = _outbox()
    ids = {(await _enqueue(valkey, queue, org, 1000))[0] for _ in range(6)}
    claim = scripts.register(valkey, "claim_mail")
    replies = await asyncio.gather(*(claim(keys=[queue], args=[2000, 60_000, 4, f"worker{i}"]) for i in range(2)))
    first, second = (_claimed(r) for r in replies)
    assert not set(first) & set(second) and set(first) | set(second) == ids
    assert len(first) + len(second) == 6
    # all are leased: nobody claims them again before the leases end
    assert _claimed(await claim(keys=[queue], args=[3000, 60_000, 10, "worker3"])) == []


async def test_a_claim_that_runs_out_is_taken_over_and_the_old_worker_can_no_longer_settle(valkey):
    """A worker that died mid-send: after its lease the message is claimed again (attempt 2); when the old worker
    comes back to settle, nothing changes."""
    queue, org = _outbox()
    mail_id, _ = await _enqueue(valkey, queue, org, 1000)
    claim = scripts.register(valkey, "claim_mail")
    settle = scripts.register(valkey, "settle_mail")
    first = await claim(keys=[queue], args=[1000, 5000, 4, "dead"])
    assert _claimed(first) == [mail_id] and int(first[4]) == 1
    assert _claimed(await claim(keys=[queue], args=[5999, 5000, 4, "other"])) == []
    second = await claim(keys=[queue], args=[6000, 5000, 4, "alive"])
    assert _claimed(second) == [mail_id] and int(second[4]) == 2
    sent = [mail_id, "dead", "sent", 0, "", "", 10, 60, 60]
    assert await settle(keys=[queue, keys.mail_message(mail_id)], args=sent) == 0
    assert await valkey.zscore(queue, mail_id) == 11000  # still the live claim's
    assert await settle(keys=[queue, keys.mail_message(mail_id)], args=[mail_id, "alive", *sent[2:]]) == 1
    assert await valkey.zcard(queue) == 0 and await valkey.zcard(keys.mail_pending(org)) == 0
    # the sent message leaves a marker: the same id is not queued again while it lives
    assert await valkey.hget(keys.mail_message(mail_id), "body") is None
    assert (await _enqueue(valkey, queue, org, 7000, mail_id=mail_id))[1] == -1


async def test_settle_mail_retry_makes_it_due_later_and_failed_keeps_a_bounded_list(valkey):
    queue, org = _outbox()
    claim = scripts.register(valkey, "claim_mail")
    settle = scripts.register(valkey, "settle_mail")
    mail_id, _ = await _enqueue(valkey, queue, org, 1000)
    await claim(keys=[queue], args=[1000, 5000, 4, "w"])
    assert await settle(keys=[queue, keys.mail_message(mail_id)],
                        args=[mail_id, "w", "retry", 9000, "451 later", "", 10, 60, 60]) == 1
    assert await valkey.zscore(queue, mail_id) == 9000
    assert await valkey.hget(keys.mail_message(mail_id), "error") == b"451 later"
    assert _claimed(await claim(keys=[queue], args=[8999, 5000, 4, "w2"])) == []
    # give up three messages on a list that keeps two: the newest two stay
    for n in range(3):
        if n:
            mail_id, _ = await _enqueue(valkey, queue, org, 10_000 + n)
        token = f"w{n}x"
        assert _claimed(await claim(keys=[queue], args=[20_000, 5000, 4, token])) == [mail_id]
        record = msgspec.json.encode({"id": mail_id, "n": n})
        assert await settle(keys=[queue, keys.mail_message(mail_id)],
                            args=[mail_id, token, "failed", 0, "550 no", record, 2, 60, 60]) == 1
        assert not await valkey.exists(keys.mail_message(mail_id))
    failed = [msgspec.json.decode(x)["n"] for x in await valkey.lrange(keys.mail_failed(org), 0, -1)]
    assert failed == [2, 1]
    assert await valkey.ttl(keys.mail_failed(org)) > 0
    assert await valkey.zcard(queue) == 0 and await valkey.zcard(keys.mail_pending(org)) == 0
    await valkey.delete(keys.mail_failed(org))


async def test_claim_mail_drops_an_entry_whose_hash_expired(valkey):
    queue, org = _outbox()
    mail_id, _ = await _enqueue(valkey, queue, org, 1000)
    await valkey.delete(keys.mail_message(mail_id))  # as its TTL would
    claim = scripts.register(valkey, "claim_mail")
    assert await claim(keys=[queue], args=[2000, 5000, 4, "w"]) == [-1]
    assert await valkey.zcard(queue) == 0
