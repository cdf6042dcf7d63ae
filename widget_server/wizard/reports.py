"""The dashboard's CSV export: the numbers of ``core/reports.py``'s dashboard as rows."""

from __future__ import annotations

import csv
import io
from typing import Any

REPORT_DISTRIBUTIONS = ("day", "hour", "day-hours", "month", "year")
COLUMNS = ("chats", "ended", "missed", "tickets", "tickets_missed", "tickets_offline", "good", "bad", "comments",
           "first_responses", "first_response_avg", "first_response_median", "first_response_p90", "duration_avg",
           "available_hours")


def _cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: an agent id (an e-mail address an administrator typed) that starts like a
    formula is quoted, so opening the file runs nothing."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(rows: list[dict[str, Any]], first: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([first, *COLUMNS])
    for row in rows:
        writer.writerow([_cell(row.get(first)), *(_cell(row.get(c)) for c in COLUMNS)])
    return out.getvalue().encode()
