"""Outbound mail through the real path: messages composed from the templates, queued in a real Valkey, sent by the
mailer's sender loop with aiosmtplib to a real SMTP server (aiosmtpd on 127.0.0.1), read back as they arrive.

The outbox is one queue per Valkey, so these tests use a Valkey of their own (emptied before each test): nothing
another test's server queues, and nothing these queue, can be sent by the other's mailer."""

from __future__ import annotations

import asyncio
import ssl
import time
from urllib.parse import quote

import httpx
import pytest

from tests.support import LiveServer, ValkeyCluster, free_port, start_valkey
from tests.support.mail import SmtpInbox, self_signed_certificate
from widget_server import keys
from widget_server.mail import Mailer, MailError, MailOff, OutboxFull, OutgoingMail, notification
from widget_server.mail.config import parse_smtp_url
from widget_server.mail.locales import MAIL_TEXTS
from widget_server.settings import load_settings
from widget_server.valkey import connect
from widget_server.widget.locales import TEXTS

ORG = "org-mail-test"

# the test inbox takes a login over plain SMTP when it is not a TLS test; aiosmtpd warns about that, rightly
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def outbox_server():
    server = start_valkey()
    yield server
    server.stop()


@pytest.fixture
async def outbox(outbox_server):
    client = connect(outbox_server.connection_url)
    await client.flushdb()
    yield client
    await client.aclose()


def _mailer(valkey, url: str, **overrides) -> Mailer:
    """A worker's mailer as ``Services`` makes it, with quick retries for the tests."""
    tls_context = overrides.pop("tls_context", None)
    lease = overrides.pop("lease_seconds", None)
    settings = load_settings(env={}, smtp_url=url, mail_from="Support <support@shop.example>",
                             **{"mail_retry_base": 0.05, "mail_retry_max": 0.2, "mail_timeout": 5.0, **overrides})
    return Mailer(valkey, settings, tls_context=tls_context, lease_seconds=lease)


async def _attempted(valkey, attempts: int) -> None:
    """Wait until the one queued message was claimed ``attempts`` times (the count its hash keeps)."""
    for _ in range(400):
        [mail_id] = await valkey.zrange(keys.MAIL_QUEUE, 0, -1)
        if int(await valkey.hget(keys.mail_message(mail_id.decode()), "attempts") or 0) >= attempts:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not attempted {attempts} times")


def _mail(n: int = 0, **fields) -> OutgoingMail:
    return OutgoingMail(**{"to": [f"visitor{n}@example.com"], "subject": f"Message {n}", "text": f"text {n}",
                           "html": f"<p>html {n}</p>", **fields})


async def _drained(mailer: Mailer, org: str = ORG) -> None:
    """Wait until the license has nothing queued (its messages were sent or given up)."""
    for _ in range(400):
        if await mailer.pending(org) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{await mailer.pending(org)} messages still queued")


