"""Every Valkey key and channel name, in one place.

Keys are hash-tagged (``{...}``) by the entity whose multi-key operations must stay in one cluster slot: a chat's
keys share the chat id, a customer's keys share the customer id, a license's keys share the organization id.
"""

from __future__ import annotations

P = "ws"

# process-wide
SECRET = f"{P}:secret"
DEFAULT_LICENSE = f"{P}:default_license"
SCHEMA_VERSION = f"{P}:schema"
"""The data's schema version: the last migration applied (``core/migrations.py``); missing on a store never migrated."""
SCHEMA_LOCK = f"{P}:schema:lock"
"""Held while one process migrates; the others wait for it."""
LICENSE_NUMBERS = f"{P}:license_numbers"
"""Hash LiveChat-style numeric license id -> organization id (``window.__lc.license``, ``?license_id=``); each
license's own hash keeps its number in the field ``license_id`` (``core/licenses.py``)."""


# license (organization)
def license(org: str) -> str:
    return f"{P}:{{{org}}}:license"


def license_config(org: str) -> str:
    return f"{P}:{{{org}}}:config"


def agents(org: str) -> str:
    """Hash agent id (e-mail) -> encoded agent record."""
    return f"{P}:{{{org}}}:agents"


def agent_account(agent_id: str) -> str:
    """Agent ids are e-mail addresses, unique across the deployment: id -> organization id."""
    return f"{P}:account:{{{agent_id}}}"


def org_chats(org: str) -> str:
    """Sorted set chat_id -> last thread creation (ms): every chat of a license, for agents."""
    return f"{P}:{{{org}}}:chats"


def org_archives(org: str) -> str:
    """Sorted set "chat_id thread_id" -> close time (ms): ended threads, for list_archives."""
    return f"{P}:{{{org}}}:archives"


def archive_index(org: str, kind: str, value: str) -> str:
    """Sorted set, as ``org_archives``, of the ended threads of one customer (kind ``c``), agent (``a``), group
    (``g``) or with one word in their texts (``w``), tag (``t``), event type (``e``), customer e-mail (``m``), chat
    (``h``), kind of agent (``y``: ``human``, ``chatbot``) or state (``x``: ``assigned``/``unassigned``,
    ``tagged``/``untagged``): list_archives' index
    (core/archives.py)."""
    return f"{P}:{{{org}}}:arch:{kind}:{value}"


def archive_scratch(org: str, nonce: str) -> str:
    """A union of index sets, made and deleted inside one archive search."""
    return f"{P}:{{{org}}}:arch:tmp:{nonce}"


def archives_indexed(org: str) -> str:
    """Set once every archived thread of the license is in its index (threads archived before it existed). The name
    carries the index's version: a version that indexes more facts indexes every archived thread again, once."""
    return f"{P}:{{{org}}}:arch:indexed:2"


# routing (all of a license's routing keys share its hash tag, so one script sees them together)
def routing_status(org: str) -> str:
    """Hash agent id -> accepting_chats | not_accepting_chats | offline."""
    return f"{P}:{{{org}}}:rt:status"


def routing_load(org: str) -> str:
    """Hash agent id -> number of active chats the agent is in."""
    return f"{P}:{{{org}}}:rt:load"


def routing_max(org: str) -> str:
    """Hash agent id -> max concurrent chats."""
    return f"{P}:{{{org}}}:rt:max"


def routing_last(org: str) -> str:
    """Hash agent id -> when routing last gave the agent a chat (ms), for round-robin between equals."""
    return f"{P}:{{{org}}}:rt:last"


def first_responses(org: str, group_id: int) -> str:
    """List of a group's latest first-response times (seconds, newest first, capped at
    ``core.welcome.FIRST_RESPONSES_KEPT``): the welcome message's "typically replies in"."""
    return f"{P}:{{{org}}}:rt:first:{group_id}"


