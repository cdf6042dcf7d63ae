"""The wizard's save script (``widget/versions.py``) with its KEYS and ARGV on the session's real Valkey."""

from __future__ import annotations

import asyncio
import secrets

from widget_server import keys
from widget_server.core import scripts


def _keys() -> list[str]:
    org = f"w{secrets.token_hex(6)}"
    return [keys.license_config(org), keys.wizard_versions(org), keys.wizard_version_seq(org)]


async def test_save_wizard_version_refuses_a_save_over_a_configuration_changed_since_it_was_read(valkey):
    """Two owners saving from the same page at once: one save is kept with its version, the other is told (-1) to
    read again, instead of silently undoing the first."""
    save = scripts.register(valkey, "save_wizard_version")
    k = _keys()
    await valkey.set(k[0], "v0")
    results = await asyncio.gather(*(save(keys=k, args=["v0", f"v{i}", 50, "initial", f"record{i}"])
                                     for i in (1, 2)))
    assert sorted(results) == [-1, 2]
    winner = 1 if results[0] == 2 else 2
    assert await valkey.get(k[0]) == f"v{winner}".encode()
    # the first save also kept the settings it replaced, as version 1
    assert await valkey.hgetall(k[1]) == {b"1": b"initial", b"2": f"record{winner}".encode()}


async def test_save_wizard_version_keeps_the_newest_versions_only(valkey):
    save = scripts.register(valkey, "save_wizard_version")
    k = _keys()
    current = ""  # no configuration yet
    for i in range(1, 6):
        assert await save(keys=k, args=[current, f"c{i}", 3, "", f"r{i}"]) == i  # ("" initial: none recorded)
        current = f"c{i}"
    assert sorted(await valkey.hkeys(k[1])) == [b"3", b"4", b"5"]
    assert await valkey.get(k[2]) == b"5"
