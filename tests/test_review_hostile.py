"""A hostile review of issue 21's new surface: each test is an attack that once got a 500, leaked or lasted."""

from __future__ import annotations

import http.server
import secrets

from tests.support import serve_http


class Odd(http.server.BaseHTTPRequestHandler):
    """Pages whose head is valid HTML but odd: a charset codec that refuses ``errors="replace"`` (idna), an image
    width made of digits ``int()`` does not take (superscripts)."""

    def do_GET(self) -> None:
        if self.path.startswith("/idna"):
            content_type, body = "text/html; charset=idna", b"<title>idna page</title>"
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
