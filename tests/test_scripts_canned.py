"""The canned responses' write script (``core/canned.py``) with its KEYS and ARGV on the session's real Valkey."""

from __future__ import annotations

import asyncio
import json
import secrets

from widget_server import keys
from widget_server.core import scripts

FIXED = json.dumps({"scope": "agent", "created_by": "ann@example.com"})


def _keys() -> list[str]:
    org = f"c{secrets.token_hex(6)}"
    return [keys.canned_responses(org, "ann@example.com"), keys.canned_seq(org)]


async def test_canned_put_keeps_an_owners_count_within_its_bound_under_concurrent_creates(valkey):
    """Ten creates at once against a bound of three: three are stored, seven are told the owner is full (-1)."""
    put = scripts.register(valkey, "canned_put")
    k = _keys()
    results = await asyncio.gather(*(put(keys=k, args=["", f"s{i}", f"text {i}", 3, FIXED, "now"]) for i in range(10)))
    assert sorted(r for r in results if r == -1) == [-1] * 7
    assert await valkey.hlen(k[0]) == 3
    stored = [json.loads(v) for v in await valkey.hvals(k[0])]
    assert sorted(r["id"] for r in stored) == [1, 2, 3] and {r["scope"] for r in stored} == {"agent"}


async def test_canned_put_gives_a_shortcut_to_one_response_of_an_owner(valkey):
    put = scripts.register(valkey, "canned_put")
    k = _keys()
    results = await asyncio.gather(*(put(keys=k, args=["", "hello", f"hi {i}", 10, FIXED, "now"]) for i in range(5)))
    assert sorted(r for r in results if r == -2) == [-2] * 4 and await valkey.hlen(k[0]) == 1
    other = json.loads(await put(keys=k, args=["", "bye", "bye!", 10, FIXED, "now"]))
    # renaming one to a taken shortcut is refused, keeping its own is not; a missing id is told (-3)
    assert await put(keys=k, args=[str(other["id"]), "hello", "", 10, "", "later"]) == -2
    same = json.loads(await put(keys=k, args=[str(other["id"]), "bye", "see you", 10, "", "later"]))
    assert same == {**other, "text": "see you", "updated_at": "later"}
    assert await put(keys=k, args=["999", "x", "", 10, "", "later"]) == -3