async def test_a_notification_arrives_as_text_and_html_in_the_visitors_language(outbox):
    """The site sends a German visitor a notification: it arrives once, from the configured sender, with the
    headers the later ticket work relies on, both parts in German, and what the visitor typed escaped in the HTML."""
    with SmtpInbox() as inbox:
        mailer = _mailer(outbox, f"smtp://127.0.0.1:{inbox.port}")
        mail = notification(to=["Jana Nowak <jana@example.com>"], subject="Ihre Nachricht an Shop", lang="de-AT",
                            site="Shop", name="Jana", paragraphs=["Sie schrieben:", "<script>alert(1)</script> & mehr"],
                            action_url="https://shop.example/t/1?a=1&b=2", reply_to="ticket+abc@shop.example")
        mail = OutgoingMail(**{**{f: getattr(mail, f) for f in mail.__struct_fields__},
                               "in_reply_to": "<first@shop.example>", "references": ["<first@shop.example>"]})
        await mailer.start()
        try:
            mail_id = await mailer.enqueue(ORG, mail)
            [message] = await inbox.wait_for(1)
            await _drained(mailer)
        finally:
            await mailer.stop()
    assert message["From"] == "Support <support@shop.example>"
    assert message["To"] == "Jana Nowak <jana@example.com>"
    assert message["Subject"] == "Ihre Nachricht an Shop"
    assert message["Message-ID"] == f"<{mail_id}@shop.example>"
    assert message["Reply-To"] == "ticket+abc@shop.example"
    assert message["In-Reply-To"] == "<first@shop.example>" and message["References"] == "<first@shop.example>"
    assert message["Content-Language"] == "de" and message["Date"]
    assert inbox.envelopes == [("support@shop.example", ["jana@example.com"])]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hallo Jana," in text and "<script>alert(1)</script> & mehr" in text
    assert "Sie können auf diese E-Mail antworten." in text and "automatische Nachricht von Shop" in text
    assert 'lang="de"' in html and "Hallo Jana," in html and "Öffnen" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; mehr" in html and "<script>" not in html
    assert 'href="https://shop.example/t/1?a=1&amp;b=2"' in html
    assert mailer.sent == 1 and await mailer.failed(ORG) == []


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_every_widget_language_has_the_mail_texts(lang):
    assert set(MAIL_TEXTS[lang]) == set(MAIL_TEXTS["en"])
    mail = notification(to=["a@example.com"], subject="s", lang=lang, site="Shop", paragraphs=["p"])
    assert mail.lang == lang and MAIL_TEXTS[lang]["greeting"] in mail.text and MAIL_TEXTS[lang]["greeting"] in mail.html


async def test_nothing_a_visitor_types_can_add_a_header_or_a_recipient(outbox):
    """CR/LF in a subject, a name or an address, a second address in one field, a header this server writes, a
    javascript: link: refused before anything is queued."""
    mailer = _mailer(outbox, "smtp://127.0.0.1:1")
    hostile = [
        _mail(subject="Hi\r\nBcc: victim@example.com"),
        _mail(to=["Eve\r\nBcc: victim@example.com <eve@example.com>"]),
        _mail(to=["eve@example.com, victim@example.com"]),
        _mail(to=["eve@example.com\nBcc: victim@example.com"]),
        _mail(reply_to="a@b.example\r\nX-Evil: 1"),
        _mail(in_reply_to="<a@b>\r\nBcc: victim@example.com"),
        _mail(headers={"Bcc": "victim@example.com"}),
        _mail(headers={"X-Ticket": "1\r\nBcc: victim@example.com"}),
        _mail(to=[]),
        _mail(text="x" * 200_000),
        _mail(id="../../etc"),
        _mail(created_at="Mon, 1 Jan 2024 00:00:00 +0000\r\nBcc: victim@example.com"),
    ]
    for mail in hostile:
        with pytest.raises(MailError):
            await mailer.enqueue(ORG, mail)
    with pytest.raises(MailError):
        notification(to=["a@example.com"], subject="s", lang="en", site="Shop", paragraphs=[],
                     action_url="javascript:alert(1)")
    assert await outbox.dbsize() == 0


async def test_a_mail_server_that_is_down_loses_nothing_and_the_message_arrives_once(outbox):
    port = free_port()
    mailer = _mailer(outbox, f"smtp://127.0.0.1:{port}")
    await mailer.start()
    try:
        await mailer.enqueue(ORG, _mail(1))
        await _attempted(outbox, 2)  # refused connections are retried
        assert await mailer.pending(ORG) == 1
        with SmtpInbox(port) as inbox:
            await inbox.wait_for(1)
            await _drained(mailer)
            assert [m["Subject"] for m in inbox.messages] == ["Message 1"]
    finally:
        await mailer.stop()
    assert await mailer.failed(ORG) == []


