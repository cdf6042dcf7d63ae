"""Forms the widget shows (pre-chat, post-chat, the offline "ticket" form) and what a filled one means beyond its
event: a post-chat survey's rating question is the chat's rating, stored where LiveChat keeps it (the thread
properties ``rating.score`` 1 = good, 0 = bad, and ``rating.comment``), so a survey and the widget's own
good/bad card count the same way."""

from __future__ import annotations

from typing import Any

from ..protocol.events import FilledForm

COMMENT_MAX = 500
"""A survey's comment as the rating's comment is cut to this many characters (the whole answer stays in the event)."""

_SCORES: dict[Any, int] = {"good": 1, "bad": 0, "1": 1, "0": 0, 1: 1, 0: 0}


def _score(answer: Any) -> int | None:
    """A rating answer: ``"good"``/``"bad"`` (or 1/0), or a choice ``{"id": "good", "label": …}``."""
    if isinstance(answer, dict):
        answer = answer.get("id")
    if isinstance(answer, bool) or not isinstance(answer, (str, int)):
        return None
    return _SCORES.get(answer)


def postchat_rating(event: FilledForm) -> dict[str, Any] | None:
    """The ``rating`` properties a post-chat survey answers: the score of its first answered ``rating`` field and,
    as the comment, its first non-empty text answer (the "anything we could do better?" question); None when the
    form is not a post-chat survey or its rating question was left out."""
    if event.form_type != "postchat":
        return None
    score = next((s for f in event.fields if f.type == "rating" and (s := _score(f.answer)) is not None), None)
    if score is None:
        return None
    rating: dict[str, Any] = {"score": score}
    comment = next((f.answer.strip() for f in event.fields
                    if f.type in ("question", "textarea") and isinstance(f.answer, str) and f.answer.strip()), "")
    if comment:
        rating["comment"] = comment[:COMMENT_MAX]
    return rating
