"""Configuration API part 2 through LiveChat's official Python SDK (lc-sdk-python 0.4.2, ``ConfigurationApiV36``),
unchanged, over TLS: one call of each method; and a suspended agent's request to be unsuspended reaching the owner's
mailbox.

The server has a Valkey of its own: it sends mail, and every mail-sending server on one Valkey shares one outbox."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Iterator

import httpx
import pytest

pytest.importorskip("livechat", reason="lc-sdk-python is not installed")

from livechat.configuration.base import ConfigurationApi

from tests.support import LiveServer, start_valkey
from tests.support.mail import SmtpInbox
from widget_server.bootstrap import create_license
from widget_server.valkey import connect


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory) -> Iterator[tuple[LiveServer, SmtpInbox]]:
    valkey = start_valkey()
    with SmtpInbox() as inbox:
        env = {"WIDGET_SMTP_URL": f"smtp://127.0.0.1:{inbox.port}", "WIDGET_MAIL_RETRY_BASE": "0.1"}
        live = LiveServer(tmp_path_factory.mktemp("sdk-config"), valkey.connection_url, tls_names=[], env=env).start()
        try:
            yield live, inbox
        finally:
            live.stop()
            valkey.stop()


@pytest.fixture
async def creds(mail_server) -> dict:
    live, _ = mail_server
    client = connect(live.env["WIDGET_VALKEY_URL"])
    try:
        return await create_license(client, f"sdk-{secrets.token_hex(6)}@example.com", "pw")
    finally:
        await client.aclose()


def basic(account_id: str, token: str) -> str:
    """LiveChat's personal access token form: ``Basic base64(account_id:token)``."""
    return "Basic " + base64.b64encode(f"{account_id}:{token}".encode()).decode()


def ok(response: httpx.Response) -> object:
    assert response.status_code == 200, (str(response.request.url), response.status_code, response.text)
    return response.json()


def client(live: LiveServer, authorization: str):
    api = ConfigurationApi.get_client(token=authorization, version="3.6", base_url=f"127.0.0.1:{live.port}",
                                      verify=False, disable_logging=True)
    assert api.api_url == f"https://127.0.0.1:{live.port}/v3.6/configuration/action"
    return api