def group_members(org: str, group_id: int, priority: str) -> str:
    """Set of agent ids of a group with a routing priority (first, normal, last; supervisors are in none)."""
    return f"{P}:{{{org}}}:rt:group:{group_id}:{priority}"


def agent_chats(org: str, agent_id: str) -> str:
    """Set of the active chats an agent is in (re-routed when the agent goes away)."""
    return f"{P}:{{{org}}}:rt:chats:{agent_id}"


def agent_idle_chats(org: str, agent_id: str) -> str:
    """Set of the agent's chats (a subset of ``agent_chats``) that went idle (``core/inactivity.py``): they do not
    count in the agent's load until a message wakes them."""
    return f"{P}:{{{org}}}:rt:idle:{agent_id}"


def chat_operations(org: str) -> str:
    """Sorted set "<kind> <chat_id> ..." -> when it began (ms): the license's chat operations of several steps in
    flight ("join <chat> <thread> <agent>", "close <chat> <thread>", "route <chat> <thread>", "start <chat>"). Each
    is noted before (or, for a join, in the same script as) its first write and removed after its last, so the entries
    older than a grace period are the work of a worker that died midway; the repair pass (core/repair.py) finishes
    them."""
    return f"{P}:{{{org}}}:rt:ops"


REPAIR_LICENSES = f"{P}:{{repair}}:orgs"
"""Sorted set organization id -> when a worker last noted an operation of it (s): the licenses the repair pass
looks at."""

REPAIR_LOCK = f"{P}:{{repair}}:lock"
"""Held (SET NX PX, a random token) by the one worker running the repair pass."""


def agent_connections(org: str) -> str:
    """Sorted set "agent_id conn_id" -> last seen (s): agents' RTM sockets on any worker. A closed socket stays,
    scored as long silent, until the grace period after it is over (see core/presence.py)."""
    return f"{P}:{{{org}}}:rt:conns"


AGENT_PRESENCE = f"{P}:{{presence}}:orgs"
"""Sorted set organization id -> when one of its agents last connected or refreshed a socket (s): the licenses whose
agent sockets any worker checks for ones left behind by a dead worker."""


def bots(org: str) -> str:
    """Set of the license's bot ids (routing skips them for chats a bot handed over)."""
    return f"{P}:{{{org}}}:rt:bots"


def group_queue(org: str, group_id: int) -> str:
    """List of "chat_id thread_id" waiting for an agent of the group, oldest first."""
    return f"{P}:{{{org}}}:rt:queue:{group_id}"


def agent_token(token_sha: str) -> str:
    return f"{P}:pat:{{{token_sha}}}"


def owner_login(email: str) -> str:
    return f"{P}:owner:{{{email}}}"


def file(org: str, file_id: str) -> str:
    return f"{P}:{{{org}}}:file:{file_id}"


def uploads_pending(org: str) -> str:
    """Sorted set '<size>:<file id>' -> expiry (unix s): the license's uploads not attached to an event yet."""
    return f"{P}:{{{org}}}:up:pending"


def uploads_pending_bytes(org: str) -> str:
    """String counter: the total size of ``uploads_pending``."""
    return f"{P}:{{{org}}}:up:bytes"


def uploads_by_customer(org: str, cid: str, hour: int) -> str:
    """String counter: bytes a customer uploaded to the license in one hour (unix time // 3600)."""
    return f"{P}:{{{org}}}:up:c:{cid}:{hour}"


def uploads_by_address(org: str, address: str, hour: int) -> str:
    """String counter: bytes uploaded to the license from one client address (an IPv6 /64) in one hour."""
    return f"{P}:{{{org}}}:up:a:{address}:{hour}"


def webhooks(org: str) -> str:
    """Hash webhook id -> encoded registration."""
    return f"{P}:{{{org}}}:webhooks"


def webhook_log(org: str, webhook_id: str) -> str:
    """List of the latest delivery attempts of a webhook, newest first (bounded)."""
    return f"{P}:{{{org}}}:whlog:{webhook_id}"


