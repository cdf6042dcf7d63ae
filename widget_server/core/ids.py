"""Identifiers in LiveChat's shapes: 10-character base36 chat and thread ids, UUIDs for customers and licenses."""

from __future__ import annotations

import secrets
import uuid

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def short_id() -> str:
    """A chat or thread id such as ``PJ0MRSHTDG`` (36^10 ≈ 3.7e15 values)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def uuid_id() -> str:
    return str(uuid.uuid4())


def split_event_id(event_id: str) -> tuple[str, int] | None:
    """``"K600PKZON8_3"`` -> ``("K600PKZON8", 3)``; None when it is not a server event id."""
    thread_id, sep, seq = event_id.rpartition("_")
    if not sep or not thread_id or not (seq.isascii() and seq.isdigit()) or len(seq) > 9:
        return None
    return thread_id, int(seq)
