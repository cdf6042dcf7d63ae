"""Tickets and e-mail through the real path: a server process (two granian workers), a real Valkey, a real SMTP
server the outbox sends to (aiosmtpd, ``tests/support/mail.py``) and a real SMTP conversation (aiosmtplib) with the
server's own inbound listener for the visitor's reply.

The outbox is one queue per Valkey, so the mail stories run on a Valkey of their own (as ``test_mail.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, free_port, start_valkey
from tests.support.mail import SmtpInbox
from tests.test_wizard import field_error, make_owner, read_form
from widget_server import keys
from widget_server.api.smtp_inbound import strip_quoted
from widget_server.auth.reply_address import reply_address, ticket_of
from widget_server.auth.signing import Signer
from widget_server.bootstrap import create_license
from widget_server.protocol.config import Group, LicenseConfig
from widget_server.settings import load_settings
from widget_server.valkey import connect


async def config_call(agent: AgentClient, action: str, payload=None) -> dict:
    r = await agent.http.post(f"/v3.6/configuration/action/{action}", json=payload or {},
                              headers={"Authorization": f"Bearer {agent.token}"})
    assert r.status_code == 200, (action, r.status_code, r.text)
    return r.json()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML parts of a message as it arrived."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def listening_workers(live: LiveServer, port: int) -> list[int]:
    """The server's worker processes that hold a listening socket on ``port`` (from /proc: the socket's inode in
    /proc/net/tcp, and which process has it open)."""
    assert live.proc is not None
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    workers = subprocess.run(["pgrep", "-P", str(live.proc.pid)], capture_output=True, text=True,
                             check=False).stdout.split()
    holders = []
    for pid in workers:
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir()):
                holders.append(int(pid))
    return holders


def ticket_form(name: str, email: str, text: str) -> dict:
    return {"type": "filled_form", "form_id": "ticket", "form_type": "ticket", "fields": [
        {"type": "name", "id": "name", "label": "Name:", "answer": name},
        {"type": "email", "id": "email", "label": "E-mail:", "answer": email},
        {"type": "textarea", "id": "message", "label": "Message:", "answer": text}]}


@pytest.fixture(scope="module")
def mail_valkey():
    server = start_valkey()
    yield server
    server.stop()


@pytest.fixture
async def own_valkey(mail_valkey):
    client = connect(mail_valkey.connection_url)
    await client.flushdb()
    yield client
    await client.aclose()


async def test_offline_message_ticket_reply_by_mail_and_the_visitors_answer_comes_back(own_valkey, mail_valkey,
                                                                                      tmp_path):
    """The story of issue 20: a visitor leaves a message while nobody is online; the license's notification address
    gets it by mail; an agent finds the ticket and replies; the reply reaches the visitor's inbox in the visitor's
    language with a signed reply address; the visitor's e-mail answer (quoted history and all) comes back into the
    same ticket through the server's inbound SMTP listener, which refuses anything unsigned, forged or too big."""
    inbound_port = free_port()
    with SmtpInbox() as inbox:
        env = {"WIDGET_SMTP_URL": f"smtp://127.0.0.1:{inbox.port}", "WIDGET_MAIL_FROM": "Help <help@shop.example>",
               "WIDGET_SMTP_INBOUND": f"127.0.0.1:{inbound_port}", "WIDGET_SMTP_INBOUND_MAX_BYTES": "20000",
               "WIDGET_MAIL_RETRY_BASE": "0.1", "WIDGET_TRANSCRIPTS_PER_HOUR": "2"}
        server = LiveServer(tmp_path, mail_valkey.connection_url, workers=2, env=env).start()
        creds = await create_license(own_valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw",
                                     LicenseConfig(groups=[Group(id=0, name="Allgemein", language="de")]))
        org = creds["organization_id"]
        owner = AgentClient(server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
        customer = await CustomerClient(server.url, org).authorize()
        try:
            # the owner sends ticket notifications to the support desk instead of their own inbox
            await config_call(owner, "update_ticket_settings", {"settings": {"notification_email": "desk@shop.example"}})
            assert (await config_call(owner, "get_ticket_settings"))["notification_email"] == "desk@shop.example"
            bad = await owner.http.post("/v3.6/configuration/action/update_ticket_settings",
                                        json={"settings": {"notification_email": "x\r\nBcc: a@b.c"}},
                                        headers={"Authorization": f"Bearer {owner.token}"})
            assert bad.status_code == 400 and bad.json()["error"]["type"] == "validation"

            # the widget's offline form: the visitor's name and e-mail saved on the customer (the widget's
            # saveIdentity), then start_chat with active: false and the filled ticket form
            await customer.ok("update_customer", {"name": "Anna", "email": "anna@visitor.example"})
            started = await customer.ok("start_chat", {"active": False, "chat": {"access": {"group_ids": [0]}, "thread": {
                "events": [ticket_form("Anna", "anna@visitor.example", "Where is my order 1234?")]}}})
            [notice] = await inbox.wait_for(1)
            assert notice["To"] == "desk@shop.example" and "Where is my order 1234?" in notice["Subject"]
            text, html = parts(notice)
            assert "Anna <anna@visitor.example>" in text and "Where is my order 1234?" in text
            assert "Where is my order 1234?" in html and "&lt;anna@visitor.example&gt;" in html  # escaped

            # the agent's side: the ticket is listed, open, with the visitor's words
            listed = await owner.ok("list_tickets", {})
            assert listed["found_tickets"] == 1
            [ticket] = listed["tickets"]
            assert ticket["id"] == started["thread_id"] and ticket["status"] == "open"
            assert ticket["source"] == "offline_message" and ticket["email"] == "anna@visitor.example"
            assert ticket["chat_id"] == started["chat_id"] and ticket["lang"] == "de"
            reply = await owner.ok("reply_ticket", {"id": ticket["id"], "text": "It left our warehouse today."})
            assert reply["emailed"] is True

            # the reply reaches the visitor: German (the group's language), both parts, a signed reply address
            answer = (await inbox.wait_for(2))[1]
            assert answer["To"] == "anna@visitor.example" and answer["Content-Language"] == "de"
            assert answer["Subject"] == f"Re: Where is my order 1234? [#{ticket['id']}]"
            text, html = parts(answer)
            assert text.startswith("Hallo Anna,") and "It left our warehouse today." in text
            assert "Hallo Anna," in html and "It left our warehouse today." in html
            assert "Sie können auf diese E-Mail antworten." in text
            reply_to = answer["Reply-To"].addresses[0].addr_spec
            assert reply_to.startswith(f"help+t{ticket['id'].lower()}.") and reply_to.endswith("@shop.example")
            assert len(reply_to.split("@")[0]) <= 64

            # the visitor answers from their mail program, quoting the agent's mail
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = "Anna <anna@visitor.example>", reply_to, "Re: " + answer["Subject"]
            mail.set_content("Thank you, it arrived!\n\nAnna\n\nOn Fri, 4 Dec 2026 at 10:00, Help <help@shop.example> "
                             "wrote:\n> Hallo Anna,\n> It left our warehouse today.\n")
            await aiosmtplib.send(mail, hostname="127.0.0.1", port=inbound_port, timeout=10)
            got = await owner.ok("get_ticket", {"id": ticket["id"]})
            assert [(m["author_type"], m["via"]) for m in got["messages"]] == [
                ("customer", "form"), ("agent", "agent"), ("customer", "email")]
            assert got["messages"][2]["text"] == "Thank you, it arrived!\n\nAnna"
            assert got["messages"][2]["author_id"] == customer.id
            await inbox.wait_for(3)  # the desk hears of the reply
            assert "Thank you, it arrived!" in parts(inbox.messages[2])[0]

            # refused at SMTP level: no token, a forged tag, a tag for another ticket, a message over the size limit
            for address in ("help@shop.example", reply_to.replace(".", ".x", 1),
                            reply_to.replace(ticket["id"].lower(), "0000000000")):
                with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
                    mail.replace_header("To", address)
                    await aiosmtplib.send(mail, hostname="127.0.0.1", port=inbound_port, timeout=10)
                assert refused.value.recipients[0].code == 550
            mail.replace_header("To", reply_to)
            mail.set_content("x" * 30000)
            with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
                await aiosmtplib.send(mail, hostname="127.0.0.1", port=inbound_port, timeout=10)
            assert too_big.value.code == 552
            assert len((await owner.ok("get_ticket", {"id": ticket["id"]}))["messages"]) == 3

            # solved, the ticket leaves the open list; a new answer by mail opens it again
            await owner.ok("solve_ticket", {"id": ticket["id"]})
            assert (await owner.ok("list_tickets", {}))["found_tickets"] == 0
            assert [t["id"] for t in (await owner.ok("list_tickets", {"status": "solved"}))["tickets"]] == [ticket["id"]]

            # transcripts: the visitor asks for one (to their own address only), at most twice an hour here
            assert (await customer.ok("send_transcript", {"chat_id": started["chat_id"]})) == {}
            transcript = (await inbox.wait_for(4))[3]
            assert transcript["To"] == "anna@visitor.example" and transcript["Content-Language"] == "de"
            assert "Where is my order 1234?" in parts(transcript)[0]
            await customer.ok("send_transcript", {"chat_id": started["chat_id"]})
            limited = await customer.call("send_transcript", {"chat_id": started["chat_id"]})
            assert limited.status_code == 429 and limited.json()["error"]["type"] == "too_many_requests"
            stranger = await CustomerClient(server.url, org).authorize()
            denied = await stranger.call("send_transcript", {"chat_id": started["chat_id"]})
            assert denied.status_code == 403
            await stranger.aclose()

            # a visitor who ticked "send me the transcript" on the pre-chat form gets it when the chat closes
            other = await CustomerClient(server.url, org).authorize()
            await other.ok("update_customer", {"email": "bo@visitor.example", "name": "Bo"})
            chat = await other.ok("start_chat", {"chat": {"thread": {"events": [
                {"type": "filled_form", "form_id": "prechat", "form_type": "prechat", "fields": [
                    {"type": "checkbox", "id": "transcript", "label": "Send me the transcript", "answers": [
                        {"id": "yes", "label": "Yes"}]}]},
                {"type": "message", "text": "Do you ship to Norway?"}]}}})
            await other.ok("deactivate_chat", {"id": chat["chat_id"]})
            messages = await inbox.wait_for(6)
            closing = [m for m in messages if m["To"] == "bo@visitor.example"]
            assert len(closing) == 1 and "Do you ship to Norway?" in parts(closing[0])[0]
            await other.aclose()
            # or, as LiveChat's widget asks for it, with the chat property routing.transcript_email
            third = await CustomerClient(server.url, org).authorize()
            chat = await third.ok("start_chat", {"chat": {"properties": {"routing": {
                "transcript_email": "cy@visitor.example"}}, "thread": {"events": [
                    {"type": "message", "text": "Do you sell gift cards?"}]}}})
            await third.ok("deactivate_chat", {"id": chat["chat_id"]})
            messages = await inbox.wait_for(7)
            assert [m["To"] for m in messages].count("cy@visitor.example") == 1
            assert "Do you sell gift cards?" in parts(next(m for m in messages if m["To"] == "cy@visitor.example"))[0]
            await third.aclose()

            # one worker holds the listener; when it dies, a sibling takes the port over and replies get in again
            [holder] = listening_workers(server, inbound_port)
            os.kill(holder, signal.SIGKILL)
            mail.set_content("One more question.")
            for _ in range(200):
                try:
                    await aiosmtplib.send(mail, hostname="127.0.0.1", port=inbound_port, timeout=10)
                    break
                except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected):
                    await asyncio.sleep(0.1)
            got = await owner.ok("get_ticket", {"id": ticket["id"]})
            assert got["messages"][-1]["text"] == "One more question." and got["status"] == "open"
            [new_holder] = listening_workers(server, inbound_port)
            assert new_holder != holder
        finally:
            await customer.aclose()
            await owner.aclose()
            server.stop()
    assert sum(m["To"] == "bo@visitor.example" for m in inbox.messages) == 1