WEBHOOK_STREAM = f"{P}:{{webhooks}}:stream"
"""Deliveries waiting to be sent, read by every worker through one consumer group."""
WEBHOOK_RETRY = f"{P}:{{webhooks}}:retry"
"""Sorted set of deliveries to retry, scored by when (ms)."""
WEBHOOK_GROUP = "deliverers"


# the mail outbox (mail/outbox.py). Every key shares the hash tag {mail}, not a license's: a script claims messages of
# any license from one queue and settles a message, its license's pending index and failure list in one round trip.
MAIL_QUEUE = f"{P}:{{mail}}:queue"
"""Sorted set message id -> when it may be claimed (ms): when it is due, or, while a worker sends it, when that
worker's lease ends (a worker that died leaves it to be claimed again then)."""


def mail_message(mail_id: str) -> str:
    """Hash of one queued message: org, body (the encoded OutgoingMail), enqueued (ms), attempts, lease (the token of
    the claim that sends it now), error (the last one); expires some time after the give-up age."""
    return f"{P}:{{mail}}:m:{mail_id}"


def mail_pending(org: str) -> str:
    """Sorted set message id -> enqueue time (ms): a license's queued messages, bounded by ``mail_max_pending``."""
    return f"{P}:{{mail}}:pending:{org}"


def mail_failed(org: str) -> str:
    """List of a license's latest messages given up (a permanent refusal, or too old), newest first, bounded."""
    return f"{P}:{{mail}}:failed:{org}"


# customer
def invitation(org: str, cid: str) -> str:
    """An agent started a chat with this visitor: the loader's next heartbeat opens the widget (string: chat id)."""
    return f"{P}:{{{org}}}:invite:{cid}"


def customer(cid: str) -> str:
    return f"{P}:{{{cid}}}:cust"


def customer_chats(cid: str) -> str:
    """Sorted set chat_id -> last thread creation time (ms)."""
    return f"{P}:{{{cid}}}:chats"


def customer_connections(cid: str) -> str:
    """Sorted set connection id -> connect time (s): open RTM sockets of the customer, on any worker."""
    return f"{P}:{{{cid}}}:conns"


# chat
def chat(chat_id: str) -> str:
    return f"{P}:{{{chat_id}}}:chat"


def chat_threads(chat_id: str) -> str:
    """List of thread ids, oldest first (append only)."""
    return f"{P}:{{{chat_id}}}:threads"


def thread(chat_id: str, thread_id: str) -> str:
    return f"{P}:{{{chat_id}}}:t:{thread_id}"


def thread_events(chat_id: str, thread_id: str) -> str:
    """Hash event sequence number -> encoded event."""
    return f"{P}:{{{chat_id}}}:t:{thread_id}:ev"


def chat_last_events(chat_id: str) -> str:
    """Hash event type -> encoded {thread_id, thread_created_at, event} (list_chats' last_event_per_type)."""
    return f"{P}:{{{chat_id}}}:lept"


def chat_custom_ids(chat_id: str) -> str:
    """Hash "<author id> <custom_id>" -> event id of the chat's events sent with a ``custom_id``: a retried
    ``send_event`` returns the stored event instead of storing a copy. Lives as long as the chat."""
    return f"{P}:{{{chat_id}}}:cids"


def chat_outbox(chat_id: str) -> str:
    """Hash entry -> event id: the chat's stored events whose webhook deliveries are not queued yet (written by the
    send_event script, removed once they are; the repair pass queues those of a worker that died in between)."""
    return f"{P}:{{{chat_id}}}:outbox"


# bus
def user_channel(user_id: str) -> str:
    return f"{P}:{{{user_id}}}:push"


def worker_channel(worker_id: str) -> str:
    return f"{P}:worker:{worker_id}"


