"""Property-based fuzzing of the widget's HTTP endpoints on the live server: mutated loader calls
(``POST /v1/widget/visit``) and random query strings for the frame, the configuration and the snippet.

For every input: never a 5xx; every error body is LiveChat's ``{"error": {"type", "message"}}`` with a known,
non-``internal`` type and the status that type maps to; every 200 of the visit call is a visit answer."""

from __future__ import annotations

import json
import typing
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from widget_server.protocol.errors import HTTP_STATUS, ErrorType

ERROR_TYPES = frozenset(typing.get_args(ErrorType)) - {"internal"}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64), st.floats(allow_nan=False),
                    st.text(max_size=40), st.just("x" * 5000))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=12)


def base_body(org: str) -> dict[str, Any]:
    return {"type": "visit", "cfg": {"organization_id": org, "group": 0, "customer": {"name": "A", "email": "a@b.c"},
                                     "session_variables": {"plan": "gold"}},
            "url": "https://shop.example/", "title": "Home", "referrer": "https://ref.example/"}


PATHS = [("type",), ("cfg",), ("cfg", "organization_id"), ("cfg", "group"), ("cfg", "customer"),
         ("cfg", "customer", "name"), ("cfg", "session_variables"), ("cfg", "user_id"), ("cfg", "user_hash"),
         ("cfg", "preview"), ("url",), ("title",), ("token",), ("cst",), ("extra",)]


@st.composite
def mutated(draw: st.DrawFn, org: str) -> bytes:
    body = base_body(org)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        target = body
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        if draw(st.booleans()):
            target[path[-1]] = draw(values)
        else:
            target.pop(path[-1], None)
    raw = json.dumps(body).encode()
    tail = draw(st.sampled_from([b"", b"", b"}", b"\xff\xfe", b"[" * 2000]))
    return raw + tail


def check_error(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.headers.get("content-type", "").startswith("application/json"), (r.status_code, r.text[:300])
        error = r.json()["error"]
        assert error["type"] in ERROR_TYPES, error
        assert r.status_code == HTTP_STATUS.get(error["type"], 400), (r.status_code, error)
        assert isinstance(error["message"], str)


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_loader_s_visit_call_never_fails_on_bad_input(client, org, data):
    body = data.draw(mutated(org))
    r = client.post("/v1/widget/visit", content=body, headers={"Content-Type": "text/plain"})
    check_error(r)
    if r.status_code == 200:
        answer = r.json()
        assert set(answer) >= {"token", "customer_id", "availability"}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/widget/frame", "/v1/widget/config", "/widget/snippet", "/demo"]),
       params=st.dictionaries(st.sampled_from(["organization_id", "group_id", "lang", "preview", "nonce", "origin"]),
                              st.text(max_size=30), max_size=4),
       use_org=st.booleans(), auth=st.sampled_from([None, "Bearer x", "Bearer dal:abc.def", "Basic Zm9vOmJhcg=="]),
       language=st.text(max_size=40))
def test_the_frame_config_and_snippet_refuse_bad_queries_cleanly(client, org, path, params, use_org, auth, language):
    if use_org:
        params["organization_id"] = org
    language = "".join(ch for ch in language if 32 < ord(ch) < 127)
    headers = {"Accept-Language": language} if language else {}
    if auth:
        headers["Authorization"] = auth
    check_error(client.get(path, params=params, headers=headers))


# --- deep, huge and wide values in the loader's calls (issue 17), and the agents afterwards -----------------------

hostile = st.sampled_from([
    "[" * 40 + "]" * 40, "[" * 990 + "]" * 990, '{"a":' * 300 + "0" + "}" * 300, '"' + "x" * 70_000 + '"',
    "[" + ",".join(["0"] * 20_000) + "]", '{"k":' + "[" * 990 + "]" * 990 + "}",
])


@st.composite
def hostile_visit(draw: st.DrawFn, org: str) -> bytes:
    """A valid visit with one to three fields replaced by a deep, huge or wide JSON value (spliced in as text: the
    deepest ones cannot be built as Python values)."""
    body = base_body(org)
    marks = {}
    for i, path in enumerate(draw(st.lists(st.sampled_from(PATHS[1:]), min_size=1, max_size=3, unique=True))):
        target = body
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[path[-1]] = f"@mark{i}@"
        marks[f'"@mark{i}@"'] = draw(hostile)
    raw = json.dumps(body)
    for mark, value in marks.items():
        raw = raw.replace(mark, value)
    return raw.encode()


@pytest.fixture
async def agent_token(valkey, org) -> str:
    import secrets

    from widget_server.bootstrap import create_agent

    creds = await create_agent(valkey, org, f"wf-{secrets.token_hex(4)}@example.com", "Ada", "administrator")
    return creds["personal_access_token"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_deep_huge_and_wide_values_in_the_loader_s_calls_never_fail_and_leave_agents_working(client, server, org,
                                                                                           agent_token, data):
    from websockets.sync.client import connect

    body = data.draw(hostile_visit(org))
    check_error(client.post("/v1/widget/visit", content=body, headers={"Content-Type": "text/plain"}))
    headers = {"Authorization": f"Bearer {agent_token}"}
    for action in ("list_chats", "list_customers"):
        r = client.post(f"/v3.6/agent/action/{action}", json={}, headers=headers)
        assert r.status_code == 200, (action, r.status_code, r.text[:300])
    with connect(f"{server.ws_url}/v3.6/agent/rtm/ws", max_size=None) as ws:
        ws.send(json.dumps({"action": "login", "request_id": "1", "payload": {"token": f"Bearer {agent_token}",
                                                                             "away": True}}))
        assert json.loads(ws.recv(timeout=10))["success"]
