"""Site owners' sessions (the wizard's sign-in): a session lives in Valkey (idle expiry, renewed as it is used) and
the browser holds only its id, signed. Failed sign-ins are counted per e-mail address and per client IP over a
window; past the limit, sign-in is refused with 429 until the window ends, whatever the password. The sign-in form's
own CSRF token is bound to a nonce cookie (``login_token``). The cookies and the HTTP checks are the wizard's
(``wizard/sessions.py``)."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Any

import msgspec

from .. import keys
from .passwords import hash_password, verify_password
from .signing import Signer

SESSION_TTL = 8 * 3600
LOCKOUT_SECONDS = 15 * 60
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 20

# compared against when the e-mail is unknown, so a wrong address costs the same time as a wrong password
_DUMMY_HASH = hash_password(secrets.token_urlsafe(12))


class OwnerSession(msgspec.Struct):
    id: str
    org: str
    email: str
    csrf: str
    preview: str
    """The token that lets the widget show this session's unsaved draft (``widget/drafts.py``)."""


class LoginRefused(Exception):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class Sessions:
    def __init__(self, valkey: Any, signer: Signer) -> None:
        self.r = valkey
        self._signer = signer

    # --- sessions ----------------------------------------------------------------------------------------------------

    async def create(self, org: str, email: str) -> tuple[OwnerSession, str]:
        """A new session and the cookie value that names it."""
        session = OwnerSession(id=secrets.token_urlsafe(32), org=org, email=email, csrf=secrets.token_urlsafe(32),
                               preview=secrets.token_urlsafe(24))
        key = keys.wizard_session(session.id)
        await self.r.hset(key, mapping={"org": org, "email": email, "csrf": session.csrf, "preview": session.preview})
        await self.r.expire(key, SESSION_TTL)
        return session, self._signer.sign("wizard-session", session.id)

    async def get(self, cookie: str | None) -> OwnerSession | None:
        """The session a cookie names, renewed; None when the cookie is missing, forged or the session ended."""
        session_id = self._signer.unsign("wizard-session", cookie, str) if cookie else None
        if not session_id:
            return None
        key = keys.wizard_session(session_id)
        async with self.r.pipeline(transaction=False) as p:
            p.hgetall(key)
            p.expire(key, SESSION_TTL)
            raw, _ = await p.execute()
        if not raw or b"org" not in raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        return OwnerSession(id=session_id, org=fields["org"], email=fields.get("email", ""),
                            csrf=fields.get("csrf", ""), preview=fields.get("preview", ""))

    async def delete(self, session: OwnerSession) -> None:
        await self.r.delete(keys.wizard_session(session.id))

    # --- sign-in -----------------------------------------------------------------------------------------------------

    def login_token(self, nonce: str) -> str:
        """The sign-in form's CSRF token, bound to the nonce in the sign-in cookie."""
        return self._signer.sign("wizard-login", nonce)

    def login_token_ok(self, nonce: str | None, token: str | None) -> bool:
        value = self._signer.unsign("wizard-login", token, str) if token else None
        return bool(nonce) and value is not None and hmac.compare_digest(value.encode(), (nonce or "").encode())

    async def authenticate(self, email: str, password: str, ip: str) -> str:
        """The license of the owner ``email`` when ``password`` is theirs. Raises LoginRefused: over the failure
        limit (for the address or the IP; 429), or on a wrong address or password (counted)."""
        await self.refuse_throttled(email, ip)
        raw = await self.r.hgetall(keys.owner_login(email)) if email else {}
        stored = raw.get(b"password", b"").decode() or _DUMMY_HASH
        # argon2id takes tens of milliseconds of CPU: off the event loop
        matches, stale = await asyncio.to_thread(verify_password, password, stored)
        if matches and raw.get(b"org"):
            if stale:  # made with older parameters or the old scrypt: made again now that the password is known
                fresh = await asyncio.to_thread(hash_password, password)
                await self.r.hset(keys.owner_login(email), "password", fresh)
            await self.succeeded(email)
            return raw[b"org"].decode()
        await self.failed(email, ip)
        raise LoginRefused("Wrong e-mail address or password.", 0)

    # The failure counters are shared by every sign-in form (the wizard's and the agent console's, auth/console.py):
    # guessing one account's password on two pages gets no larger budget.

    async def refuse_throttled(self, email: str, ip: str) -> None:
        """Raises LoginRefused (with the seconds until the window ends) when ``email`` or ``ip`` failed too often."""
        email_key = keys.wizard_login_failures("email", email)
        ip_key = keys.wizard_login_failures("ip", ip)
        async with self.r.pipeline(transaction=False) as p:
            p.get(email_key)
            p.ttl(email_key)
            p.get(ip_key)
            p.ttl(ip_key)
            by_email, email_ttl, by_ip, ip_ttl = await p.execute()
        if int(by_email or 0) >= MAX_FAILURES_PER_EMAIL:
            raise LoginRefused(f"Too many failed sign-ins for {email}. Try again in {_minutes(email_ttl)}.",
                               max(int(email_ttl), 1))
        if int(by_ip or 0) >= MAX_FAILURES_PER_IP:
            raise LoginRefused(f"Too many failed sign-ins from your network. Try again in {_minutes(ip_ttl)}.",
                               max(int(ip_ttl), 1))

    async def failed(self, email: str, ip: str) -> None:
        """Count a failed sign-in against the address and the IP."""
        async with self.r.pipeline(transaction=False) as p:
            for key in (keys.wizard_login_failures("email", email), keys.wizard_login_failures("ip", ip)):
                p.incr(key)
                p.expire(key, LOCKOUT_SECONDS, nx=True)
            await p.execute()

    async def succeeded(self, email: str) -> None:
        await self.r.delete(keys.wizard_login_failures("email", email))


def _minutes(ttl: Any) -> str:
    minutes = max(1, (int(ttl) + 59) // 60) if int(ttl) > 0 else LOCKOUT_SECONDS // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