async def test_a_chat_nobody_takes_in_time_is_a_missed_chat_ticket_and_the_visitor_is_asked_for_email(server, valkey):
    """Nobody accepts chats: a visitor's queued chat passes the license's queue timeout (its own setting, 1 s), so it
    becomes a ticket with the visitor's words; the visitor, whose e-mail is unknown, is asked for it in the chat,
    and the address they give is attached to the ticket. A chat an agent takes in time makes no ticket."""
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    org = creds["organization_id"]
    owner = AgentClient(server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    agent = AgentClient(server.url, creds["agent"]["account_id"], creds["agent"]["personal_access_token"])
    customer = await CustomerClient(server.url, org).authorize()
    try:
        await config_call(owner, "update_ticket_settings", {"settings": {"queue_timeout_seconds": 1}})
        socket = await customer.rtm()
        started = await customer.ok("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "Is anyone there?"}]}}})
        push = await socket.push("incoming_event", timeout=10)
        while push["payload"]["event"].get("system_message_type") != "ask_for_email":
            push = await socket.push("incoming_event", timeout=10)
        assert push["payload"]["chat_id"] == started["chat_id"]
        [ticket] = (await owner.ok("list_tickets", {}))["tickets"]
        assert ticket["source"] == "missed_chat" and ticket["email"] == "" and ticket["subject"] == "Is anyone there?"
        assert ticket["id"] == started["thread_id"]
        # the chat itself is still queued: an agent may still take it
        chat = await customer.ok("get_chat", {"chat_id": started["chat_id"]})
        assert chat["thread"]["active"] is True
        await customer.ok("update_customer", {"email": "cara@visitor.example"})
        assert (await owner.ok("get_ticket", {"id": ticket["id"]}))["email"] == "cara@visitor.example"
        # a message stored while offline without an e-mail (no form asked for one) is a ticket that asks for it too
        third = await CustomerClient(server.url, org).authorize()
        offline = await third.ok("start_chat", {"active": False, "chat": {"thread": {"events": [
            {"type": "message", "text": "Call me back"}]}}})
        events = (await third.ok("get_chat", {"chat_id": offline["chat_id"]}))["thread"]["events"]
        assert [e.get("system_message_type") for e in events if e["type"] == "system_message"] == ["ask_for_email"]
        await third.aclose()
        # a normal agent of another group does not see the tickets
        await config_call(owner, "create_group", {"name": "Sales", "agent_priorities": {}})
        await config_call(owner, "update_agent", {"id": agent.id, "groups": [{"id": 1, "priority": "normal"}]})
        assert (await agent.ok("list_tickets", {}))["tickets"] == []
        denied = await agent.call("get_ticket", {"id": ticket["id"]})
        assert denied.status_code == 403 and denied.json()["error"]["type"] == "authorization"
        # a queued chat an agent takes before the timeout (3 s now) is no ticket
        await config_call(owner, "update_ticket_settings", {"settings": {"queue_timeout_seconds": 3}})
        second = await CustomerClient(server.url, org).authorize()
        taken = await second.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "Hello"}]}}})
        await config_call(owner, "update_agent", {"id": agent.id, "groups": [{"id": 0, "priority": "normal"}]})
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        chat = await second.ok("get_chat", {"chat_id": taken["chat_id"]})
        assert agent.id in [u["id"] for u in chat["users"]]
        entry = f"{org} {taken['chat_id']} {taken['thread_id']}"
        assert await valkey.zscore(keys.MISSED_DUE, entry) is not None  # it was queued, with a deadline
        for _ in range(200):  # until the timer has looked at it (past its deadline) and let it go
            if await valkey.zscore(keys.MISSED_DUE, entry) is None:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the missed-chat timer never decided the queued chat")
        assert [t["id"] for t in (await owner.ok("list_tickets", {}))["tickets"]] == [offline["thread_id"], ticket["id"]]
        await second.aclose()
        await socket.close()
    finally:
        await customer.aclose()
        await owner.aclose()
        await agent.aclose()


