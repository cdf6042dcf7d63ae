"""Signed reply addresses of tickets: ``support+t<ticket id>.<tag>@shop.example`` for ``WIDGET_MAIL_FROM``
``support@shop.example``. The tag is an HMAC of the ticket id under the server's secret (``Signer.tag``), 16
base32 characters (80 bits), so a reply address can neither be guessed nor made for another ticket; the inbound
listener (``api/smtp_inbound.py``) refuses any recipient whose tag does not check out. Lower case only, since mail
systems may fold the case of a local part; the whole local part stays under RFC 5321's 64 characters."""

from __future__ import annotations

import re

from .signing import Signer

PURPOSE = "ticket-reply"
_TOKEN = re.compile(r"t([0-9a-z]{10})\.([a-z2-7]{16})", re.IGNORECASE)


def reply_address(signer: Signer, sender: str, ticket_id: str) -> str:
    """The address a visitor's reply to ticket ``ticket_id`` goes to: ``sender``'s mailbox with a signed tag."""
    local, _, domain = sender.rpartition("<")[2].rstrip(">").strip().partition("@")
    local = local.split("+")[0][:30]  # room for the token within 64 characters
    return f"{local}+t{ticket_id.lower()}.{signer.tag(PURPOSE, ticket_id.upper())}@{domain}"


def ticket_of(signer: Signer, address: str) -> str | None:
    """The ticket id an inbound recipient address names, if its tag is right; None for anything else (no token, a
    malformed one, a forged or another server's tag)."""
    local = address.strip().strip("<>").rpartition("@")[0]
    token = local.rpartition("+")[2] if "+" in local else ""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    ticket_id = match[1].upper()
    return ticket_id if signer.check_tag(PURPOSE, ticket_id, match[2]) else None
