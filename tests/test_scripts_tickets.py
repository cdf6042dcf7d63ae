"""The tickets' scripts (``core/tickets.py``) with their KEYS and ARGV on the session's real Valkey: a thread makes its
ticket once and every write keeps the ticket's expiry, a gone ticket is never recreated by a late write, and a full
thread refuses more. Ticket ids are the test's own."""

from __future__ import annotations

import secrets

import pytest
from valkey.exceptions import ResponseError

from widget_server import keys
from widget_server.core import scripts


def _ticket() -> str:
    return keys.ticket(secrets.token_hex(5).upper())


async def test_open_ticket_writes_a_thread_s_ticket_once_with_its_expiry(valkey):
    """A second open (a retry, another worker) changes nothing, and the ticket expires with its retention."""
    open_ticket = scripts.register(valkey, "open_ticket")
    key = _ticket()
    assert await open_ticket(keys=[key], args=[600, "status", "open", "subject", "first"]) == 1
    assert await open_ticket(keys=[key], args=[600, "status", "solved", "subject", "second"]) == 0
    assert await valkey.hmget(key, ["status", "subject"]) == [b"open", b"first"]
    assert 0 < await valkey.ttl(key) <= 600


async def test_ticket_message_appends_in_order_refuses_a_full_or_gone_ticket_and_restarts_the_expiry(valkey):
    message = scripts.register(valkey, "ticket_message")
    key = _ticket()
    with pytest.raises(ResponseError, match="not_found"):  # never a hash without its fields and expiry
        await message(keys=[key], args=[600, 3, b'{"text":"x"}', "t0", ""])
    assert not await valkey.exists(key)
    await scripts.register(valkey, "open_ticket")(keys=[key], args=[60, "status", "solved", "seq", "1", "m:1", "a"])
    assert await message(keys=[key], args=[600, 3, b"b", "t1", "open"]) == 2
    assert await message(keys=[key], args=[600, 3, b"c", "t2", ""]) == 3
    with pytest.raises(ResponseError, match="limit_reached"):
        await message(keys=[key], args=[600, 3, b"d", "t3", ""])
    assert await valkey.hmget(key, ["m:2", "m:3", "status", "updated_at"]) == [b"b", b"c", b"open", b"t2"]
    assert 60 < await valkey.ttl(key) <= 600


async def test_ticket_fields_sets_only_a_ticket_that_exists(valkey):
    fields = scripts.register(valkey, "ticket_fields")
    key = _ticket()
    assert await fields(keys=[key], args=[600, "status", "solved"]) == 0 and not await valkey.exists(key)
    await scripts.register(valkey, "open_ticket")(keys=[key], args=[60, "status", "open"])
    assert await fields(keys=[key], args=[600, "status", "solved", "email", "a@b.example"]) == 1
    assert await valkey.hmget(key, ["status", "email"]) == [b"solved", b"a@b.example"]
    assert 60 < await valkey.ttl(key) <= 600