def test_quoted_history_and_signatures_are_stripped_from_replies():
    assert strip_quoted("Yes please.\n\nOn Mon, 1 Dec 2026, Help <help@shop.example> wrote:\n> old") == "Yes please."
    assert strip_quoted("Ja.\r\n\r\nAm 01.12.2026 um 10:00 schrieb Help <help@shop.example>:\r\n> alt") == "Ja."
    assert strip_quoted("Oui\n\nLe lun. 1 déc. 2026, Help a écrit :\n> vieux") == "Oui"
    assert strip_quoted("Fine\n-----Original Message-----\nFrom: Help\nold") == "Fine"
    assert strip_quoted("Ok\n________________________________\nFrom: Help <h@s.e>\nSent: today") == "Ok"
    assert strip_quoted("Thanks\n-- \nAnna Example\nCEO") == "Thanks"
    assert strip_quoted("Top\n> quoted line\nbottom") == "Top\nbottom"
    assert strip_quoted("Sure\n\nOn Mon, 1 Dec 2026 at 10:00, Help Desk\n<help@shop.example> wrote:\n> x") == "Sure"


def test_reply_addresses_are_signed_per_ticket_and_server():
    signer, other = Signer(b"k" * 32), Signer(b"q" * 32)
    address = reply_address(signer, "Help Desk <help+old@shop.example>", "ABCDE12345")
    local = address.split("@")[0]
    assert address.startswith("help+tabcde12345.") and address.endswith("@shop.example") and len(local) <= 64
    assert ticket_of(signer, address) == "ABCDE12345"
    assert ticket_of(signer, address.upper()) == "ABCDE12345"  # mail systems may change the case
    assert ticket_of(other, address) is None  # another server's (or a guessed) tag
    assert ticket_of(signer, address.replace("abcde12345", "abcde12346")) is None
    assert ticket_of(signer, "help@shop.example") is None and ticket_of(signer, "help+t1.2@shop.example") is None


