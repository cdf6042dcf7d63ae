"""The Valkey client ``connect`` builds: valkey-py's asyncio client with commands packed by libvalkey's C packer,
which must send what valkey-py's own packer sends and refuse what it refuses, with its errors."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from valkey.asyncio.connection import Connection, UnixDomainSocketConnection
from valkey.exceptions import DataError
from valkey.utils import LIBVALKEY_AVAILABLE

from widget_server.valkey import Coalescer, _packing_in_c


@pytest.mark.parametrize("cls", [Connection, UnixDomainSocketConnection])
def test_commands_pack_to_the_same_bytes_as_valkey_py_packs_them(cls):
    assert LIBVALKEY_AVAILABLE, "libvalkey is a dependency (pyproject.toml): without it valkey-py packs in Python"
    ours, theirs = _packing_in_c(cls)(), cls()
    assert _packing_in_c(cls) is type(ours) and issubclass(type(ours), cls)
    for command in [
        ("SET", "k", "é ünïcode"), ("HSET", b"h", b"\x00\xff", 12, -3, 1.5, 10**20),
        ("EVALSHA", "a" * 40, 1, "ws:{x}:tr:id:1", memoryview(b"packed")), ("CLIENT SETNAME", "worker"),
        (b"CONFIG GET", b"maxmemory"), ("SET", "big", b"x" * 100_000), ("ZADD", "z", 0.1, "a", 1 / 3, "b", 1e20, "c"),
    ]:
        assert b"".join(ours.pack_command(*command)) == b"".join(theirs.pack_command(*command)), command
    for bad in (True, None, bytearray(b"x"), object()):
        with pytest.raises(DataError):
            ours.pack_command("SET", "k", bad)


async def test_the_app_s_client_round_trips_values_and_errors(valkey):
    key = f"test:{secrets.token_hex(4)}"
    await valkey.hset(key, mapping={"n": 7, "s": "é", "b": b"\x00\x01"})
    assert await valkey.hgetall(key) == {b"n": b"7", b"s": "é".encode(), b"b": b"\x00\x01"}
    assert (await valkey.execute_command("CLIENT SETNAME", "packed-in-c")) in (True, b"OK")
    assert await valkey.execute_command("CLIENT GETNAME") in ("packed-in-c", b"packed-in-c")
    with pytest.raises(DataError):
        await valkey.set(key, True)
    await valkey.delete(key)


async def test_coalesced_calls_each_get_their_own_reply_or_error(valkey):
    script = valkey.register_script("if ARGV[1] == 'boom' then return redis.error_reply('boom') end "
                                    "return redis.call('INCRBY', KEYS[1], ARGV[1])")
    calls = Coalescer(valkey, script)
    key = f"test:{secrets.token_hex(4)}"
    results = await asyncio.gather(*(calls([key], [n if n != 5 else "boom"]) for n in range(1, 11)),
                                   return_exceptions=True)
    assert isinstance(results[4], Exception) and "boom" in str(results[4])
    # each call its own reply (calls in flight at once may run in either order: callers that need an order wait)
    totals = [r for r in results if not isinstance(r, Exception)]
    assert len(set(totals)) == 9 and max(totals) == sum(range(1, 11)) - 5 == int(await valkey.get(key))
    await valkey.delete(key)
