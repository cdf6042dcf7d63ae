"""Customer Chat API v3.6 breadth, through the real server over Web and RTM: a customer deletes their own message
(and only theirs; agents keep it, as LiveChat shows it to each role), asks for a link preview (fetched with the
webhooks' address guard, bounded, cached, rate-limited), has their e-mail address verified by a mailed link, clicks a
greeting's button, reads the license's and a group's properties without a token, asks who would take their chat,
gets ``type`` in their Customer object, keeps what ``customer_side_storage_updated`` tells them to, and hears
``groups_status_updated`` when the owner deletes the last agent accepting chats."""

from __future__ import annotations

import asyncio
import http.server
import json
import re
import secrets
import threading
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

from tests.support import CustomerClient, LiveServer, WebhookReceiver, configure, free_port, serve_http, start_valkey
from tests.support.mail import SmtpInbox
from widget_server.bootstrap import create_license
from widget_server.valkey import connect

from .test_greetings import ORIGIN, loader_call


@pytest.fixture
def team(owner_team):
    """A license's owner, its agent (group 0, role ``normal``) and a customer."""
    return owner_team


def message(text: str, **extra) -> dict:
    return {"type": "message", "text": text, **extra}


def error_of(response) -> str:
    return response.json()["error"]["type"]


# --- delete_event ------------------------------------------------------------------------------------------------------