async def test_a_temporary_refusal_is_retried_and_a_permanent_one_is_given_up_and_kept(outbox):
    """451 twice, then accepted: one copy arrives. A recipient refused with 550: not retried, listed as failed with the
    server's answer; the queue goes on with the next message."""
    with SmtpInbox(data_answers=["451 4.3.0 Try again later", "421 4.3.2 Busy"]) as inbox:
        mailer = _mailer(outbox, f"smtp://127.0.0.1:{inbox.port}")
        await mailer.start()
        try:
            await mailer.enqueue(ORG, _mail(1))
            await inbox.wait_for(1)
            bounce = await mailer.enqueue(ORG, _mail(2, to=["bounce@example.com"]))
            await mailer.enqueue(ORG, _mail(3))
            await inbox.wait_for(2)
            await _drained(mailer)
        finally:
            await mailer.stop()
    assert inbox.refused_data == 2
    assert [m["Subject"] for m in inbox.messages] == ["Message 1", "Message 3"]
    [failed] = await mailer.failed(ORG)
    assert failed.id == bounce and failed.to == ["bounce@example.com"] and failed.attempts == 1
    assert failed.error.startswith("550")


async def test_two_workers_on_one_valkey_send_each_message_exactly_once(outbox):
    with SmtpInbox() as inbox:
        workers = [_mailer(outbox, f"smtp://127.0.0.1:{inbox.port}") for _ in range(2)]
        for worker in workers:
            await worker.start()
        try:
            ids = [await workers[n % 2].enqueue(ORG, _mail(n)) for n in range(40)]
            await inbox.wait_for(40)
            await _drained(workers[0])
        finally:
            for worker in workers:
                await worker.stop()
    message_ids = [m["Message-ID"] for m in inbox.messages]
    assert sorted(message_ids) == sorted(f"<{i}@shop.example>" for i in ids)  # each once, none missing
    assert sum(w.sent for w in workers) == 40


async def test_on_a_valkey_cluster_two_workers_send_each_message_once(tmp_path):
    """The outbox's keys share one hash tag, so its scripts run on a Valkey Cluster as they do on one server."""
    cluster = ValkeyCluster(masters=3, data_dir=tmp_path / "cluster").start()
    clients = [connect(cluster.url) for _ in range(2)]
    try:
        with SmtpInbox() as inbox:
            workers = [_mailer(client, f"smtp://127.0.0.1:{inbox.port}") for client in clients]
            for worker in workers:
                await worker.start()
            try:
                ids = [await workers[n % 2].enqueue(f"org-{n % 3}", _mail(n)) for n in range(12)]
                await inbox.wait_for(12)
                for org in ("org-0", "org-1", "org-2"):
                    await _drained(workers[0], org)
            finally:
                for worker in workers:
                    await worker.stop()
    finally:
        for client in clients:
            await client.aclose()
        cluster.stop()
    assert sorted(m["Message-ID"] for m in inbox.messages) == sorted(f"<{i}@shop.example>" for i in ids)


async def test_a_dead_workers_claim_is_taken_over_after_its_lease(outbox):
    """A worker claimed a message and died before sending it: another worker sends it once the lease is over."""
    with SmtpInbox() as inbox:
        dead = _mailer(outbox, f"smtp://127.0.0.1:{inbox.port}", lease_seconds=1.0)
        await dead.enqueue(ORG, _mail(1))
        claimed = await dead._claim(keys=[keys.MAIL_QUEUE], args=[int(time.time() * 1000), 1000, 4, "dead-worker"])
        assert len(claimed) == 6  # next due, and the one message
        alive = _mailer(outbox, f"smtp://127.0.0.1:{inbox.port}", lease_seconds=1.0)
        await alive.start()
        try:
            await inbox.wait_for(1)
            await _drained(alive)
        finally:
            await alive.stop()
    assert [m["Subject"] for m in inbox.messages] == ["Message 1"] and alive.sent == 1


