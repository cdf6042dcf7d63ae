"""Proxy mode (``WIDGET_UPSTREAM_URL``): the server keeps its widget, wizard, widget configuration and visitor tracking,
and forwards the Customer Chat API to another Customer Chat API server (LiveChat, or another widget_server).

* ``client.py``: the worker's HTTP client for the upstream's Web API and token endpoint, and its view of the
  upstream's health (down: fail at once and probe with backoff).
* ``rtm.py``: one edge RTM connection's websocket to the upstream: requests matched to responses, pushes relayed
  to that one edge connection.
* ``core.py``: ``UpstreamCore``, the ChatCore that forwards every action (the dispatcher does not know the difference).
* ``tokens.py``: which customer an upstream token belongs to, as the edge learned it (for tracking).
* ``files.py``: the ``/files`` relay: downloads streamed from the upstream, bounded, with the headers that matter.
"""

from .client import Upstream, UpstreamError
from .core import UpstreamCore

__all__ = ["Upstream", "UpstreamCore", "UpstreamError"]
