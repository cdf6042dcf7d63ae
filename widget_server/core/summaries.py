"""Thread summaries (``request_thread_summary``) and plain-text transcripts (``get_thread_transcript``), made from the
thread's own record: no external AI service and nothing sent anywhere. A summary is a few bullet lines, each a fact
read off the thread (README "Thread summaries" lists them), so an agent who opens a chat knows at a glance who was in
it, how long it ran, how much was said, what the visitor first asked, how it was tagged and how it ended."""

from __future__ import annotations

from datetime import datetime

from ..protocol.chats import Thread
from ..protocol.events import Event, File, FilledForm, Message, RichMessage, SystemMessage

QUOTE = 200
"""Characters of a quoted message kept in a summary (then ``…``)."""
LAST_EVENTS = 3
"""How many of the thread's last messages a summary quotes."""
TRANSCRIPT_MAX = 200_000
"""Characters of a transcript at most: the latest lines are kept (a thread holds up to 20,000 events)."""


def _quote(text: str, limit: int = QUOTE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(created_at: str | None) -> str:
    return (created_at or "")[:19].replace("T", " ")


def _seconds(start: str | None, end: str | None) -> int | None:
    try:
        a = datetime.fromisoformat(start or "")
        b = datetime.fromisoformat(end or "")
    except ValueError:
        return None
    return max(0, int((b - a).total_seconds()))


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _public(event: Event) -> bool:
    return event.recipients != "agents" and event.visibility != "agents"


def _who(author: str | None, customer_id: str, names: dict[str, str]) -> str:
    if author == customer_id:
        return names.get(customer_id) or "Customer"
    return names.get(author or "") or author or "System"


def summary_text(thread: Thread, customer_id: str, names: dict[str, str], tags: list[str]) -> str:
    """The summary's bullet lines: participants; when it started and how long it ran (or that it is still going);
    message counts by side, with files and agents' private notes; the customer's first message; the tags; and the
    last ``LAST_EVENTS`` messages. ``names``: user id -> display name."""
    events = thread.events
    agents = [u for u in thread.user_ids if u != customer_id]
    lines = [f"• Participants: {_who(customer_id, customer_id, names)} (customer)"
             + (", " + ", ".join(f"{_who(a, customer_id, names)} (agent)" for a in agents) if agents else
                ", no agent")]
    last_at = events[-1].created_at if events else thread.created_at
    seconds = _seconds(thread.created_at, last_at)
    span = f", {_duration(seconds)} from its start to its last event" if seconds is not None else ""
    lines.append(f"• Started {_when(thread.created_at)} UTC{span}; "
                 + ("still active." if thread.active else "ended."))
    messages = [e for e in events if isinstance(e, (Message, RichMessage))]
    by_customer = sum(1 for e in messages if e.author_id == customer_id)
    notes = sum(1 for e in messages if not _public(e))
    files = sum(1 for e in events if isinstance(e, File))
    lines.append(f"• Messages: {by_customer} from the customer, {len(messages) - by_customer - notes} from agents"
                 + (f", {notes} private notes" if notes else "") + (f"; {files} files" if files else "") + ".")
    first = next((e for e in messages if e.author_id == customer_id and isinstance(e, Message)), None)
    if first is not None:
        lines.append(f"• First customer message: \"{_quote(first.text)}\"")
    lines.append(f"• Tags: {', '.join(tags)}." if tags else "• Tags: none.")
    quoted = [e for e in events if isinstance(e, Message) and _public(e)][-LAST_EVENTS:]
    if quoted:
        lines.append("• Last messages: " + " | ".join(
            f"{_who(e.author_id, customer_id, names)}: \"{_quote(e.text, 120)}\"" for e in quoted))
    closing = next((e for e in reversed(events) if isinstance(e, SystemMessage)), None)
    if closing is not None and not thread.active:
        lines.append(f"• Last system event: {_quote(closing.text, 120)}")
    return "\n".join(lines)


def transcript_text(thread: Thread, customer_id: str, names: dict[str, str]) -> str:
    """Every event of the thread as one line: ``[time] who: text`` (forms as their answers, files as their names,
    agents' private notes marked), oldest first, at most ``TRANSCRIPT_MAX`` characters (the latest kept)."""
    lines = []
    for e in thread.events:
        at = _when(e.created_at)
        who = _who(e.author_id, customer_id, names)
        note = "" if _public(e) else " (private note)"
        if isinstance(e, Message):
            lines.append(f"[{at}] {who}{note}: {e.text}")
        elif isinstance(e, SystemMessage):
            lines.append(f"[{at}] {e.text}")
        elif isinstance(e, File):
            lines.append(f"[{at}] {who}{note} sent a file: {e.name or e.url}")
        elif isinstance(e, FilledForm):
            answers = "; ".join(f"{getattr(f, 'label', '')}: {getattr(f, 'answer', '')}" for f in e.fields)
            lines.append(f"[{at}] {who} filled a form: {answers}")
        elif isinstance(e, RichMessage):
            lines.append(f"[{at}] {who}{note} sent a card")
    text = "\n".join(lines)
    if len(text) > TRANSCRIPT_MAX:
        text = "…" + text[-TRANSCRIPT_MAX:]
    return text