CONFIG_FEED = "config:changes"
"""The bus "user" whose channel (``user_channel``) tells every worker that a license's configuration changed, so
each drops its cached copy at once (``core/config_changes.py``). Never an agent's nor a customer's id."""


# tracking (every key of a license's visitors shares the license's hash tag, so one script updates them together;
# the layout and why it is compact is explained in widget_server/tracking/tracker.py)
def tracking_seq(org: str) -> str:
    """String counter: the next dense visitor id never handed out."""
    return f"{P}:{{{org}}}:tr:seq"


def tracking_free_ids(org: str) -> str:
    """List of dense ids freed by the retention sweep, handed out again before the counter grows."""
    return f"{P}:{{{org}}}:tr:free"


def tracking_ids(org: str, bucket: int) -> str:
    """Hash packed visitor id -> dense id; visitors are spread over a fixed number of buckets by a hash of their id."""
    return f"{P}:{{{org}}}:tr:id:{bucket}"


def tracking_records_prefix(org: str) -> str:
    """Prefix of the record buckets: hash (dense id % per bucket) -> packed counters + packed visitor id."""
    return f"{P}:{{{org}}}:tr:rec:"


def tracking_records(org: str, bucket: int) -> str:
    return f"{tracking_records_prefix(org)}{bucket}"


def tracking_visit_prefix(org: str) -> str:
    """Prefix of the per-visitor lists: the current visit's details, then its last pages (bounded)."""
    return f"{P}:{{{org}}}:tr:visit:"


def tracking_visit(org: str, dense_id: int) -> str:
    return f"{tracking_visit_prefix(org)}{dense_id}"


def tracking_user_agents_prefix(org: str) -> str:
    """Prefix of the interned user agents: hash (digest of a user agent) -> user agent, one per retention period
    (``tracking_user_agents``); a visit's details name their user agent by period and digest."""
    return f"{P}:{{{org}}}:tr:ua:"


def tracking_user_agents(org: str, period: int) -> str:
    return f"{tracking_user_agents_prefix(org)}{period}"


def tracking_online(org: str, slot: int) -> str:
    """Bitmap over dense ids of the visitors seen during one slot (unix time // slot seconds, a minute by default);
    expires a few slots later."""
    return f"{P}:{{{org}}}:tr:on:{slot}"


def tracking_online_union(org: str) -> str:
    """Scratch bitmap a script ORs the recent minutes into and deletes before it returns."""
    return f"{P}:{{{org}}}:tr:on:union"


def tracking_day(org: str, day: str) -> str:
    """Hash of a UTC day's (YYYY-MM-DD) counters: page_views, visits, chats."""
    return f"{P}:{{{org}}}:tr:day:{day}"


def tracking_uniques(org: str, day: str) -> str:
    """HyperLogLog of the visitors seen on a UTC day."""
    return f"{P}:{{{org}}}:tr:uv:{day}"


def tracking_scratch(org: str, n: int) -> str:
    """Scratch bitmaps of the listing and presence scripts, deleted before each script returns."""
    return f"{P}:{{{org}}}:tr:on:scratch:{n}"


def tracking_watch(org: str) -> str:
    """Flag with a TTL, kept set by every worker with an agent subscribed to the license's visitors: page views of a
    watched license are published (``core/visitors.py``)."""
    return f"{P}:{{{org}}}:tr:watch"


def tracking_bans(org: str) -> str:
    """Hash packed visitor id -> unix time a ban ends: the license's banned customers, beside the tracking keys so the
    page-view script refuses a banned visitor in the same round trip (the customer record keeps ``banned_until``)."""
    return f"{P}:{{{org}}}:tr:bans"


def agents_feed(org: str) -> str:
    """The bus "user" every agent socket of a license also listens on: pushes for all of the license's agents
    (``routing_status_set``, ``customer_banned``) are one message on it, not one per agent."""
    return f"agents:{org}"


