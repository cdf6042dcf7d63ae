"""The page a verification mail links to (``request_email_verification``): ``GET`` shows a button, ``POST`` verifies.

Opening the link only shows the page, so a mail scanner that fetches every link verifies nothing; the button's
``POST`` does. The token says everything (``core/local.py`` ``EmailVerification``); the core checks it."""

from __future__ import annotations

import html
from typing import Any

from litestar import Request, Response, get, post

from ..core.interface import ChatCore
from ..services import Injected

PATH = "/v1/customer/email_verification"
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<h1>{title}</h1><p>{text}</p>{form}</body></html>"""


def _page(status: int, title: str, text: str, form: str = "") -> Response[bytes]:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text), form=form)
    return Response(body.encode(), status_code=status, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"})


@get(PATH, summary="E-mail verification page (the link of request_email_verification's mail)", include_in_schema=False)
async def email_verification_page(request: Request[Any, Any, Any], chats: Injected[ChatCore]) -> Response[bytes]:
    token = request.query_params.get("token", "")
    if not token or getattr(chats, "confirm_email", None) is None:
        return _page(404, "Link not valid", "This verification link is not valid.")
    form = (f'<form method="post" action="?token={html.escape(token, quote=True)}">'
            '<button type="submit">Confirm my e-mail address</button></form>')
    return _page(200, "Confirm your e-mail address", "Press the button to confirm your e-mail address.", form)


@post(PATH, status_code=200, summary="E-mail verification", include_in_schema=False)
async def email_verification_confirm(request: Request[Any, Any, Any], chats: Injected[ChatCore]) -> Response[bytes]:
    await request.body()  # (read before answering: keep-alive connections stay usable)
    confirm = getattr(chats, "confirm_email", None)  # this server's core; in proxy mode the upstream mails its own
    if confirm is None or not await confirm(request.query_params.get("token", "")[:4096]):
        return _page(400, "Link not valid",
                     "This verification link is not valid any more. Ask for a new one from the chat.")
    return _page(200, "Thank you", "Your e-mail address is confirmed. You can close this page.")
