"""HMAC-signed, URL-safe blobs: customer access tokens, bot tokens, identity cookies, owner sessions and pagination
cursors. One Signer per worker, whose key is loaded when the worker starts (``Keyring``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import TypeVar

import msgspec

T = TypeVar("T")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs msgspec values with HMAC-SHA256 under a purpose string, so a cursor can never pass for a token."""

    def __init__(self, secret: bytes = b"") -> None:
        self._secret = secret

    def rekey(self, secret: bytes) -> None:
        """Set the key (once, when the worker starts: the secret lives in Valkey); everyone holding this Signer signs
        with it from then on."""
        self._secret = secret

    def _mac(self, purpose: str, body: bytes) -> bytes:
        return hmac.new(self._secret, purpose.encode() + b"\0" + body, hashlib.sha256).digest()[:24]

    def tag(self, purpose: str, text: str, length: int = 16) -> str:
        """A short MAC of ``text`` in lower-case base32 (``length`` characters, 5 bits each): for places that fit
        no full token and may change letter case, such as the local part of an e-mail address."""
        mac = hmac.new(self._secret, purpose.encode() + b"\0" + text.encode(), hashlib.sha256).digest()
        return base64.b32encode(mac).decode().lower()[:length]

    def check_tag(self, purpose: str, text: str, tag: str, length: int = 16) -> bool:
        """Whether ``tag`` is ``text``'s tag (any letter case), compared in constant time."""
        return len(tag) == length and hmac.compare_digest(tag.lower(), self.tag(purpose, text, length))

    def sign(self, purpose: str, value: object) -> str:
        body = msgspec.json.encode(value)
        return _b64(body) + "." + _b64(self._mac(purpose, body))

    def unsign(self, purpose: str, text: str, type: type[T]) -> T | None:
        """The value, or None when the text is malformed, forged or of another purpose."""
        body_b64, sep, mac_b64 = text.partition(".")
        if not sep or len(text) > 4096:
            return None
        try:
            body, mac = _unb64(body_b64), _unb64(mac_b64)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            return None
        try:
            return msgspec.json.decode(body, type=type)
        except msgspec.DecodeError:
            return None


class AccessToken(msgspec.Struct, array_like=True):
    """The claims inside a customer access token: organization, customer, expiry (unix s), group."""

    org: str
    cid: str
    exp: int
    group: int = 0

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.exp


class BotToken(msgspec.Struct, array_like=True):
    """The claims inside a bot token (``issue_bot_token``): organization, bot, expiry (unix s)."""

    org: str
    bot: str
    exp: int


class Cursor(msgspec.Struct, array_like=True):
    """A page_id: what was listed, how, where the next page starts, and when the cursor expires."""

    kind: str
    subject: str
    desc: bool
    limit: int
    pos: list[str | int]
    exp: int
    backwards: bool = False