def visitor_feed(org: str) -> str:
    """The bus "user" whose channel (``user_channel``) carries a license's visitor pushes to the workers that watch
    it. Never an agent's id (those are e-mail addresses) nor a customer's (uuids)."""
    return f"visitors:{org}"


TRACKING_SEQ_MATCH = f"{P}:{{*}}:tr:seq"
"""SCAN pattern that finds every license holding tracked visitors (for the retention sweep)."""


# the theming wizard (owners' sessions are their own; a license's wizard data shares the license's hash tag)
def wizard_session(session_id: str) -> str:
    """Hash of a site owner's wizard session: org, email, csrf token, preview token; expires when left idle."""
    return f"{P}:wizard:session:{{{session_id}}}"


def wizard_login_failures(kind: str, subject: str) -> str:
    """Counter of failed wizard sign-ins for one e-mail address (``kind`` "email") or client IP ("ip"); it expires
    with the lockout window."""
    return f"{P}:wizard:fail:{kind}:{{{subject}}}"


def wizard_versions(org: str) -> str:
    """Hash version number -> encoded saved wizard settings (the newest ones only; older numbers are deleted)."""
    return f"{P}:{{{org}}}:wizard:versions"


def wizard_version_seq(org: str) -> str:
    """String counter: the last version number the wizard handed out."""
    return f"{P}:{{{org}}}:wizard:seq"


def wizard_preview(org: str, token: str) -> str:
    """An owner's unsaved draft (an encoded license configuration) that the widget shows to the wizard's preview
    page only; expires when the wizard is left."""
    return f"{P}:{{{org}}}:wizard:preview:{token}"


def avatar(org: str, name: str) -> str:
    """An uploaded agent avatar (hash: type, body), named by its content digest; expires unless a save keeps it."""
    return f"{P}:{{{org}}}:avatar:{name}"


# proxy mode (upstream/)
def upstream_token(digest: str) -> str:
    """String, with the token's lifetime as TTL: the organization and customer of an upstream access token (by its
    SHA-256), as the edge learned them from the upstream's token or login response (``upstream/tokens.py``)."""
    return f"{P}:uptoken:{{{digest}}}"


# business hours (core/availability.py)
def group_statuses(org: str) -> str:
    """String: the license's group statuses as last announced (``{"<group id>": "online"|"offline"}`` JSON), swapped
    with SET … GET so that of two workers seeing the same change exactly one pushes ``groups_status_updated``."""
    return f"{P}:{{{org}}}:groups:status"


HOURS_DUE = f"{P}:{{hours}}:due"
"""Sorted set license -> unix ms of its groups' next business-hours transition (opening or closing time)."""
HOURS_LOCK = f"{P}:{{hours}}:lock"
"""Lease of the one worker that handles due transitions (SET NX PX)."""

# chat inactivity (core/inactivity.py)
INACTIVITY_DUE = f"{P}:{{inactivity}}:due"
"""Sorted set chat id -> unix ms at which the chat's inactivity timers (transfer, idle, close) are next looked at:
never later than the earliest of them (a look that finds it early schedules the next one). Written when a thread
is routed or joined, not on each message: the chat's own fields say when it was last active."""
INACTIVITY_LOCK = f"{P}:{{inactivity}}:lock"
"""Lease of the one worker that handles due chats (SET NX PX, a random token)."""


def customers_feed(org: str) -> str:
    """The bus "user" every customer socket of a license also listens on: ``groups_status_updated`` is one message
    for all of them. Never a customer's id (uuids) nor an agent's (e-mail addresses)."""
    return f"customers:{org}"


# tickets (core/tickets.py): a ticket's hash is tagged by its own id (one key: every write is one command); the license's
# indexes by the license
def ticket(ticket_id: str) -> str:
    """Hash of one ticket: its fields, ``seq`` (messages so far) and ``m:<n>`` (message n, JSON); expires
    ``ticket_retention_days`` after its last update."""
    return f"{P}:{{tk:{ticket_id}}}:ticket"


