"""Canned responses over the Agent API (issue 18; this server's extension actions): an agent keeps their own, the
license's are shared and changed by owners and administrators only, shortcuts are unique per owner, and an owner's
count and a text's size are bounded. Real server processes on a real Valkey."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from tests.support import AgentClient, LiveServer
from widget_server.bootstrap import create_agent, create_license


@pytest.fixture(scope="module")
def small_server(tmp_path_factory, valkey_url) -> LiveServer:
    """A server with small bounds: three canned responses per owner, texts of at most 40 characters."""
    live = LiveServer(tmp_path_factory.mktemp("canned"), valkey_url,
                      env={"WIDGET_CANNED_PER_OWNER": "3", "WIDGET_CANNED_TEXT_MAX": "40"}).start()
    yield live
    live.stop()


async def _team(url: str, valkey) -> tuple[AgentClient, AgentClient, AgentClient]:
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    org = creds["organization_id"]
    owner = AgentClient(url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    ann = AgentClient(url, creds["agent"]["account_id"], creds["agent"]["personal_access_token"])
    email = f"bob-{secrets.token_hex(4)}@example.com"
    bob = AgentClient(url, email, (await create_agent(valkey, org, email, "Bob", "normal"))["personal_access_token"])
    return owner, ann, bob


@pytest.fixture
async def canned_team(server, valkey) -> AsyncIterator[tuple[AgentClient, AgentClient, AgentClient]]:
    people = await _team(server.url, valkey)
    yield people
    for client in people:
        await client.aclose()


async def test_agents_keep_their_own_canned_responses_and_share_the_licenses(canned_team):
    owner, ann, bob = canned_team
    mine = await ann.ok("create_canned_response", {"shortcut": "hello", "text": "Hello {{customer.name}}!"})
    assert mine["id"] > 0
    # an agent cannot change the license's
    refused = await ann.call("create_canned_response", {"shortcut": "refund", "text": "Refunds take 5 days.",
                                                        "scope": "license"})
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "authorization"
    shared = await owner.ok("create_canned_response", {"shortcut": "refund", "text": "Refunds take 5 days.",
                                                       "scope": "license"})
    listed = (await ann.ok("list_canned_responses"))["canned_responses"]
    assert [(c["shortcut"], c["scope"], c["text"]) for c in listed] == [
        ("hello", "agent", "Hello {{customer.name}}!"), ("refund", "license", "Refunds take 5 days.")]
    assert listed[0]["created_by"] == ann.id and listed[1]["created_by"] == owner.id
    # Bob sees the license's, not Ann's; he cannot change Ann's nor the license's
    assert [c["shortcut"] for c in (await bob.ok("list_canned_responses"))["canned_responses"]] == ["refund"]
    assert (await bob.call("delete_canned_response", {"id": mine["id"]})).status_code == 404
    assert (await bob.call("update_canned_response", {"id": shared["id"], "text": "No."})).status_code == 403
    # Ann changes hers; the owner changes the license's; one scope listed alone
    await ann.ok("update_canned_response", {"id": mine["id"], "text": "Hi {{customer.name}}, how can I help?"})
    await owner.ok("update_canned_response", {"id": shared["id"], "shortcut": "refunds"})
    only_license = (await ann.ok("list_canned_responses", {"scope": "license"}))["canned_responses"]
    assert [(c["shortcut"], c["text"]) for c in only_license] == [("refunds", "Refunds take 5 days.")]
    await ann.ok("delete_canned_response", {"id": mine["id"]})
    assert [c["shortcut"] for c in (await ann.ok("list_canned_responses"))["canned_responses"]] == ["refunds"]
    assert (await ann.call("delete_canned_response", {"id": mine["id"]})).status_code == 404


async def test_a_shortcut_names_one_response_of_an_owner(canned_team):
    _, ann, bob = canned_team
    await ann.ok("create_canned_response", {"shortcut": "hi", "text": "Hi!"})
    again = await ann.call("create_canned_response", {"shortcut": "hi", "text": "Hello!"})
    assert again.status_code == 400 and again.json()["error"]["type"] == "validation"
    await bob.ok("create_canned_response", {"shortcut": "hi", "text": "Bob's hi"})  # another owner: fine


@pytest.mark.parametrize("payload", [{}, {"shortcut": "has space", "text": "x"}, {"shortcut": "", "text": "x"},
                                     {"shortcut": "x" * 65, "text": "x"}, {"shortcut": "ok", "text": ""},
                                     {"shortcut": "ok", "text": "x", "scope": "everyone"},
                                     {"shortcut": "ok", "text": "x", "extra": 1}, {"shortcut": ["ok"], "text": "x"}])
async def test_bad_canned_responses_get_validation_errors(canned_team, payload):
    _, ann, _ = canned_team
    r = await ann.call("create_canned_response", payload)
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation", r.text


async def test_an_owners_count_and_a_texts_size_are_bounded(small_server, valkey):
    owner, ann, bob = await _team(small_server.url, valkey)
    try:
        long = await ann.call("create_canned_response", {"shortcut": "long", "text": "x" * 41})
        assert long.status_code == 400 and "40" in long.json()["error"]["message"]
        # six at once against a bound of three: three stored, the others refused with limit_reached
        answers = await asyncio.gather(*(ann.call("create_canned_response", {"shortcut": f"s{i}", "text": "t"})
                                         for i in range(6)))
        assert sorted(r.status_code for r in answers) == [200] * 3 + [429] * 3
        assert {r.json()["error"]["type"] for r in answers if r.status_code != 200} == {"limit_reached"}
        assert len((await ann.ok("list_canned_responses", {"scope": "agent"}))["canned_responses"]) == 3
        # the license's have a bound of their own
        await owner.ok("create_canned_response", {"shortcut": "a", "text": "t", "scope": "license"})
    finally:
        for client in (owner, ann, bob):
            await client.aclose()


async def test_canned_responses_over_rtm(server, canned_team):
    _, ann, _ = canned_team
    sock = await ann.rtm()
    try:
        made = await sock.request("create_canned_response", {"shortcut": "rtm", "text": "Over the socket"})
        assert made["success"], made
        listed = await sock.request("list_canned_responses", {})
        assert [c["shortcut"] for c in listed["payload"]["canned_responses"]] == ["rtm"]
    finally:
        await sock.close()
