"""A hostile review of issue 21's new surface: each test is an attack that once got a 500, leaked or lasted."""

from __future__ import annotations

import asyncio
import encodings
import http.server
import pkgutil
import re
import secrets

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import CustomerClient, LiveServer, WebhookReceiver, free_port, serve_http
from tests.support.mail import SmtpInbox
from widget_server.bootstrap import create_license
from widget_server.core.links import parse_preview
from widget_server.valkey import connect

from .test_agent_api_breadth import _chat_with_ann, desk  # noqa: F401 (the desk fixture: four agents, two groups)


class Odd(http.server.BaseHTTPRequestHandler):
    """Pages whose head is valid HTML but odd: a charset codec that refuses ``errors="replace"`` (idna), an image
    width made of digits ``int()`` does not take (superscripts)."""

    def do_GET(self) -> None:
        if self.path.startswith("/idna"):
            content_type, body = "text/html; charset=idna", b"<title>idna page</title>"
        elif self.path.startswith("/v6"):  # an image URL urljoin refuses
            content_type, body = "text/html", b'<title>V6</title><meta property="og:image" content="http://[::1">'
        elif self.path.startswith("/escape"):  # a codec that makes lone surrogates of "\ud800"
            content_type, body = "text/html; charset=unicode_escape", b"<title>\\ud800 Escaped</title>"
        elif self.path.startswith("/marked"):  # a marked section html.parser asserts on
            content_type, body = "text/html", b"<head><title>Marked</title><![ x [<meta name=description content=d>"
        else:
            content_type = "text/html; charset=utf-8"
            body = ('<head><meta property="og:image" content="/a.png">'
                    '<meta property="og:image:width" content="\u00b2"><title>sq</title></head>').encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


async def test_an_odd_page_head_is_a_preview_not_a_server_error(owner_team):
    _, _, customer = owner_team
    with serve_http(Odd) as site:
        idna = await customer.call("get_url_info", {"url": f"{site}/idna?{secrets.token_hex(3)}"})
        assert idna.status_code == 200, idna.text
        assert idna.json()["url"].startswith(site)
        square = await customer.call("get_url_info", {"url": f"{site}/square?{secrets.token_hex(3)}"})
        assert square.status_code == 200, square.text
        assert square.json()["image_url"] == f"{site}/a.png" and "image_width" not in square.json()


async def test_markup_the_html_parser_chokes_on_is_a_preview_of_what_came_before(owner_team):
    _, _, customer = owner_team
    with serve_http(Odd) as site:
        marked = await customer.call("get_url_info", {"url": f"{site}/marked?{secrets.token_hex(3)}"})
        assert marked.status_code == 200, marked.text
        assert marked.json()["title"] == "Marked"


async def test_an_image_url_that_is_no_url_is_left_out_of_the_preview(owner_team):
    _, _, customer = owner_team
    with serve_http(Odd) as site:
        v6 = await customer.call("get_url_info", {"url": f"{site}/v6?{secrets.token_hex(3)}"})
        assert v6.status_code == 200, v6.text
        assert v6.json()["title"] == "V6" and "image_url" not in v6.json()


async def test_a_charset_that_decodes_to_lone_surrogates_is_a_preview_not_a_server_error(owner_team):
    _, _, customer = owner_team
    with serve_http(Odd) as site:
        escaped = await customer.call("get_url_info", {"url": f"{site}/escape?{secrets.token_hex(3)}"})
        assert escaped.status_code == 200, escaped.text
        assert escaped.json()["title"].endswith(" Escaped")


# --- request_email_verification: whose link, and how often -------------------------------------------------------------