def tickets(org: str, status: str, group_id: int) -> str:
    """Sorted set ticket id -> last update (ms): the license's ``open`` or ``solved`` tickets of one group (agents
    list their groups'); entries older than the retention are pruned on every write."""
    return f"{P}:{{{org}}}:tickets:{status}:{group_id}"


def ticket_inbound(ticket_id: str, hour: int) -> str:
    """Counter of e-mail replies taken into one ticket in one clock hour."""
    return f"{P}:{{tk:{ticket_id}}}:inbound:{hour}"


def transcripts_sent(cid: str, hour: int) -> str:
    """Counter of transcripts e-mailed for one customer in one clock hour (``send_transcript``)."""
    return f"{P}:{{{cid}}}:transcripts:{hour}"


MISSED_DUE = f"{P}:{{missed}}:due"
"""Sorted set "org chat_id thread_id" -> when the queued thread is missed (ms), if still queued then."""


def missed_claim(thread_id: str) -> str:
    """Short-lived lock of the worker that handles one due queued thread (SET NX EX)."""
    return f"{P}:{{missed}}:claim:{thread_id}"


def agent_away(org: str, agent_id: str) -> str:
    """Set of an agent's RTM connection ids that ``set_away_status`` marked away; with the field ``auto`` of
    ``agent_auto_away`` it tells whether the away state made them ``not_accepting_chats``."""
    return f"{P}:{{{org}}}:away:{agent_id}"


def agent_auto_away(org: str, agent_id: str) -> str:
    """Set (a string) while an agent is ``not_accepting_chats`` because every connection of theirs went away."""
    return f"{P}:{{{org}}}:autoaway:{agent_id}"


# reports (core/reports.py): counters kept as chats happen, per license and UTC hour; they expire with the chats
def report_hour(org: str, hour: int) -> str:
    """Hash of a license's report counters for one UTC hour (``hour`` = unix ms // 3,600,000): ``chats`` (threads
    started), ``ended``, ``missed``, first responses (``frt_n``, ``frt_sum``, histogram ``frt_b<bin>``), durations,
    ratings (``good``, ``bad``, ``comments``), ``tickets``, availability (``avail_ms``), each also per agent
    (``a:<agent id>:<name>``) and per group (``g:<group id>:<name>``). Expires the chat retention after its hour."""
    return f"{P}:{{{org}}}:rep:h:{hour}"


def report_rated(org: str, hour: int) -> str:
    """Hash thread id -> the rating counted for it (``g``, ``b``, ``gc``, ``bc``: good or bad, with a comment), of
    the threads started in one UTC hour: a changed or repeated rating moves the counters once."""
    return f"{P}:{{{org}}}:rep:rated:{hour}"


def report_comments(org: str) -> str:
    """List of the license's latest rating comments (JSON: thread, score, comment, agents, group, at), newest first,
    capped (``core/reports.py``): the dashboard shows them."""
    return f"{P}:{{{org}}}:rep:comments"


def report_accepting(org: str) -> str:
    """Hash agent id -> since when (ms) the agent accepts chats: the open interval of their availability."""
    return f"{P}:{{{org}}}:rep:accepting"


def report_groups_accepting(org: str) -> str:
    """Hash ``n:<group id>`` -> how many of the group's agents accept chats, ``s:<group id>`` -> since when (ms) at
    least one does."""
    return f"{P}:{{{org}}}:rep:accepting:groups"


def report_license_accepting(org: str) -> str:
    """String: since when (ms) at least one of the license's agents accepts chats (absent while none does)."""
    return f"{P}:{{{org}}}:rep:accepting:any"


def tags(org: str) -> str:
    """String: the license's tags (Configuration API ``create_tag`` …), one JSON list, written by compare-and-set. Not
    in the license configuration, which every page view reads: only agents' tagging and the console read tags."""
    return f"{P}:{{{org}}}:tags"