async def test_a_customer_deletes_their_own_message_and_everyone_hears_it(team):
    owner, agent, customer = team
    await agent.ok("set_routing_status", {"status": "accepting_chats"})
    agent_sock = await agent.rtm()
    sock = await customer.rtm()
    hook = WebhookReceiver()
    hook.__enter__()
    try:
        r = await configure(owner, "register_webhook", {"action": "event_deleted", "secret_key": "s3cret",
                                                        "url": hook.url, "owner_client_id": "app", "type": "license"})
        assert r.status_code == 200, r.text
        started = (await sock.request("start_chat", {"chat": {"thread": {"events": [message("hello")]}}}))["payload"]
        chat_id, thread_id = started["chat_id"], started["thread_id"]
        oops = (await sock.request("send_event", {"chat_id": chat_id, "event": message("my card is 4111 1111")}))
        oops_id = oops["payload"]["event_id"]
        # a client cannot send an event already "deleted"
        sneaky = await customer.ok("send_event", {"chat_id": chat_id, "event": message("kept", deleted=True)})
        mine = await agent.ok("send_event", {"chat_id": chat_id, "event": message("agent's words")})

        # over RTM: the customer's other sockets and the agent hear event_deleted
        reply = await sock.request("delete_event", {"chat_id": chat_id, "thread_id": thread_id, "event_id": oops_id})
        assert reply["success"] is True and reply["payload"] == {}
        expected = {"chat_id": chat_id, "thread_id": thread_id, "event_id": oops_id}
        assert (await sock.push("event_deleted"))["payload"] == expected
        assert (await agent_sock.push("event_deleted"))["payload"] == expected
        [(_, delivered)] = await hook.wait_for(1)
        delivered = json.loads(delivered)
        assert delivered["action"] == "event_deleted" and delivered["payload"] == expected

        # gone from every customer answer
        thread = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]
        texts = [e.get("text") for e in thread["events"]]
        assert "my card is 4111 1111" not in texts and "hello" in texts and "kept" in texts
        listed = (await customer.ok("list_threads", {"chat_id": chat_id}))["threads"][0]["events"]
        assert oops_id not in [e["id"] for e in listed]
        # an agent of the normal role sees a placeholder, the owner the original marked deleted
        [placeholder] = [e for e in (await agent.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
                         if e["id"] == oops_id]
        assert placeholder["deleted"] is True and placeholder["type"] == "message" and "text" not in placeholder
        assert placeholder["author_id"] == customer.id
        [original] = [e for e in (await owner.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
                      if e["id"] == oops_id]
        assert original["deleted"] is True and original["text"] == "my card is 4111 1111"

        # deleting it again (a retry after a lost answer): {} and no second push
        await customer.ok("delete_event", {"chat_id": chat_id, "thread_id": thread_id, "event_id": oops_id})
        await agent_sock.no_push("event_deleted", wait=0.5)

        # the last message deleted: list_chats' last message is not it any more
        last = await customer.ok("send_event", {"chat_id": chat_id, "event": message("last words")})
        await customer.ok("delete_event", {"chat_id": chat_id, "thread_id": thread_id, "event_id": last["event_id"]})
        summary = (await customer.ok("list_chats"))["chats_summary"][0]
        assert summary["last_event_per_type"].get("message", {}).get("event", {}).get("id") != last["event_id"]
        # agents' summaries: the normal role gets the placeholder, the owner the event marked deleted
        [mine_listed] = (await agent.ok("list_chats"))["chats_summary"]
        assert mine_listed["last_event_per_type"]["message"]["event"] == {
            "id": last["event_id"], "type": "message", "deleted": True, "author_id": customer.id,
            "created_at": mine_listed["last_event_per_type"]["message"]["event"]["created_at"], "visibility": "all"}
        [owners] = [c for c in (await owner.ok("list_chats"))["chats_summary"] if c["id"] == chat_id]
        assert owners["last_event_per_type"]["message"]["event"]["text"] == "last words"
        assert owners["last_event_per_type"]["message"]["event"]["deleted"] is True

        # not someone else's: the agent's message, a system message, another customer's chat, a made-up id
        r = await customer.call("delete_event", {"chat_id": chat_id, "thread_id": thread_id,
                                                 "event_id": mine["event_id"]})
        assert r.status_code == 403 and error_of(r) == "authorization"
        other = await CustomerClient(customer.base_url, customer.org).authorize()
        try:
            r = await other.call("delete_event", {"chat_id": chat_id, "thread_id": thread_id,
                                                  "event_id": sneaky["event_id"]})
            assert error_of(r) == "authorization"
        finally:
            await other.aclose()
        r = await customer.call("delete_event", {"chat_id": chat_id, "thread_id": thread_id,
                                                 "event_id": f"{thread_id}_999"})
        assert error_of(r) == "not_found"
        # a 3.6 method: a 3.5 client does not have it
        r = await customer.call("delete_event", {"chat_id": chat_id, "thread_id": thread_id,
                                                 "event_id": sneaky["event_id"]}, version="3.5")
        assert r.status_code == 400 and error_of(r) == "validation"
        assert "kept" in [e.get("text") for e in (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]]
        # archived: the same rule in list_archives
        await customer.ok("deactivate_chat", {"id": chat_id})
        [archived] = [c for c in (await agent.ok("list_archives"))["chats"] if c["id"] == chat_id]
        [placeholder] = [e for e in archived["thread"]["events"] if e["id"] == oops_id]
        assert placeholder["deleted"] is True and "text" not in placeholder
    finally:
        hook.__exit__(None, None, None)
        await sock.close()
        await agent_sock.close()


async def test_a_rich_messages_buttons_keep_who_toggled_them_and_everyone_hears_event_updated(team):
    _, agent, customer = team
    await agent.ok("set_routing_status", {"status": "accepting_chats"})
    agent_sock = await agent.rtm()
    sock = await customer.rtm()
    try:
        started = await customer.ok("start_chat", {"chat": {"thread": {"events": [message("which size?")]}}})
        chat_id, thread_id = started["chat_id"], started["thread_id"]
        card = {"type": "rich_message", "template_id": "quick_replies", "elements": [{"title": "Size", "buttons": [
            {"text": "S", "type": "message", "value": "S", "postback_id": "size_s"},
            {"text": "M", "type": "message", "value": "M", "postback_id": "size_m"}]}]}
        event_id = (await agent.ok("send_event", {"chat_id": chat_id, "event": card}))["event_id"]
        postback = {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id,
                    "postback": {"id": "size_m", "toggled": True}}
        assert (await sock.request("send_rich_message_postback", postback))["success"]
        for s in (sock, agent_sock):
            updated = (await s.push("event_updated"))["payload"]
            assert updated["chat_id"] == chat_id and updated["thread_id"] == thread_id
            assert updated["event"]["id"] == event_id
            assert [b.get("user_ids") for b in updated["event"]["elements"][0]["buttons"]] == [None, [customer.id]]
        # the same toggle again changes nothing: no event_updated; toggled off: the customer leaves user_ids
        await customer.ok("send_rich_message_postback", postback)
        await agent_sock.no_push("event_updated", wait=0.5)
        await customer.ok("send_rich_message_postback", {**postback, "postback": {"id": "size_m", "toggled": False}})
        updated = (await agent_sock.push("event_updated"))["payload"]
        assert updated["event"]["elements"][0]["buttons"][1]["user_ids"] == []
        stored = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
        assert next(e for e in stored if e["id"] == event_id)["elements"][0]["buttons"][1]["user_ids"] == []
        # a button no event has: the postback is relayed as before, nothing is updated
        await customer.ok("send_rich_message_postback", {**postback, "postback": {"id": "nope", "toggled": True}})
        await agent_sock.no_push("event_updated", wait=0.3)
    finally:
        await sock.close()
        await agent_sock.close()


# --- get_url_info ------------------------------------------------------------------------------------------------------

PAGE = b"""<!doctype html><html><head><title>Plain title</title>
<meta property="og:title" content="Winter sale &amp; more">
<meta property="og:description" content="  Everything   half price.  ">
<meta property="og:image" content="/img/sale.png"><meta property="og:image:width" content="1200">
<meta property="og:image:height" content="630"><meta name="description" content="not this one">
</head><body>""" + b"<p>filler</p>" * 100_000 + b"</body></html>"


class Site(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[dict[str, int]] = {}
    lock = threading.Lock()
    redirect_to = ""
    release = threading.Event()

    def do_GET(self) -> None:
        with self.lock:
            Site.hits[self.path] = Site.hits.get(self.path, 0) + 1
        if self.path.startswith("/away"):
            self.send_response(302)
            self.send_header("Location", Site.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/late-title"):  # the title only after more than the server reads of a page
            body = b"<html><head>" + b'<meta name="x" content="y">' * 30_000 + b"<title>Too far</title></head>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if self.path.startswith("/hang"):  # a page that starts and never ends
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"<html><head>")
            self.wfile.flush()
            Site.release.wait(30)
            return
        if self.path.startswith("/moved"):
            self.send_response(301)
            self.send_header("Location", "/sale")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = PAGE if self.path.startswith("/sale") else b"<title>x</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stops reading after its byte limit

    def log_message(self, *args) -> None:
        pass


async def test_link_previews_are_fetched_safely_once_and_within_limits(team):
    _, _, customer = team
    Site.hits = {}
    with serve_http(Site) as site:
        url = f"{site}/sale?x={secrets.token_hex(4)}"
        info = await customer.ok("get_url_info", {"url": url})
        assert info == {"url": url, "title": "Winter sale & more", "description": "Everything half price.",
                        "image_url": f"{site}/img/sale.png", "image_original_url": f"{site}/img/sale.png",
                        "image_width": 1200, "image_height": 630}
        # the same over RTM, from the cache: the page is fetched once
        sock = await customer.rtm()
        try:
            again = await sock.request("get_url_info", {"url": url})
            assert again["success"] and again["payload"] == info
        finally:
            await sock.close()
        assert Site.hits[urlsplit(url).path + "?" + urlsplit(url).query] == 1
        # a redirect on the same site is followed; one to an address webhooks may not reach is not
        moved = await customer.ok("get_url_info", {"url": f"{site}/moved"})
        assert moved["title"] == "Winter sale & more" and moved["url"] == f"{site}/moved"
        port = urlsplit(site).port
        # (the test servers allow 127.0.0.1/32 only, as WIDGET_WEBHOOK_ALLOWED_NETWORKS)
        for target in (f"http://127.0.0.2:{port}/secret", "http://169.254.169.254/latest/meta-data",
                       f"http://[::ffff:127.0.0.2]:{port}/secret"):
            Site.redirect_to = target
            r = await customer.call("get_url_info", {"url": f"{site}/away?{secrets.token_hex(3)}"})
            assert r.status_code == 400 and error_of(r) == "validation", (target, r.text)
        for bad in ("http://10.0.0.1/", "http://[::1]/", "file:///etc/passwd", "javascript:alert(1)", "nope"):
            r = await customer.call("get_url_info", {"url": bad})
            assert r.status_code == 400 and error_of(r) == "validation", (bad, r.text)
        assert not [path for path in Site.hits if path.startswith("/secret")]
        # bounded: what lies past WIDGET_URL_INFO_MAX_BYTES (512 KiB) is never read; a page that never ends is given
        # up after WIDGET_URL_INFO_TIMEOUT (5 s, within this client's 10 s)
        assert "title" not in await customer.ok("get_url_info", {"url": f"{site}/late-title"})
        Site.release.clear()
        try:
            r = await customer.call("get_url_info", {"url": f"{site}/hang"})
            assert r.status_code == 400 and error_of(r) == "validation"
        finally:
            Site.release.set()


async def test_link_previews_are_rate_limited_per_customer(team, server):
    _, _, customer = team
    Site.hits = {}
    with serve_http(Site) as site:
        answers = [await customer.call("get_url_info", {"url": f"{site}/p{i}"}) for i in range(45)]
        codes = [r.status_code for r in answers]
        # WIDGET_URL_INFO_PER_MINUTE (20): the pages over it are refused and not fetched (even if a minute turns
        # during the calls, at most 40 of them get through)
        assert codes.count(429) >= 1 and {error_of(r) for r in answers if r.status_code == 429} == {
            "too_many_requests"}
        assert sum(Site.hits.values()) == codes.count(200)
        # another customer has their own budget; cached previews cost nothing
        other = await CustomerClient(server.url, customer.org).authorize()
        try:
            assert (await other.call("get_url_info", {"url": f"{site}/p0"})).status_code == 200
        finally:
            await other.aclose()


# --- request_email_verification ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mail_valkey():
    server = start_valkey()
    yield server
    server.stop()


async def test_a_customer_verifies_their_email_by_a_mailed_link(mail_valkey, tmp_path):
    with SmtpInbox() as inbox, WebhookReceiver() as callback:
        env = {"WIDGET_SMTP_URL": f"smtp://127.0.0.1:{inbox.port}", "WIDGET_MAIL_FROM": "Help <help@shop.example>",
               "WIDGET_MAIL_RETRY_BASE": "0.1", "WIDGET_EMAIL_VERIFICATIONS_PER_HOUR": "2"}
        port = free_port()  # (the mailed link's base is WIDGET_PUBLIC_URL)
        env["WIDGET_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        server = LiveServer(tmp_path, mail_valkey.connection_url, env=env, port=port).start()
        valkey = connect(mail_valkey.connection_url)
        creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
        customer = await CustomerClient(server.url, creds["organization_id"]).authorize()
        try:
            # an address first; a callback webhooks could not reach is refused at once
            r = await customer.call("request_email_verification", {"callback_uri": callback.url})
            assert r.status_code == 400 and error_of(r) == "validation"
            await customer.ok("update_customer", {"email": "anna@visitor.example"})
            r = await customer.call("request_email_verification", {"callback_uri": "http://10.1.2.3/hook"})
            assert error_of(r) == "validation"
            # a Web method: not on RTM
            sock = await customer.rtm()
            reply = await sock.request("request_email_verification", {"callback_uri": callback.url})
            assert reply["success"] is False and reply["payload"]["error"]["type"] == "validation"
            await sock.close()

            assert await customer.ok("request_email_verification", {"callback_uri": callback.url}) == {}
            [mail] = await inbox.wait_for(1)
            assert mail["To"] == "anna@visitor.example"
            link = re.search(r"https?://\S+", mail.get_body(("plain",)).get_content()).group(0)
            # bounded: two mails an hour here
            assert await customer.ok("request_email_verification", {"callback_uri": callback.url}) == {}
            r = await customer.call("request_email_verification", {"callback_uri": callback.url})
            assert r.status_code == 429 and error_of(r) == "too_many_requests"
            assert (await customer.ok("get_customer")).get("email_verified") is None

            # opening the link verifies nothing (mail scanners open links); its button does
            page = await customer.http.get(link)
            assert page.status_code == 200 and "<form" in page.text
            assert (await customer.ok("get_customer")).get("email_verified") is None
            done = await customer.http.post(link)
            assert done.status_code == 200 and "confirmed" in done.text
            me = await customer.ok("get_customer")
            assert me["email_verified"] is True and me["type"] == "customer"
            [(_, body)] = await callback.wait_for(1)
            assert json.loads(body) == {"email": "anna@visitor.example", "customer_id": customer.id,
                                        "organization_id": creds["organization_id"]}
            # a forged link verifies nothing
            bad = await customer.http.post(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
            assert bad.status_code == 400

            # verified already: the callback comes at once, no mail (and the hourly bound does not apply)
            assert await customer.ok("request_email_verification", {"callback_uri": callback.url}) == {}
            await callback.wait_for(2)
            await asyncio.sleep(0.3)
            assert len(inbox.messages) == 2
            # a new address is not verified
            await customer.ok("update_customer", {"email": "anna@elsewhere.example"})
            assert (await customer.ok("get_customer")).get("email_verified") is None
            assert (await customer.http.post(link)).status_code == 400  # the old link is for the old address
        finally:
            await customer.aclose()
            await valkey.aclose()
            server.stop()


# --- greetings' buttons ------------------------------------------------------------------------------------------------


async def test_clicks_on_a_greetings_buttons_are_counted_for_the_owner(server, team):
    owner, agent, customer = team
    gid = (await configure(owner, "create_greeting", {"name": "Hi", "text": "Need help?", "group": 0})).json()["id"]
    await agent.ok("set_routing_status", {"status": "accepting_chats"})
    visitor = CustomerClient(server.url, customer.org)
    try:
        shown = await loader_call(visitor, "visit", f"{ORIGIN}/")
        visitor.token = shown["token"]
        unique_id = shown["greeting"]["unique_id"]
        assert await visitor.ok("send_greeting_button_clicked", {"greeting_unique_id": unique_id,
                                                                 "button_id": "b1"}) == {}
        sock = await visitor.rtm()
        reply = await sock.request("send_greeting_button_clicked", {"greeting_unique_id": unique_id,
                                                                    "button_id": "b2"})
        assert reply["success"] is True
        await sock.close()
        # another customer's, or a forged, unique id counts nothing
        r = await customer.call("send_greeting_button_clicked", {"greeting_unique_id": unique_id, "button_id": "b1"})
        assert r.status_code == 404 and error_of(r) == "greeting_not_found"
        r = await visitor.call("send_greeting_button_clicked", {"greeting_unique_id": "x.y", "button_id": "b1"})
        assert error_of(r) == "greeting_not_found"
        view = (await configure(owner, "get_greeting", {"id": gid})).json()
        assert view["statistics"] == {"button_clicks": 2}
    finally:
        await visitor.aclose()


# --- properties over GET -----------------------------------------------------------------------------------------------


async def test_license_and_group_properties_are_read_with_get_and_no_token(team):
    owner, _, customer = team
    r = await configure(owner, "update_license_properties", {"properties": {
        "shop": {"currency": "EUR", "tagline": "Best prices"}, "other": {"x": 1}}})
    assert r.status_code == 200, r.text
    get = customer.http.get
    url = "/v3.6/customer/action/list_license_properties"
    everything = (await get(url, params={"organization_id": customer.org})).json()
    assert everything["shop"] == {"currency": "EUR", "tagline": "Best prices"} and everything["other"] == {"x": 1}
    assert (await get(url, params={"organization_id": customer.org, "namespace": "shop", "name": "currency"})).json() \
        == {"shop": {"currency": "EUR"}}
    assert (await get(url, params={"organization_id": customer.org, "namespace": "nope"})).json() == {}
    # the SDK sends its token anyway: accepted and ignored (a POST with a token answers the same, as the other
    # GET methods do)
    r = await get(url, params={"organization_id": customer.org}, headers={"Authorization": "Bearer whatever"})
    assert r.status_code == 200 and r.json() == everything
    assert await customer.ok("list_license_properties", {"namespace": "other"}) == {"other": {"x": 1}}

    groups = "/v3.6/customer/action/list_group_properties"
    assert (await get(groups, params={"organization_id": customer.org, "id": "0"})).json() == {}
    # registered properties: a customer sees one only with the customer's read right where it lives (defaults too)
    for definition in (
            {"name": "plan", "owner_client_id": "crm", "type": "string", "default_value": "free",
             "access": {"license": {"agent": ["read", "write"], "customer": ["read"]}}},
            {"name": "secret", "owner_client_id": "crm", "type": "string",
             "access": {"license": {"agent": ["read", "write"]}, "group": {"agent": ["read", "write"]}}},
            {"name": "tier", "owner_client_id": "crm", "type": "int", "default_value": 1,
             "access": {"group": {"agent": ["read", "write"], "customer": ["read"]}}}):
        r = await configure(owner, "register_property", definition)
        assert r.status_code == 200, r.text
    for body in ({"properties": {"crm": {"secret": "s3"}}},):
        assert (await configure(owner, "update_license_properties", body)).status_code == 200
    r = await configure(owner, "update_group_properties", {"group_id": 0, "properties": {"crm": {"secret": "g",
                                                                                               "tier": 3}}})
    assert r.status_code == 200, r.text
    assert (await get(url, params={"organization_id": customer.org, "namespace": "crm"})).json() == {
        "crm": {"plan": "free"}}
    assert (await get(groups, params={"organization_id": customer.org, "id": "0"})).json() == {"crm": {"tier": 3}}
    # and the widget's configuration shows visitors no more of the license's properties than that
    config = (await get("/v3.6/customer/action/get_configuration",
                        params={"organization_id": customer.org, "group_id": "0", "version": "x"})).json()
    assert config["properties"]["license"]["crm"] == {"plan": "free"}
    r = await get(groups, params={"organization_id": customer.org, "id": "77"})
    assert error_of(r) == "group_not_found"
    r = await get(groups, params={"organization_id": customer.org})
    assert error_of(r) == "validation"
    r = await get(url, params={"organization_id": "no-such-license"})
    assert error_of(r) == "license_not_found"


# --- the Customer object, predicted agent, side storage, group statuses --------------------------------------------


async def test_the_customer_object_says_it_is_a_customer(team):
    _, _, customer = team
    assert (await customer.ok("get_customer"))["type"] == "customer"
    sock = await customer.rtm()
    try:
        assert (await sock.request("get_customer"))["payload"]["type"] == "customer"
        await customer.ok("update_customer", {"name": "Zoe"})
        pushed = (await sock.push("customer_updated"))["payload"]
        assert pushed == {"id": customer.id, "type": "customer", "name": "Zoe"}
    finally:
        await sock.close()


async def test_the_predicted_agent_is_who_routing_would_pick_and_nothing_is_assigned(team):
    _, agent, customer = team
    r = await customer.call("get_predicted_agent")
    assert r.status_code == 400 and error_of(r) == "group_offline"
    await agent.ok("set_routing_status", {"status": "accepting_chats"})
    # asked more often than the agent may take chats (6): a prediction counts nothing against them
    for _ in range(8):
        predicted = await customer.ok("get_predicted_agent")
        assert predicted["queue"] is False and predicted["agent"]["id"] == agent.id
        assert predicted["agent"]["type"] == "agent" and predicted["agent"]["is_bot"] is False
    sock = await customer.rtm()
    try:
        reply = await sock.request("get_predicted_agent")
        assert reply["success"] and reply["payload"]["agent"]["id"] == agent.id
    finally:
        await sock.close()
    chat_id = (await customer.ok("start_chat"))["chat_id"]
    users = (await customer.ok("get_chat", {"chat_id": chat_id}))["users"]
    assert agent.id in [u["id"] for u in users]
    statuses = await agent.ok("list_routing_statuses")
    assert next(s for s in statuses if s["agent_id"] == agent.id)["status"] == "accepting_chats"


async def test_the_client_is_told_what_to_keep_in_its_side_storage(team):
    _, _, customer = team
    sock = await customer.rtm()
    try:
        storage = (await sock.push("customer_side_storage_updated"))["payload"]["customer_side_storage"]
        assert set(storage) == {"customer_visits"} and int(storage["customer_visits"]) >= 1
    finally:
        await sock.close()
    # a login that brings it back is told nothing; the client's own keys are kept
    sock = await customer.rtm(customer_side_storage={**storage, "mine": "1"})
    try:
        await sock.no_push("customer_side_storage_updated", wait=0.5)
    finally:
        await sock.close()
    sock = await customer.rtm(customer_side_storage={"mine": "1"})
    try:
        pushed = (await sock.push("customer_side_storage_updated"))["payload"]["customer_side_storage"]
        assert pushed == {**storage, "mine": "1"}
    finally:
        await sock.close()


async def test_the_3_6_pushes_agents_cause_may_be_subscribed_to(team):
    _, _, customer = team
    wanted = ["incoming_event_preview", "incoming_thinking_indicator", "incoming_multicast", "incoming_event"]
    sock = await customer.rtm(pushes={"3.6": wanted})
    try:
        assert sock.login["customer"]["id"] == customer.id
        chat_id = (await customer.ok("start_chat", {"continuous": True}))["chat_id"]
        await customer.ok("send_event", {"chat_id": chat_id, "event": message("hi")})
        assert (await sock.push("incoming_event"))["payload"]["event"]["text"] == "hi"
        await sock.no_push("customer_side_storage_updated", wait=0.2)  # not subscribed: not sent
    finally:
        await sock.close()


async def test_customers_hear_a_group_go_offline_when_its_last_accepting_agent_is_deleted(team):
    owner, agent, customer = team
    sock = await customer.rtm()
    try:
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        assert (await sock.push("groups_status_updated"))["payload"] == {"groups": [{"id": 0, "status": "online"}]}
        r = await configure(owner, "delete_agent", {"id": agent.id})
        assert r.status_code == 200, r.text
        assert (await sock.push("groups_status_updated"))["payload"] == {"groups": [{"id": 0, "status": "offline"}]}
        assert (await customer.ok("list_group_statuses", {"all": True}))["groups_status"] == {"0": "offline"}
    finally:
        await sock.close()


async def test_a_thirty_five_connection_gets_no_3_6_method(team):
    _, _, customer = team
    sock = await customer.rtm(version="3.5")
    try:
        reply = await sock.request("send_greeting_button_clicked", {"greeting_unique_id": "a", "button_id": "b"})
        assert reply["success"] is False and reply["payload"]["error"]["type"] == "validation"
    finally:
        await sock.close()
