"""Uploaded files: any name downloads with a header every browser reads, and a file event shows only what was
uploaded, by whom it was uploaded."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from tests.support import CustomerClient

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)


async def upload(customer: CustomerClient, name: str, data: bytes) -> str:
    r = await customer.http.post(f"/v3.6/customer/action/upload_file?organization_id={customer.org}",
                                 headers={"Authorization": f"Bearer {customer.token}"}, files={"file": (name, data)})
    assert r.status_code == 200, r.text
    return r.json()["url"]


def _filename_star(disposition: str) -> str:
    """RFC 6266 / 8187: the ``filename*=UTF-8''<percent-encoded>`` parameter, decoded."""
    for param in disposition.split(";"):
        key, _, value = param.strip().partition("=")
        if key == "filename*":
            charset, _, encoded = value.partition("''")
            assert charset.upper() == "UTF-8"
            return unquote(encoded, encoding="utf-8", errors="strict")
    raise AssertionError(f"no filename* in {disposition!r}")


async def test_a_file_with_a_cyrillic_name_downloads_under_its_name(customer: CustomerClient):
    url = await upload(customer, "файл.pdf", PDF)
    served = await customer.http.get(url)
    assert served.status_code == 200 and served.content == PDF
    disposition = served.headers["content-disposition"]
    assert disposition.startswith('inline; filename="') and disposition.isascii()
    assert _filename_star(disposition) == "файл.pdf"
    assert disposition.split(";")[1].strip().endswith('.pdf"')  # the ASCII fallback keeps the extension

    # quotes and line breaks in a name never reach the header raw (one header, one quoted fallback)
    url = await upload(customer, 'a "quoted"\r\nX-Injected: 1 name.pdf', PDF)
    served = await customer.http.get(url)
    assert served.status_code == 200 and "x-injected" not in served.headers
    disposition = served.headers["content-disposition"]
    assert disposition.count('"') == 2 and "\r" not in disposition and "\n" not in disposition


async def test_a_file_event_shows_only_what_was_uploaded_by_that_customer(server, customer: CustomerClient):
    chat_id = (await customer.ok("start_chat"))["chat_id"]
    url = await upload(customer, "dot.png", PNG_1x1)
    path = urlsplit(url).path

    # the real file's path on another host: refused, not stored under the real file's name and type
    r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "file",
                                                                         "url": "https://evil.example" + path}})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"

    # what the client claims about the file is replaced by the upload record; a thumbnail of its own is dropped
    sent = await customer.ok("send_event", {"chat_id": chat_id, "event": {
        "type": "file", "url": url, "name": "invoice.pdf", "content_type": "application/pdf", "size": 1,
        "thumbnail_url": "https://evil.example/pixel.gif"}})
    event = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"][0]
    assert event["id"] == sent["event_id"] and event["url"] == url
    assert (event["name"], event["content_type"], event["size"]) == ("dot.png", "image/png", len(PNG_1x1))
    assert "thumbnail_url" not in event

    # another customer of the same license cannot attach it to their chat, even knowing its URL
    other = await CustomerClient(server.url, customer.org).authorize()
    try:
        other_chat = (await other.ok("start_chat"))["chat_id"]
        r = await other.call("send_event", {"chat_id": other_chat, "event": {"type": "file", "url": url}})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
        own = await upload(other, "mine.png", PNG_1x1)
        await other.ok("send_event", {"chat_id": other_chat, "event": {"type": "file", "url": own}})
    finally:
        await other.aclose()


def test_the_download_header_of_any_stored_name_is_one_header_that_names_the_file():
    """Names stored before today's upload rules, or by another server, reach the header too: whatever they hold, the
    header stays one ASCII line whose ``filename*`` gives the name back."""
    from widget_server.api.files import content_disposition

    for name in ('a"b.pdf', "x\r\nSet-Cookie: a=b.pdf", "файл.pdf", '\\"; filename=evil.exe', "100%.txt", "日本"):
        value = content_disposition("attachment", name)
        assert value.isascii() and "\r" not in value and "\n" not in value, value
        fallback = value.split('filename="', 1)[1].split('"', 1)[0]
        assert value == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''" + value.rsplit("''", 1)[1]
        assert _filename_star(value) == name