def test_ticket_settings_are_checked_at_start():
    assert load_settings(env={"WIDGET_SMTP_INBOUND": "127.0.0.1:2525"}).smtp_inbound == "127.0.0.1:2525"
    for env in ({"WIDGET_SMTP_INBOUND": "nohost"}, {"WIDGET_SMTP_INBOUND": "h:99999"},
                {"WIDGET_QUEUE_TIMEOUT_SECONDS": "-1"}, {"WIDGET_SMTP_INBOUND_MAX_BYTES": "10"}):
        with pytest.raises(SystemExit):
            load_settings(env=env)



async def test_the_owner_sets_the_notification_address_and_queue_timeout_in_the_wizard(valkey, server):
    """The wizard's Tickets page saves through the Configuration API's action: a bad address or timeout gets a
    message next to its field and nothing is saved; good values are what ``get_ticket_settings`` answers."""
    owner = await make_owner(valkey, server.url)
    try:
        assert (await owner.sign_in()).status_code == 303
        page = await owner.http.get("/wizard/tickets")
        assert page.status_code == 200 and owner.email in page.text
        values = read_form(page.text, "tickets")
        bad = await owner.http.post("/wizard/tickets", data={**values, "notification_email": "not an address",
                                                             "queue_timeout_seconds": "soon"})
        assert bad.status_code == 400
        assert field_error(bad.text, "notification_email") and field_error(bad.text, "queue_timeout_seconds")
        agent = AgentClient(server.url, owner.email, owner.token)
        assert await config_call(agent, "get_ticket_settings") == {}
        good = await owner.http.post("/wizard/tickets", data={**values, "notification_email": "desk@shop.example",
                                                              "queue_timeout_seconds": "90"})
        assert good.status_code == 303 and good.headers["location"] == "/wizard/tickets?saved=1"
        assert await config_call(agent, "get_ticket_settings") == {"notification_email": "desk@shop.example",
                                                                   "queue_timeout_seconds": 90}
        again = read_form((await owner.http.get("/wizard/tickets")).text, "tickets")
        assert again["notification_email"] == "desk@shop.example" and again["queue_timeout_seconds"] == "90"
        await agent.aclose()
    finally:
        await owner.aclose()