async def test_enqueueing_the_same_id_twice_sends_it_once(outbox):
    with SmtpInbox() as inbox:
        mailer = _mailer(outbox, f"smtp://127.0.0.1:{inbox.port}")
        await mailer.start()
        try:
            assert await mailer.enqueue(ORG, _mail(1, id="ticket-7-reply-1")) == "ticket-7-reply-1"
            await mailer.enqueue(ORG, _mail(1, id="ticket-7-reply-1"))  # still queued: once
            await inbox.wait_for(1)
            await _drained(mailer)
            await mailer.enqueue(ORG, _mail(1, id="ticket-7-reply-1"))  # sent lately: not again
            await mailer.enqueue(ORG, _mail(2))
            await inbox.wait_for(2)
            await _drained(mailer)
        finally:
            await mailer.stop()
    assert [m["Subject"] for m in inbox.messages] == ["Message 1", "Message 2"]


async def test_a_license_can_queue_only_so_many_messages(outbox):
    """While the mail server is down, a license's queue fills up to its bound and refuses more; another license
    is not affected."""
    mailer = _mailer(outbox, f"smtp://127.0.0.1:{free_port()}", mail_max_pending=3)  # (not started: nothing is sent)
    for n in range(3):
        await mailer.enqueue(ORG, _mail(n))
    with pytest.raises(OutboxFull):
        await mailer.enqueue(ORG, _mail(4))
    await mailer.enqueue("another-license", _mail(5))
    assert await mailer.pending(ORG) == 3 and await mailer.pending("another-license") == 1


async def test_starttls_with_a_url_encoded_password(outbox, tmp_path):
    """``smtp://user:pass@host:port?starttls=1``: the connection is upgraded before the login, and a password with
    reserved characters is URL-decoded."""
    password = "p@ss:w/rd %"
    certificate = self_signed_certificate(tmp_path)
    with SmtpInbox(tls="starttls", certificate=certificate, login=("mailer", password)) as inbox:
        url = f"smtp://mailer:{quote(password, safe='')}@127.0.0.1:{inbox.port}?starttls=1"
        mailer = _mailer(outbox, url, tls_context=ssl.create_default_context(cafile=str(certificate[0])))
        await mailer.start()
        try:
            await mailer.enqueue(ORG, _mail(1))
            await inbox.wait_for(1)
            await _drained(mailer)
        finally:
            await mailer.stop()
    assert inbox.logins == ["mailer"] and [m["Subject"] for m in inbox.messages] == ["Message 1"]


async def test_starttls_required_by_the_url_never_falls_back_to_plain_text(outbox):
    """``?starttls=1`` against a server that offers no STARTTLS: nothing is sent in the clear; the message waits."""
    with SmtpInbox() as inbox:
        mailer = _mailer(outbox, f"smtp://127.0.0.1:{inbox.port}?starttls=1")
        await mailer.start()
        try:
            await mailer.enqueue(ORG, _mail(1))
            await _attempted(outbox, 2)
        finally:
            await mailer.stop()
    assert inbox.messages == [] and await mailer.pending(ORG) == 1 and await mailer.failed(ORG) == []