def customer_bans(org: str) -> str:
    """Hash customer id -> JSON ban record (who banned, when, until when, the visit's address): what
    ``list_customer_bans`` lists and ``unban_customer`` lifts. Written beside the customer record's ``banned_until``
    and the tracker's ``tr:bans``, which are what refuse a banned customer."""
    return f"{P}:{{{org}}}:bans"


# Configuration API, part 2 (issue 21): bot templates, license webhooks' state, company details
def bot_templates(org: str) -> str:
    """Hash bot template id -> encoded template (its owner client id, fields and the hash of its secret)."""
    return f"{P}:{{{org}}}:bot_templates"


def webhooks_disabled(org: str) -> str:
    """Set of the owner client ids (``""``: registrations without one) whose license webhooks are disabled
    (``disable_license_webhooks``); every client's are enabled until then."""
    return f"{P}:{{{org}}}:webhooks_disabled"


def company(org: str) -> str:
    """Hash field -> value: the license's company details (``update_company_details``)."""
    return f"{P}:{{{org}}}:company"


def unsuspension_requested(agent_id: str) -> str:
    """Set while a suspended agent's request to be unsuspended was mailed lately (SET NX EX: one mail a day)."""
    return f"{P}:{{{agent_id}}}:unsuspension_requested"


# customer API v3.6 breadth (core/links.py, core/local.py)
def url_info(digest: str) -> str:
    """A link preview (``get_url_info``) by the SHA-256 of its URL, shared by every license (it is the public page's
    own title and image), with its expiry (``WIDGET_URL_INFO_CACHE_SECONDS``)."""
    return f"{P}:urlinfo:{digest}"


def url_info_calls(cid: str, minute: int) -> str:
    """Counter of ``get_url_info`` calls that fetched a page, per customer and clock minute."""
    return f"{P}:{{{cid}}}:urlinfo:{minute}"


def email_verifications(cid: str, hour: int) -> str:
    """Counter of verification mails sent to one customer in one clock hour (``request_email_verification``)."""
    return f"{P}:{{{cid}}}:emailverify:{hour}"


def email_verification_callbacks(cid: str, hour: int) -> str:
    """Counter of the callbacks one customer's address, verified already, had made at once in one clock hour."""
    return f"{P}:{{{cid}}}:emailverify-callbacks:{hour}"


def email_verifications_to(address_sha256: str, hour: int) -> str:
    """Counter of verification mails sent to one e-mail address (by its SHA-256) in one clock hour, whoever asked."""
    return f"{P}:emailverify-to:{{{address_sha256}}}:{hour}"


def greeting_stats(org: str) -> str:
    """Hash ``<greeting id>:button_clicks`` -> count (``send_greeting_button_clicked``): one field per greeting."""
    return f"{P}:{{{org}}}:greeting_stats"


# the agent console's sign-in and canned responses (issue 18)
def agent_password(agent_id: str) -> str:
    """Hash of an agent's console password: ``password`` (argon2id) and ``token`` (the ``token_sha`` of the agent
    record it was set for: a deleted agent's password does not open a re-created account of the same e-mail).
    Owners' password is ``owner_login``'s (one account opens the wizard and the console)."""
    return f"{P}:agentpw:{{{agent_id}}}"


def console_session(session_id: str) -> str:
    """Hash of an agent's console session: org, agent, csrf; expires when left idle (``auth/console.py``)."""
    return f"{P}:console:session:{{{session_id}}}"


def canned_responses(org: str, owner: str) -> str:
    """Hash canned response id -> encoded canned response: the license's own (``owner`` "*") or one agent's
    (``owner`` their id) (``core/canned.py``)."""
    return f"{P}:{{{org}}}:canned:{owner}"


def canned_seq(org: str) -> str:
    """Counter: the license's last canned response id."""
    return f"{P}:{{{org}}}:canned:seq"
