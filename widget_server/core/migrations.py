"""The data's schema version and the ordered migrations that bring an older store up to it.

``keys.SCHEMA_VERSION`` holds the version of the last migration applied (missing: 0, a store from before versions).
``migrate`` runs at every start-up, before the workers start (``widget-server serve``), and on demand
(``widget-server migrate``); one process migrates at a time (valkey-py's lock), the others wait and then find the work
done. Each migration records its version as soon as it is done, and is idempotent, so a migration cut short by a
crash is simply run again. A server refuses to start on data newer than it understands (``SchemaTooNew``): an older
release could not know what a newer one's records mean.

Migrations, in order:

1. ``expire_browsing_customers``: customer records from before the customer record expiry (anyone can make one with a
   page load; ``customer_visit.lua`` now gives each an expiry) that have no chat and no ban get the expiry new
   records get (``WIDGET_TRACKING_RETENTION_DAYS``), so they no longer stay for good.
2. ``number_licenses``: every license gets LiveChat's numeric license id (``licenses.assign_license_number``; new
   licenses get theirs when created), eight digits drawn at random.
3. ``greeting_rules_in_36_names``: greetings' ``referrer`` rules (this server's name before the Configuration API's
   3.6 greetings) are kept as LiveChat's ``url_referrer``, so ``get_greeting`` answers LiveChat's names.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from .. import keys
from . import scripts
from .licenses import assign_license_number

log = logging.getLogger("widget_server.migrations")


class SchemaTooNew(RuntimeError):
    """The store was migrated by a newer release than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Any, int], Awaitable[int]]
    """``apply(valkey, customer_ttl)``: does the work and returns how many records it changed."""


SCAN_BATCH = 500


async def expire_browsing_customers(r: Any, customer_ttl: int) -> int:
    """Give every customer record without an expiry, a chat or a ban the expiry a browsing visitor's record has
    (``expire_browsing_customer.lua`` checks and sets it in one step per record)."""
    script = scripts.register(r, "expire_browsing_customer")
    changed = 0
    batch: list[bytes] = []

    async def settle(batch: list[bytes]) -> int:
        async with r.pipeline(transaction=False) as p:
            for key in batch:
                cid = key.decode().split("{", 1)[1].rsplit("}", 1)[0]
                await script(keys=[key, keys.customer_chats(cid)], args=[customer_ttl], client=p)  # (queued)
            return sum(int(n) for n in await p.execute())

    async for key in r.scan_iter(match=f"{keys.P}:{{*}}:cust", count=SCAN_BATCH, _type="hash"):
        batch.append(key)
        if len(batch) >= SCAN_BATCH:
            changed += await settle(batch)
            batch = []
    if batch:
        changed += await settle(batch)
    return changed


async def number_licenses(r: Any, customer_ttl: int) -> int:
    """Give every license without one a numeric license id, in the order the licenses were created."""
    found = []
    async for key in r.scan_iter(match=f"{keys.P}:{{*}}:license", count=SCAN_BATCH, _type="hash"):
        org, created, number = await r.hmget(key, ["organization_id", "created_at", "license_id"])
        if org is not None:
            found.append((created or b"", org.decode(), number is None))
    for _, org, _new in sorted(found):
        await assign_license_number(r, org)  # (also writes the lookup of a license numbered before a crash)
    return sum(1 for *_, new in found if new)


async def greeting_rules_in_36_names(r: Any, customer_ttl: int) -> int:
    """Rename greetings' ``referrer`` rules to ``url_referrer`` in every license configuration. The configuration is
    read as plain JSON (nothing else in it changes) and written back only if nobody changed it meanwhile (the
    store's compare-and-set script; a lost race is read again)."""
    cas = scripts.register(r, "set_string_if_unchanged")
    changed = 0
    async for key in r.scan_iter(match=f"{keys.P}:{{*}}:config", count=SCAN_BATCH, _type="string"):
        while True:
            raw = await r.get(key)
            if raw is None:
                break
            config = msgspec.json.decode(raw)
            greetings = config.get("greetings") if isinstance(config, dict) else None
            renamed = 0
            for greeting in greetings or []:
                for rule in greeting.get("rules") or []:
                    if rule.get("type") == "referrer":
                        rule["type"] = "url_referrer"
                        renamed += 1
            if not renamed:
                break
            if await cas(keys=[key], args=["1", raw, msgspec.json.encode(config)]):
                changed += 1
                break
    return changed


MIGRATIONS: list[Migration] = [
    Migration(1, "expire_browsing_customers", expire_browsing_customers),
    Migration(2, "number_licenses", number_licenses),
    Migration(3, "greeting_rules_in_36_names", greeting_rules_in_36_names),
]
CURRENT = MIGRATIONS[-1].version
"""The schema version this release writes and understands."""


async def schema_version(r: Any) -> int:
    raw = await r.get(keys.SCHEMA_VERSION)
    return int(raw) if raw is not None else 0


def _check(version: int) -> None:
    if version > CURRENT:
        raise SchemaTooNew(f"the data in Valkey has schema version {version}, newer than this release understands "
                           f"({CURRENT}): run the release that wrote it (or a newer one)")


async def migrate(r: Any, customer_ttl: int, lock_seconds: int = 600, wait_seconds: float = 900) -> list[str]:
    """Apply the pending migrations in order; returns the names of those applied here (none when the data is current
    or another process applied them). Raises ``SchemaTooNew`` on data newer than ``CURRENT``."""
    version = await schema_version(r)
    _check(version)
    if version == CURRENT:
        return []
    applied: list[str] = []
    # valkey-py's lock: a token per holder, released only by its holder, expiring if the holder dies
    async with r.lock(keys.SCHEMA_LOCK, timeout=lock_seconds, blocking_timeout=wait_seconds):
        version = await schema_version(r)  # (another process may have migrated while this one waited)
        _check(version)
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue
            changed = await migration.apply(r, customer_ttl)
            await r.set(keys.SCHEMA_VERSION, migration.version)
            log.info("migration %d %s applied (%d records changed)", migration.version, migration.name, changed)
            applied.append(migration.name)
    return applied


async def reapply_since(r: Any, version: int, customer_ttl: int, lock_seconds: int = 600,
                        wait_seconds: float = 900) -> list[str]:
    """Run the migrations after ``version`` again on the whole store (they are idempotent): records restored from a
    license's backup of that schema version into a store already migrated past it (``widget-server restore``)."""
    applied: list[str] = []
    async with r.lock(keys.SCHEMA_LOCK, timeout=lock_seconds, blocking_timeout=wait_seconds):
        for migration in MIGRATIONS:
            if migration.version > version:
                await migration.apply(r, customer_ttl)
                applied.append(migration.name)
    return applied