async def test_every_part_two_method_through_the_sdk(request, mail_server, creds):
    live, _ = mail_server
    owner = creds["owner"]
    api = client(live, basic(owner["account_id"], owner["personal_access_token"]))
    request.addfinalizer(api.session.close)

    zed = f"zed-{secrets.token_hex(4)}@example.com"
    made = ok(api.create_agent(id=zed, name="Zed"))
    assert ok(api.suspend_agent(id=zed)) == {}
    assert ok(api.get_agent(id=zed))["suspended"] is True
    as_zed = client(live, basic(zed, made["personal_access_token"]))
    request.addfinalizer(as_zed.session.close)
    assert ok(as_zed.request_agent_unsuspension()) == {}
    refused = as_zed.list_channels()
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "requester_suspended"
    assert ok(api.unsuspend_agent(id=zed)) == {}
    assert ok(api.approve_agent(id=zed)) == {}
    assert ok(api.reactivate_email(agent_id=zed)) == {}

    two, three = (f"{n}-{secrets.token_hex(4)}@example.com" for n in ("two", "three"))
    created = ok(api.batch_create_agents(requests=[{"id": two, "name": "Two"}, {"id": three, "name": "Three"}]))
    assert [r["id"] for r in created["responses"]] == [two, three]
    assert ok(api.batch_update_agents(requests=[{"id": two, "job_title": "Lead"}])) == {"responses": [{}]}
    assert ok(api.batch_suspend_agents(requests=[{"id": two}])) == {"responses": [{}]}
    assert ok(api.batch_unsuspend_agents(requests=[{"id": two}])) == {"responses": [{}]}
    assert ok(api.batch_approve_agents(requests=[{"id": two}])) == {"responses": [{}]}
    assert ok(api.batch_delete_agents(requests=[{"id": two}, {"id": three}])) == {"responses": [{}, {}]}

    bots = ok(api.batch_create_bots(requests=[{"name": "B1", "owner_client_id": "app"}]))["responses"]
    assert ok(api.batch_update_bots(requests=[{"id": bots[0]["id"], "name": "B2"}])) == {"responses": [{}]}
    assert set(ok(api.reset_bot_secret(id=bots[0]["id"], owner_client_id="app"))) == {"secret"}
    assert ok(api.batch_delete_bots(requests=[{"id": bots[0]["id"]}])) == {"responses": [{}]}

    template = ok(api.create_bot_template(name="Tmpl", owner_client_id="app", max_chats_count=3,
                                          default_group_priority="first"))
    assert set(template) == {"id", "secret"}
    assert ok(api.update_bot_template(id=template["id"], name="Tmpl 2", owner_client_id="app")) == {}
    listed = ok(api.list_bot_templates(owner_client_id="app"))
    assert listed == [{"id": template["id"], "name": "Tmpl 2", "owner_client_id": "app", "max_chats_count": 3,
                       "default_group_priority": "first"}]
    assert set(ok(api.reset_bot_template_secret(id=template["id"], owner_client_id="app"))) == {"secret"}
    assert ok(api.delete_bot_template(id=template["id"], owner_client_id="app")) == {}

    names = ok(api.list_webhook_names(version="3.6"))
    assert {"action": "agent_suspended", "filters": ["source_type"]} in names
    assert ok(api.disable_license_webhooks(owner_client_id="app")) == {}
    assert ok(api.get_license_webhooks_state(owner_client_id="app")) == {"license_webhooks_enabled": False}
    assert ok(api.enable_license_webhooks(owner_client_id="app")) == {}
    assert ok(api.get_license_webhooks_state(owner_client_id="app")) == {"license_webhooks_enabled": True}

    [channel] = ok(api.list_channels())
    assert channel["channel_type"] == "code"
    assert ok(api.check_product_limits_for_plan(plan="enterprise")) == []
    assert ok(api.get_product_source())["source_type"] == "self_hosted"
    assert ok(api.update_company_details(company="Acme", country="Norway", enrich=False)) == {}
    assert ok(api.get_company_details()) == {"company": "Acme", "country": "Norway"}


async def test_a_suspended_agent_asks_the_owner_by_mail_once_a_day(mail_server, creds):
    live, inbox = mail_server
    owner = creds["owner"]
    async with httpx.AsyncClient(base_url=live.url, verify=live.ssl_context, timeout=10) as http:
        async def call(authorization: str, action: str, payload: dict) -> httpx.Response:
            return await http.post(f"/v3.6/configuration/action/{action}", json=payload,
                                   headers={"Authorization": authorization})

        as_owner = basic(owner["account_id"], owner["personal_access_token"])
        zed = f"zed-{secrets.token_hex(4)}@example.com"
        made = (await call(as_owner, "create_agent", {"id": zed, "name": "Zed Zedson"})).json()
        as_zed = basic(zed, made["personal_access_token"])
        r = await call(as_zed, "request_agent_unsuspension", {})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"  # not suspended: nothing to ask
        assert (await call(as_owner, "suspend_agent", {"id": zed})).status_code == 200

        assert (await call(as_zed, "request_agent_unsuspension", {})).status_code == 200
        again = await call(as_zed, "request_agent_unsuspension", {})
        assert again.status_code == 429 and again.json()["error"]["type"] == "too_many_requests"
        deadline = asyncio.get_running_loop().time() + 20
        while not any(m["To"] == owner["account_id"] for m in inbox.messages):
            assert asyncio.get_running_loop().time() < deadline, "no mail reached the owner"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # (a second mail would arrive here)
        [mail] = [m for m in inbox.messages if m["To"] == owner["account_id"]]
        assert "Zed Zedson" in mail["Subject"]
        assert zed in mail.get_body(("plain",)).get_content()
        # nothing else of the agent's was sent: no token in the mail
        assert made["personal_access_token"] not in mail.as_string()