async def _mail_server(tmp_path, valkey_url: str, inbox_port: int, public_url: bool) -> tuple[LiveServer, str]:
    port = free_port()
    env = {"WIDGET_SMTP_URL": f"smtp://127.0.0.1:{inbox_port}", "WIDGET_MAIL_FROM": "Help <help@shop.example>",
           "WIDGET_MAIL_RETRY_BASE": "0.1", "WIDGET_EMAIL_VERIFICATIONS_PER_HOUR": "2"}
    if public_url:
        env["WIDGET_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    server = LiveServer(tmp_path / f"s{port}", valkey_url, env=env, port=port).start()
    valkey = connect(valkey_url)
    try:
        creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    finally:
        await valkey.aclose()
    return server, creds["organization_id"]


async def _ask(customer: CustomerClient, host: str | None = None):
    headers = {"Authorization": f"Bearer {customer.token}"}
    if host:
        headers["Host"] = host
    return await customer.http.post("/v3.6/customer/action/request_email_verification",
                                    params={"organization_id": customer.org},
                                    json={"callback_uri": "https://hooks.example/verified"}, headers=headers)


async def test_a_verification_mail_never_links_to_the_host_a_caller_names(valkey_url, tmp_path):
    """The mailed link's base is WIDGET_PUBLIC_URL: a caller's ``Host: evil.example`` would otherwise have this
    server mail anyone a 'confirm your address' link to the caller's site (and hand it the signed token)."""
    with SmtpInbox() as inbox:
        server, org = await _mail_server(tmp_path, valkey_url, inbox.port, public_url=True)
        customer = await CustomerClient(server.url, org).authorize()
        try:
            await customer.ok("update_customer", {"email": "victim@visitor.example"})
            assert (await _ask(customer, host="evil.example")).status_code == 200
            [mail] = await inbox.wait_for(1)
            links = re.findall(r"https?://[^\s\"'<>]+", mail.get_body(("plain",)).get_content())
            assert links and all(link.startswith(f"{server.url}/v1/customer/email_verification?") for link in links)
        finally:
            await customer.aclose()
            server.stop()
        # without WIDGET_PUBLIC_URL there is no base to trust: no mail, and a typed refusal
        server, org = await _mail_server(tmp_path, valkey_url, inbox.port, public_url=False)
        customer = await CustomerClient(server.url, org).authorize()
        try:
            await customer.ok("update_customer", {"email": "victim@visitor.example"})
            r = await _ask(customer, host="evil.example")
            assert r.status_code == 403 and r.json()["error"]["type"] == "not_allowed", r.text
            await asyncio.sleep(0.3)
            assert len(inbox.messages) == 1
        finally:
            await customer.aclose()
            server.stop()


async def test_many_visitors_cannot_mail_one_address_without_end(valkey_url, tmp_path):
    """WIDGET_EMAIL_VERIFICATIONS_PER_HOUR bounds the mails to one address too, whoever asks: new visitor identities
    are cheap, so a bound per customer alone lets anyone flood a victim's mailbox from this server."""
    victim = f"victim-{secrets.token_hex(4)}@visitor.example"
    with SmtpInbox() as inbox:
        server, org = await _mail_server(tmp_path, valkey_url, inbox.port, public_url=True)
        visitors = [await CustomerClient(server.url, org).authorize() for _ in range(3)]
        try:
            codes = []
            for visitor in visitors:
                await visitor.ok("update_customer", {"email": victim})
                codes.append((await _ask(visitor)).status_code)
                codes.append((await _ask(visitor)).status_code)
            assert codes.count(200) == 2 and codes.count(429) == 4, codes
            await inbox.wait_for(2)
            await asyncio.sleep(0.3)
            assert len(inbox.messages) == 2
            # another address is another budget (a new visitor: each of these asked twice, their own bound)
            visitors.append(await CustomerClient(server.url, org).authorize())
            await visitors[3].ok("update_customer", {"email": f"other-{secrets.token_hex(4)}@visitor.example"})
            assert (await _ask(visitors[3])).status_code == 200
        finally:
            for visitor in visitors:
                await visitor.aclose()
            server.stop()


async def test_a_verified_customer_cannot_have_this_server_call_back_without_end(valkey_url, tmp_path):
    """An address verified already gets its callback at once, with no mail: without a bound of its own (counted in
    Valkey, for every worker), a verified customer could have this server POST to any public URL as fast as the
    per-worker write limits allow."""
    with SmtpInbox() as inbox, WebhookReceiver() as callback:
        server, org = await _mail_server(tmp_path, valkey_url, inbox.port, public_url=True)
        customer = await CustomerClient(server.url, org).authorize()
        try:
            await customer.ok("update_customer", {"email": "me@visitor.example"})
            await customer.ok("request_email_verification", {"callback_uri": callback.url})
            [mail] = await inbox.wait_for(1)
            link = re.search(r"https?://\S+", mail.get_body(("plain",)).get_content()).group(0)
            assert (await customer.http.post(link)).status_code == 200
            assert len(callback.requests) == 1
            codes = [(await customer.call("request_email_verification", {"callback_uri": callback.url})).status_code
                     for _ in range(5)]
            # WIDGET_EMAIL_VERIFICATIONS_PER_HOUR (2 here); each answer comes after its callback was answered
            assert codes == [200, 200, 429, 429, 429], codes
            assert len(callback.requests) == 3
            assert len(inbox.messages) == 1
        finally:
            await customer.aclose()
            server.stop()


async def test_a_verification_mail_carries_none_of_the_asker_s_text(valkey_url, tmp_path):
    """The mail goes to an address nobody confirmed yet (anyone's, set with update_customer): the asker's chosen
    name must not put their words into a mail this server sends in the license's name."""
    lure = f"URGENT your account is locked call 555-{secrets.randbelow(10**4):04d}"
    with SmtpInbox() as inbox:
        server, org = await _mail_server(tmp_path, valkey_url, inbox.port, public_url=True)
        customer = await CustomerClient(server.url, org).authorize()
        try:
            await customer.ok("update_customer", {"email": "someone@visitor.example", "name": lure})
            assert (await _ask(customer)).status_code == 200
            [mail] = await inbox.wait_for(1)
            for part in ("plain", "html"):
                assert "555-" not in mail.get_body((part,)).get_content()
        finally:
            await customer.aclose()
            server.stop()


# --- follow_chat: a follower keeps only what they may read ---------------------------------------------------------------

async def _pushes_until_multicast(sock, boss, agent_id: str) -> list[dict]:
    """Every push ``sock`` got before a multicast the boss sends now (pushes to one agent keep their order)."""
    marker = secrets.token_hex(4)
    await boss.ok("multicast", {"recipients": {"agents": {"ids": [agent_id]}}, "content": {"marker": marker}})
    seen = []
    while True:
        frame = await sock.push()
        if frame["action"] == "incoming_multicast" and frame["payload"]["content"] == {"marker": marker}:
            return seen
        seen.append(frame)


async def test_a_follower_whose_group_loses_the_chat_hears_no_more_of_it(server, desk):  # noqa: F811
    """Bob (group 0, normal) follows Ann's chat; it is transferred to group 1, which Bob is not in. Bob can no longer
    read the chat (get_chat: 403), so the customer's next message must not reach his sockets either."""
    customer, chat_id, _ = await _chat_with_ann(server, desk)
    bob_rtm = await desk.bob.rtm()
    try:
        await desk.bob.ok("follow_chat", {"id": chat_id})
        await desk.cid.ok("set_routing_status", {"status": "accepting_chats"})
        await desk.ann.ok("transfer_chat", {"id": chat_id, "target": {"type": "group", "ids": [1]}})
        assert (await desk.bob.call("get_chat", {"chat_id": chat_id})).status_code == 403
        secret = f"my card number is {secrets.token_hex(4)}"
        await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": secret}})
        got = await _pushes_until_multicast(bob_rtm, desk.boss, desk.bob.id)
        assert not [f for f in got if secret in str(f["payload"])], got
        assert {"chat_id": chat_id} in [f["payload"] for f in got if f["action"] == "chat_unfollowed"]
        # the chat's own agents still hear it
        assert [e for e in (await desk.cid.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
                if e.get("text") == secret]
    finally:
        await bob_rtm.close()
        await customer.aclose()


async def test_a_verification_link_posted_again_calls_back_no_more(valkey_url, tmp_path):
    """The link lives WIDGET_EMAIL_VERIFICATION_DAYS and its page is open to anyone holding it: each POST of it must
    not make this server POST to the callback_uri again (a reflector aimed at any public site)."""
    with SmtpInbox() as inbox, WebhookReceiver() as callback:
        server, org = await _mail_server(tmp_path, valkey_url, inbox.port, public_url=True)
        customer = await CustomerClient(server.url, org).authorize()
        try:
            await customer.ok("update_customer", {"email": "me@visitor.example"})
            await customer.ok("request_email_verification", {"callback_uri": callback.url})
            [mail] = await inbox.wait_for(1)
            link = re.search(r"https?://\S+", mail.get_body(("plain",)).get_content()).group(0)
            for _ in range(5):  # (each POST answers only after its callback, if any, was answered)
                done = await customer.http.post(link)
                assert done.status_code == 200 and "confirmed" in done.text
            assert len(callback.requests) == 1
            assert (await customer.ok("get_customer"))["email_verified"] is True
        finally:
            await customer.aclose()
            server.stop()


# --- URLs a customer names: the webhooks' allowance is not theirs --------------------------------------------------------

class Internal(http.server.BaseHTTPRequestHandler):
    """A page only the host itself should see (an admin panel on loopback)."""

    hits = 0

    def do_GET(self) -> None:
        Internal.hits += 1
        body = b"<title>Internal admin panel</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


async def test_a_webhook_allowance_for_loopback_opens_nothing_to_visitors(valkey_url, tmp_path):
    """WIDGET_WEBHOOK_ALLOWED_NETWORKS=127.0.0.1/32 lets the owner's bot on the same host get webhooks; it must not let
    every anonymous visitor read the host's loopback pages through get_url_info, nor aim the verified-address callback
    there. Those follow WIDGET_CUSTOMER_URL_ALLOWED_NETWORKS (empty by default: public addresses only)."""
    server = LiveServer(tmp_path, valkey_url, env={"WIDGET_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
                                                   "WIDGET_CUSTOMER_URL_ALLOWED_NETWORKS": ""}).start()
    valkey = connect(valkey_url)
    try:
        creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
        customer = await CustomerClient(server.url, creds["organization_id"]).authorize()
        Internal.hits = 0
        with serve_http(Internal) as site:
            r = await customer.call("get_url_info", {"url": f"{site}/admin?{secrets.token_hex(3)}"})
            assert r.status_code == 400 and r.json()["error"]["type"] == "validation", r.text
            assert Internal.hits == 0
            await customer.ok("update_customer", {"email": "me@visitor.example"})
            r = await customer.call("request_email_verification", {"callback_uri": f"{site}/hook"})
            assert r.status_code == 400 and r.json()["error"]["type"] == "validation", r.text
        await customer.aclose()
    finally:
        await valkey.aclose()
        server.stop()


# --- a page's head, fuzzed: whatever a site serves, the preview is an answer -----------------------------------------

_CODECS = sorted({m.name for m in pkgutil.iter_modules(encodings.__path__)} - {"aliases"})
_PIECES = ["<", ">", "<!", "<![", "<![CDATA[", "<!--", "-->", "<?", "</", "<meta ", 'property="og:image" ',
           'property="og:image:width" ', 'property="og:title" ', 'content="', '"', "<title>", "</title>", "&#",
           "&#x", "&#99999999999;", "&amp", "x", " ", "=", "'", "<![if ", "<![endif]>", "<!DOCTYPE", "<head>",
           "<body>", "[", "]", "\x00", "\\ud800", "\\x", "<script>", "</script>", "<![ x [", "<![abc", "%", "\u00b2",
           "\u0663", "http://[::1", "//", "javascript:", "<plaintext>", "<textarea>", "\xff\xfe", "+AGEA-"]


@settings(deadline=None, derandomize=True, database=None, max_examples=3000, print_blob=False)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=40), charset=st.sampled_from(["", *_CODECS]),
       page=st.sampled_from(["http://a.example/", "http://[::1]:8080/p", "https://a.example/%zz?q#f"]))
def test_any_page_head_gives_a_preview_that_encodes(pieces, charset, page):
    """parse_preview is what get_url_info runs on bytes a stranger's site chose: every charset the stdlib knows,
    markup its HTML parser chokes on, image URLs that are no URLs; each gives a UrlInfo the answer can encode."""
    body = "".join(pieces).encode("utf-8", errors="surrogatepass")
    info = parse_preview(page, f"text/html; charset={charset}" if charset else "text/html", body)
    msgspec.json.encode(info)
