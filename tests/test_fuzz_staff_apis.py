"""Fuzz of the APIs staff call: every Agent Chat API, Configuration API and Reports API action, enumerated from the
dispatch tables (a new action is fuzzed without anyone writing a template), gets bodies shaped like its request type
with hostile values in every field (extreme integers and dates, huge, empty and odd strings, long lists, deep
free-form values). A token is no reason to trust input: every answer is 200 or LiveChat's typed error, never a 5xx.

Each action runs on a license of its own (an owner's and a normal agent's calls alternate, a customer's chat open),
so one that deletes or revokes something changes nothing for the next. The examples are the same every run."""

from __future__ import annotations

import random
import secrets

import httpx
from msgspec import inspect as mi

from tests.support import CustomerClient
from widget_server.api.dispatch import AGENT_ACTIONS, CONFIGURATION_ACTIONS
from widget_server.bootstrap import create_agent, create_license
from widget_server.core.reports import REPORTS
from widget_server.protocol.errors import ErrorType
from widget_server.protocol.reports import ReportRequest

EXAMPLES = 10
"""Bodies per action (per report): ~1,600 requests in all."""
INTS = [-1, 0, 1, 7, 2**31, 2**53 + 1, -(2**63), 2**63 - 1, 10**6]
STRS = ["", "a" * 3000, "\x00", "../../x", "0", "1", "x", "2020-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
        "0000-01-01T00:00:00Z", "1970-01-01T00:00:00+25:00", "http://127.0.0.1:1/", "javascript:alert(1)",
        "=cmd|' /C calc'!A0", "\u202e\ufeff", "a:b:c", "*", "%", "{}", "agent", "group", "all", "Europe/Nowhere"]
KNOWN_ERRORS = set(ErrorType.__args__)  # type: ignore[attr-defined]


def _deep(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


def shaped(rnd: random.Random, t: object, depth: int = 0) -> object:
    """A value of type ``t`` (a msgspec type description) with hostile contents."""
    if isinstance(t, mi.Metadata):
        return shaped(rnd, t.type, depth)
    if isinstance(t, mi.IntType):
        return rnd.choice(INTS)
    if isinstance(t, mi.FloatType):
        return rnd.choice([0.0, -1.5, 1e308])
    if isinstance(t, mi.StrType):
        return rnd.choice(STRS)
    if isinstance(t, mi.BoolType):
        return rnd.random() < 0.5
    if isinstance(t, mi.LiteralType):
        return rnd.choice(list(t.values))
    if isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return [shaped(rnd, t.item_type, depth + 1) for _ in range(rnd.choice([0, 1, 3, 30]))] if depth < 4 else []
    if isinstance(t, mi.TupleType):
        return [shaped(rnd, x, depth + 1) for x in t.item_types]
    if isinstance(t, mi.DictType):
        n = rnd.choice([0, 1, 3, 20]) if depth < 4 else 0
        return {f"{shaped(rnd, t.key_type, depth + 1)}{i}": shaped(rnd, t.value_type, depth + 1) for i in range(n)}
    if isinstance(t, mi.AnyType):
        return rnd.choice([_deep(rnd.choice([5, 40, 200])), {"k": "v" * 1000}, "x", 1, None,
                           {str(i): i for i in range(300)}])
    if isinstance(t, mi.UnionType):
        return shaped(rnd, rnd.choice(t.types), depth)
    if isinstance(t, (mi.StructType, mi.DataclassType)):
        out = {f.encode_name: shaped(rnd, f.type, depth + 1) for f in t.fields if f.required or rnd.random() < 0.6}
        if isinstance(t, mi.StructType) and t.tag_field:
            out[t.tag_field] = t.tag
        return out
    return None


def check(r: httpx.Response, where: str) -> None:
    assert r.status_code < 500, (where, r.status_code, r.text[:300])
    if r.status_code != 200:
        assert r.json()["error"]["type"] in KNOWN_ERRORS, (where, r.text[:300])


async def _staff(valkey, server) -> tuple[list[str], CustomerClient]:
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    org = creds["organization_id"]
    normal = await create_agent(valkey, org, f"n-{secrets.token_hex(4)}@example.com", "Nora", "normal", 5,
                                [(0, "normal")])
    customer = await CustomerClient(server.url, org).authorize()
    await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hi"}]}}})
    return [creds["owner"]["personal_access_token"], normal["personal_access_token"]], customer


async def test_every_agent_configuration_and_reports_action_survives_hostile_bodies(server, valkey):
    rnd = random.Random(21)
    calls = [(f"/v3.6/{api}/action/{action}", spec.request) for api, table in
             (("agent", AGENT_ACTIONS), ("configuration", CONFIGURATION_ACTIONS)) for action, spec in table.items()]
    calls += [(f"/v3.6/reports/{path}", ReportRequest) for path in REPORTS]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for path, request_type in calls:
            tokens, customer = await _staff(valkey, server)
            try:
                info = mi.type_info(request_type)
                for i in range(EXAMPLES):
                    body = shaped(rnd, info)
                    r = await http.post(path, json=body, headers={"Authorization": f"Bearer {tokens[i % 2]}"})
                    check(r, f"{path} {str(body)[:300]}")
            finally:
                await customer.aclose()
