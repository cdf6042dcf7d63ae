"""Structured logs: one JSON object a line, every line of a request carrying its request id.

The stdlib ``logging`` stays the API (every module's ``log = logging.getLogger(...)``); this module only formats. The
same configuration is handed to granian (``log_dictconfig``), which applies it in the main process and in every
worker, so granian's own lines are JSON too. What a line holds is what the code logs: no handler logs a header, a
query string, a body or a message's text, and ``tests/test_observability.py`` greps a story's log for its secrets.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import re
import secrets
import time
from typing import Any

import msgspec

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
"""The id of the request (or RTM socket) this task serves; set by ``observe/asgi.py``."""

_INCOMING_ID = re.compile(rb"[A-Za-z0-9._-]{8,64}")
"""A request id a proxy gave (nginx's ``$request_id``: 32 hex digits) is kept if it looks like one; anything else
is replaced, so a client cannot write arbitrary text into every line of its request."""

# the attributes every LogRecord has; anything else on a record came from ``extra=`` and goes into the line
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_encode = msgspec.json.Encoder(enc_hook=str).encode


_PREFIX = secrets.token_hex(6)
_next_id = itertools.count(1).__next__


def request_id(incoming: bytes | None) -> str:
    """The request's id: the proxy's ``X-Request-ID`` when it is well formed, else a new one: this worker's random
    prefix and a count (unique across workers and restarts, and no ``urandom`` call per request)."""
    if incoming is not None and _INCOMING_ID.fullmatch(incoming):
        return incoming.decode("ascii")
    return f"{_PREFIX}{_next_id():x}"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id"?, ...extra, "exc"?}`` on one line."""

    _second = -1
    _stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # (strftime once a second: an access line is written for every request)
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        line: dict[str, Any] = {
            "time": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = REQUEST_ID.get()
        if rid:
            line["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):  # (what ``extra=`` added)
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _encode(line).decode()


class TextFormatter(logging.Formatter):
    """The plain format (``WIDGET_LOG_FORMAT=text``), with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = REQUEST_ID.get()
        return f"{text} [{rid}]" if rid else text


def dictconfig(log_format: str, level: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of the server (and of granian, which applies it in every worker)."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {"console": {"formatter": "main", "class": "logging.StreamHandler", "stream": "ext://sys.stdout"}},
        "root": {"handlers": ["console"], "level": level.upper()},
        "loggers": {
            "_granian": {"handlers": ["console"], "level": level.upper(), "propagate": False},
            # granian's access log stays off (ours is observe/asgi.py's); if switched on, it is JSON like the rest
            "granian.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }


def configure(log_format: str, level: str) -> None:
    """Apply ``dictconfig`` in this process (the CLI, before granian starts)."""
    import logging.config

    logging.config.dictConfig(dictconfig(log_format, level))