async def test_smtps_is_tls_from_the_first_byte(outbox, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    with SmtpInbox(tls="implicit", certificate=certificate) as inbox:
        mailer = _mailer(outbox, f"smtps://127.0.0.1:{inbox.port}",
                         tls_context=ssl.create_default_context(cafile=str(certificate[0])))
        await mailer.start()
        try:
            await mailer.enqueue(ORG, _mail(1))
            await inbox.wait_for(1)
            await _drained(mailer)
        finally:
            await mailer.stop()
    assert [m["Subject"] for m in inbox.messages] == ["Message 1"]


async def test_a_certificate_the_mailer_does_not_trust_sends_nothing_and_keeps_the_message(outbox, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    with SmtpInbox(tls="implicit", certificate=certificate) as inbox:
        mailer = _mailer(outbox, f"smtps://127.0.0.1:{inbox.port}")  # the system's trust: not this certificate
        await mailer.start()
        try:
            await mailer.enqueue(ORG, _mail(1))
            await _attempted(outbox, 2)
        finally:
            await mailer.stop()
    assert inbox.messages == [] and await mailer.pending(ORG) == 1 and await mailer.failed(ORG) == []


async def test_without_smtp_url_mail_is_off(outbox):
    mailer = Mailer(outbox, load_settings(env={}))
    assert not mailer.enabled and mailer.describe().startswith("off")
    with pytest.raises(MailOff):
        await mailer.enqueue(ORG, _mail(1))
    await mailer.start()
    await mailer.stop()


def test_smtp_urls_and_their_errors_never_show_the_password():
    assert parse_smtp_url("smtp://mail.example") == ("mail.example", 25, False, False, None, None)
    assert parse_smtp_url("smtps://u%40x:p%3Aw@mail.example") == ("mail.example", 465, True, False, "u@x", "p:w")
    target = parse_smtp_url("smtp://user:secret@mail.example:587?starttls=1")
    assert target.starttls and target.port == 587 and target.describe() == "smtp://user@mail.example:587 (STARTTLS)"
    for bad in ("http://user:secret@mail.example", "smtp://user:secret@", "smtp://user:secret@h:99999",
                "smtp://user:secret@h?tls=1", "smtps://user:secret@h?starttls=1", "smtp://:secret@h"):
        with pytest.raises(ValueError) as error:
            parse_smtp_url(bad)
        assert "secret" not in str(error.value)
        with pytest.raises(SystemExit) as stop:
            load_settings(env={"WIDGET_SMTP_URL": bad})
        assert "secret" not in str(stop.value) and "WIDGET_SMTP_URL" in str(stop.value)
    with pytest.raises(SystemExit):
        load_settings(env={"WIDGET_MAIL_FROM": "not an address"})
    for name, value in (("MAIL_RETRY_BASE", "-1"), ("MAIL_MAX_PENDING", "0"), ("MAIL_RETRY_MAX", "0.5")):
        with pytest.raises(SystemExit):
            load_settings(env={f"WIDGET_{name}": value})


def test_the_server_says_at_start_that_mail_is_off(outbox_server, tmp_path):
    server = LiveServer(tmp_path, outbox_server.connection_url).start()
    try:
        assert "mail            : off (set WIDGET_SMTP_URL to send e-mail)" in server.log()
    finally:
        server.stop()


async def test_the_servers_workers_send_the_queue_and_its_output_hides_the_password(outbox, outbox_server, tmp_path):
    """A server with WIDGET_SMTP_URL: its start-up output says where mail goes without the password, and its
    workers send what is queued in its Valkey (the sender loop runs in the app's lifespan)."""
    with SmtpInbox(login=("mailer", "hunter2-secret")) as inbox:
        env = {"WIDGET_SMTP_URL": f"smtp://mailer:hunter2-secret@127.0.0.1:{inbox.port}",
               "WIDGET_MAIL_FROM": "help@shop.example"}
        server = LiveServer(tmp_path, outbox_server.connection_url, workers=2, env=env).start()
        try:
            log = server.log()
            assert f"mail            : smtp://mailer@127.0.0.1:{inbox.port} from help@shop.example" in log
            assert "hunter2" not in log
            queue_only = _mailer(outbox, "smtp://127.0.0.1:1")  # never started: only the server's workers send
            for n in range(6):
                await queue_only.enqueue(ORG, _mail(n))
            await inbox.wait_for(6)
            await _drained(queue_only)
            # both workers' sends in one scrape of /metrics (issue 19)
            async with httpx.AsyncClient(timeout=10) as http:
                scrape = (await http.get(server.url + "/metrics")).text
            assert 'widget_mail_deliveries_total{outcome="sent"} 6.0' in scrape, scrape[-2000:]
        finally:
            server.stop()
    assert sorted(m["Subject"] for m in inbox.messages) == [f"Message {n}" for n in range(6)]
    assert all(m["From"] == "help@shop.example" for m in inbox.messages)
