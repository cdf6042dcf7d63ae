// The agent console: signs in with a personal access token and speaks the Agent RTM API over one websocket.
// Everything users wrote reaches the DOM as text (textContent / Text nodes); nothing is ever parsed as HTML.

const TOKEN_KEY = "widget_server.agent_token";
const TYPING_IDLE_MS = 3000;
const PING_MS = 30000;
const MAX_RECONNECT_MS = 30000;

const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become Text nodes, so user data stays text. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// --- the RTM connection ------------------------------------------------------------------------------------------

class RtmError extends Error {
  constructor(type, message) {
    super(message || type || "Request failed");
    this.type = type || "internal";
  }
}

class Rtm {
  #ws = null;
  #pending = new Map();
  #next = 0;
  #ping = 0;

  constructor({ onPush, onClose }) {
    this.onPush = onPush;
    this.onClose = onClose;
  }

  /** Opens the socket (same origin; wss on https pages). Resolves once it is open. */
  open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/v3.6/agent/rtm/ws`);
    this.#ws = ws;
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("message", (e) => this.#receive(e.data));
      ws.addEventListener("close", (e) => {
        reject(new RtmError("connection", "Could not connect to the server"));
        this.#failPending();
        clearInterval(this.#ping);
        if (this.#ws === ws) {
          this.#ws = null;
          this.onClose(e);
        }
      });
      // proxies drop sockets that stay silent; the server itself never does
      this.#ping = setInterval(() => this.request("ping").catch(() => {}), PING_MS);
    });
  }

  request(action, payload = {}) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new RtmError("connection", "Not connected"));
    const requestId = String(++this.#next);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new RtmError("timeout", `${action} got no answer`));
      }, 15000);
      this.#pending.set(requestId, { resolve, reject, timer });
      ws.send(JSON.stringify({ action, request_id: requestId, payload }));
    });
  }

  close() {
    const ws = this.#ws;
    this.#ws = null;
    clearInterval(this.#ping);
    this.#failPending();
    if (ws) ws.close(1000);
  }

  #failPending() {
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(new RtmError("connection", "Connection closed"));
    }
    this.#pending.clear();
  }

  #receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "push") {
      this.onPush(frame.action, frame.payload ?? {});
      return;
    }
    const pending = this.#pending.get(String(frame.request_id));
    if (!pending) return;
    this.#pending.delete(String(frame.request_id));
    clearTimeout(pending.timer);
    if (frame.success) pending.resolve(frame.payload);
    else pending.reject(new RtmError(frame.payload?.error?.type, frame.payload?.error?.message));
  }
}

// --- state ----------------------------------------------------------------------------------------------------------

const state = {
  rtm: null,
  me: null,
  chats: new Map(), // chat id -> chat (see newChat)
  items: new Map(), // chat id -> its <li> in the list
  names: new Map(), // user id -> display name, from every user list seen
  selected: null,
  signedIn: false,
  reconnectMs: 1000,
  reconnectTimer: 0,
  typing: { chatId: null, timer: 0 },
  visitors: {
    subId: null, // the subscribe_customers subscription of this socket
    customers: new Map(), // customer id -> Customer (agent view), kept current by the pushes
    rows: new Map(), // customer id -> its <tr>
    listing: true, // false while more visitors are online than the subscription lists: totals only
    total: 0,
    snapshotAt: 0,
    hours: [], // get_visitor_statistics' hourly counters
    range: "today",
    view: "chats",
    timers: [],
  },
};

function newChat(id) {
  return {
    id, users: [], active: false, threadId: null, lastText: "", queue: null,
    events: [], eventIds: new Set(), historyLoaded: false, nextPageId: null,
    peek: "", typing: new Map(), note: "", gone: false,
  };
}

const agentsOf = (chat) => chat.users.filter((u) => u.type === "agent");
const customerOf = (chat) => chat.users.find((u) => u.type === "customer");
const isMine = (chat) => state.me !== null && agentsOf(chat).some((u) => u.id === state.me.id);
const isQueued = (chat) => chat.active && !chat.gone && agentsOf(chat).length === 0;
const isOpen = (chat) => chat.active && !chat.gone;

function customerName(chat) {
  const customer = customerOf(chat);
  if (!customer) return "Customer";
  return customer.name || customer.email || `Customer ${customer.id.slice(0, 8)}`;
}

function rememberUsers(users) {
  for (const u of users) if (u.name) state.names.set(u.id, u.name);
}

function authorName(chat, authorId) {
  if (state.me && authorId === state.me.id) return "You";
  const customer = customerOf(chat);
  if (customer && customer.id === authorId) return customerName(chat);
  return state.names.get(authorId) || authorId || "System";
}

function eventPreview(event) {
  switch (event.type) {
    case "message":
    case "system_message":
      return event.text || "";
    case "rich_message":
      return event.elements?.[0]?.title || "Rich message";
    case "file":
      return `File: ${event.name || "attachment"}`;
    case "filled_form":
      return "Form filled";
    default:
      return `${event.type} event`;
  }
}

function setUsers(chat, users) {
  chat.users = users || [];
  rememberUsers(chat.users);
}

/** Whether the server's inactivity timer marked the chat idle: its chat property routing.idle (LiveChat's routing
 * namespace). An idle chat does not count against the agent's concurrent chats until the next message. */
function isIdle(data) {
  return data?.properties?.routing?.idle === true;
}

/** A chat from login's or list_chats' summaries. */
function upsertSummary(summary) {
  const chat = state.chats.get(summary.id) || newChat(summary.id);
  setUsers(chat, summary.users);
  chat.active = Boolean(summary.active);
  chat.idle = isIdle(summary);
  chat.threadId = summary.last_thread_id || chat.threadId;
  const last = Object.values(summary.last_event_per_type || {})
    .map((x) => x.event)
    .sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)))
    .pop();
  if (last) chat.lastText = eventPreview(last);
  storeChat(chat);
  return chat;
}

/** A chat from get_chat or incoming_chat (with its current thread). */
function upsertChat(data) {
  const chat = state.chats.get(data.id) || newChat(data.id);
  setUsers(chat, data.users);
  chat.gone = false;
  chat.idle = isIdle(data);
  if (data.thread) {
    chat.threadId = data.thread.id;
    chat.active = Boolean(data.thread.active);
    chat.queue = data.thread.queue || (isQueued(chat) ? chat.queue : null);
    for (const event of data.thread.events || []) addEvent(chat, data.thread.id, event, false);
  }
  if (!isQueued(chat)) chat.queue = null;
  storeChat(chat);
  return chat;
}

function storeChat(chat) {
  state.chats.set(chat.id, chat);
  renderChatItem(chat);
  if (state.selected === chat.id) renderChatHead(chat);
  const visitor = state.visitors.customers.get(customerOf(chat)?.id);
  if (visitor) renderVisitor(visitor); // its chat state shows in the visitors view
}

function addEvent(chat, threadId, event, render = true) {
  if (!event?.id || chat.eventIds.has(event.id)) return;
  chat.eventIds.add(event.id);
  chat.events.push({ threadId, event });
  chat.lastText = eventPreview(event);
  const customer = customerOf(chat);
  if (customer && event.author_id === customer.id) chat.peek = "";
  if (render && state.selected === chat.id) {
    if (chat.historyLoaded) appendEventItem(chat, chat.events.length - 1, event.author_id === state.me?.id);
    renderPeek(chat);
  }
}

/** Re-reads a chat. ``quiet``: losing access is expected (after a transfer), so it is shown, not reported. */
async function fetchChat(chatId, quiet = false) {
  if (!state.rtm) return null;
  try {
    return upsertChat(await state.rtm.request("get_chat", { chat_id: chatId }));
  } catch (err) {
    const chat = state.chats.get(chatId);
    if (quiet && chat && (err.type === "authorization" || err.type === "not_found")) {
      chat.gone = true;
      storeChat(chat);
    } else if (err.type !== "connection") {
      showError(err);
    }
    return null;
  }
}

// --- the chat list --------------------------------------------------------------------------------------------------

function renderChatItem(chat) {
  let li = state.items.get(chat.id);
  if (!li) {
    const button = el("button", { type: "button", class: "chat-item", "data-chat-id": chat.id,
                                  onclick: () => selectChat(chat.id) });
    li = el("li", {}, button);
    state.items.set(chat.id, li);
    $("chat-list").prepend(li); // newest first; items never move later, so focus stays put
  }
  const button = li.firstElementChild;
  const badges = [];
  if (chat.gone) badges.push(["Transferred away", "closed"]);
  else if (!chat.active) badges.push(["Closed", "closed"]);
  else if (isMine(chat)) badges.push(["Mine", "mine"]);
  else if (isQueued(chat)) badges.push([chat.queue ? `Queued #${chat.queue.position}` : "Queued", "queued"]);
  else badges.push([agentsOf(chat).map((u) => u.name || u.id).join(", ") || "Other agent", "other"]);
  if (chat.idle && chat.active && !chat.gone) badges.push(["Inactive", "idle"]);
  button.classList.toggle("is-mine", isMine(chat));
  button.classList.toggle("is-queued", isQueued(chat));
  button.classList.toggle("is-closed", !isOpen(chat));
  button.replaceChildren(
    el("span", { class: "chat-name", text: customerName(chat) }),
    ...badges.map(([text, kind]) => el("span", { class: `badge badge-${kind}`, text })),
    el("span", { class: "chat-preview", text: chat.lastText || "No messages yet" }),
  );
  if (state.selected === chat.id) button.setAttribute("aria-current", "true");
  else button.removeAttribute("aria-current");
  $("no-chats").hidden = true;
}

function clearChats() {
  state.chats.clear();
  state.items.clear();
  state.selected = null;
  $("chat-list").replaceChildren();
  $("no-chats").hidden = false;
  showChat(null);
}

// --- the selected chat ----------------------------------------------------------------------------------------------

async function selectChat(chatId) {
  const previous = state.selected;
  if (previous && previous !== chatId) stopTyping();
  state.selected = chatId;
  for (const [id, li] of state.items) {
    if (id === chatId) li.firstElementChild.setAttribute("aria-current", "true");
    else li.firstElementChild.removeAttribute("aria-current");
  }
  const chat = state.chats.get(chatId);
  showChat(chat);
  await loadHistory(chat);
}

async function loadHistory(chat) {
  const rtm = state.rtm;
  if (!rtm) return;
  try {
    const [data, listing] = await Promise.all([
      rtm.request("get_chat", { chat_id: chat.id }),
      rtm.request("list_threads", { chat_id: chat.id, limit: 5 }),
    ]);
    upsertChat(data);
    const history = [];
    for (const thread of [...listing.threads].reverse()) {
      for (const event of thread.events) history.push({ threadId: thread.id, event });
    }
    mergeHistory(chat, history);
    chat.nextPageId = listing.next_page_id || null;
    chat.historyLoaded = true;
    if (state.selected === chat.id) {
      renderChatHead(chat);
      renderEvents(chat);
    }
    loadCustomer(chat);
  } catch (err) {
    if (state.selected === chat.id) showError(err);
  }
}

/** Fetched (older) events first, then those only pushes brought: a push may land while history is on its way. */
function mergeHistory(chat, entries) {
  const fetched = entries.filter((e) => e.event.id);
  const fetchedIds = new Set(fetched.map((e) => e.event.id));
  const live = chat.events.filter((e) => !fetchedIds.has(e.event.id));
  chat.events = [...fetched, ...live];
  chat.eventIds = new Set(chat.events.map((e) => e.event.id));
}

async function loadEarlier() {
  const chat = state.chats.get(state.selected);
  if (!chat?.nextPageId) return;
  try {
    const listing = await state.rtm.request("list_threads", { chat_id: chat.id, page_id: chat.nextPageId });
    const older = [];
    for (const thread of [...listing.threads].reverse()) {
      for (const event of thread.events) older.push({ threadId: thread.id, event });
    }
    mergeHistory(chat, older);
    chat.nextPageId = listing.next_page_id || null;
    if (state.selected === chat.id) renderEvents(chat, false);
    if (!chat.nextPageId) $("messages").focus();
  } catch (err) {
    showError(err);
  }
}

async function loadCustomer(chat) {
  const customer = customerOf(chat);
  if (!customer) return;
  try {
    const details = await state.rtm.request("get_customer", { id: customer.id });
    if (state.selected === chat.id) renderCustomer(details);
  } catch (err) {
    if (state.selected === chat.id) showError(err);
  }
}

function showChat(chat) {
  $("chat-empty").hidden = Boolean(chat);
  $("chat-body").hidden = !chat;
  $("messages").replaceChildren();
  $("typing").textContent = "";
  renderCustomer(null);
  if (!chat) return;
  renderChatHead(chat);
  $("messages").append(el("li", { class: "loading muted", text: "Loading…" }));
  renderPeek(chat);
}

function renderChatHead(chat) {
  $("chat-title").textContent = customerName(chat);
  const agents = agentsOf(chat).map((u) => (u.id === state.me?.id ? "you" : u.name || u.id));
  let text;
  if (chat.gone) text = "Transferred away";
  else if (!chat.active) text = "Closed";
  else if (isQueued(chat)) text = chat.queue ? `Queued, position ${chat.queue.position}` : "Queued";
  else text = `With ${agents.join(", ")}`;
  if (chat.note) text += ` · ${chat.note}`;
  $("chat-state").textContent = text;
  $("join").hidden = !isOpen(chat) || isMine(chat);
  $("close").hidden = !isOpen(chat);
  for (const form of ["reply-form", "rich-form", "transfer-form"]) {
    for (const control of $(form).elements) control.disabled = !isOpen(chat);
  }
  $("earlier").hidden = !chat.nextPageId;
}

function renderEvents(chat, scroll = true) {
  const list = $("messages");
  list.replaceChildren();
  chat.events.forEach((_, index) => appendEventItem(chat, index, false));
  if (!chat.events.length) list.append(el("li", { class: "muted", text: "No messages yet." }));
  if (scroll) list.scrollTop = list.scrollHeight;
  $("earlier").hidden = !chat.nextPageId;
}

function appendEventItem(chat, index, own) {
  const list = $("messages");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.querySelector(":scope > li.muted")?.remove();
  const { threadId, event } = chat.events[index];
  if (index > 0 && chat.events[index - 1].threadId !== threadId) {
    list.append(el("li", { class: "thread-divider", text: "New thread" }));
  }
  list.append(eventItem(chat, event));
  if (own || nearBottom) list.scrollTop = list.scrollHeight;
}

function readableDate(value) {
  const date = new Date(value);
  return value && !Number.isNaN(date.getTime()) ? date.toLocaleString() : value;
}

function timeOf(createdAt) {
  const date = new Date(createdAt);
  if (Number.isNaN(date.getTime())) return null;
  return el("time", { datetime: createdAt, text: date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) });
}

function eventItem(chat, event) {
  if (event.type === "system_message") {
    return el("li", { class: "event event-system", "data-event-id": event.id }, el("p", { text: event.text }));
  }
  const customer = customerOf(chat);
  const from = event.author_id === state.me?.id ? "me" : customer?.id === event.author_id ? "customer" : "agent";
  const whisper = event.visibility === "agents" || event.recipients === "agents";
  return el("li", { class: `event from-${from}${whisper ? " whisper" : ""}`, "data-event-id": event.id },
    el("p", { class: "meta" },
      el("span", { class: "author", text: authorName(chat, event.author_id) }), " ", timeOf(event.created_at),
      whisper ? el("span", { class: "badge", text: "agents only" }) : null),
    eventBody(event));
}

function safeUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function eventBody(event) {
  switch (event.type) {
    case "message":
      return el("p", { class: "text", text: event.text });
    case "rich_message":
      return el("div", { class: `rich rich-${event.template_id}` },
        ...(event.elements || []).map((element) => el("div", { class: "rich-element" },
          element.title ? el("p", { class: "rich-title", text: element.title }) : null,
          element.subtitle ? el("p", { class: "rich-subtitle", text: element.subtitle }) : null,
          element.buttons?.length
            ? el("ul", { class: "rich-buttons", "aria-label": "Buttons" },
              ...element.buttons.map((b) => el("li", { text: b.text })))
            : null)));
    case "file": {
      const href = safeUrl(event.url);
      const name = event.name || "attachment";
      return el("p", { class: "text" }, href
        ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: name })
        : name);
    }
    case "filled_form":
      return el("dl", { class: "form-fields" }, ...(event.fields || []).flatMap((field) => [
        el("dt", { text: field.label || field.id }),
        el("dd", { text: formAnswer(field) }),
      ]));
    default:
      return el("p", { class: "text muted", text: `${event.type} event` });
  }
}

function formAnswer(field) {
  const one = (a) => (a && typeof a === "object" ? a.label ?? a.id ?? "" : String(a ?? ""));
  if (Array.isArray(field.answers)) return field.answers.map(one).join(", ");
  return one(field.answer);
}

function renderPeek(chat) {
  const peek = state.selected === chat.id && chat.active ? chat.peek : "";
  $("sneak-peek").hidden = !peek;
  $("sneak-peek-text").textContent = peek;
}

function renderTyping(chat) {
  if (state.selected !== chat.id) return;
  const names = [...chat.typing.keys()].map((id) => authorName(chat, id));
  $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}

function renderCustomer(customer) {
  const details = $("customer-details");
  const fields = $("session-fields");
  details.replaceChildren();
  fields.replaceChildren();
  $("customer-empty").hidden = Boolean(customer);
  $("session-fields-title").hidden = !customer?.session_fields?.length;
  if (!customer) return;
  const rows = [["Name", customer.name], ["Email", customer.email], ["Phone", customer.phone_number],
                ["Customer id", customer.id], ["Customer since", readableDate(customer.created_at)]];
  for (const [label, value] of rows) {
    if (value) details.append(el("dt", { text: label }), el("dd", { text: value }));
  }
  for (const pair of customer.session_fields || []) {
    for (const [key, value] of Object.entries(pair)) fields.append(el("dt", { text: key }), el("dd", { text: value }));
  }
}

// --- visitors -------------------------------------------------------------------------------------------------------
// One subscribe_customers per socket: its answer lists who is on the site, the pushes keep the list current. When more
// visitors are online than it lists, the server sends totals instead, and a snapshot is read now and then.

const SVG_NS = "http://www.w3.org/2000/svg";
const VISITOR_LIMIT = 100;
const CLOCK_MS = 15000;
const TRAFFIC_MS = 60000;
const SNAPSHOT_MS = 30000;
const CHAT_STATES = { chatting: "Chatting", queued: "Waiting for an agent", invited: "Invited", browsing: "Browsing" };

/** An SVG element; text goes in as text. */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  node.append(...children);
  return node;
}

const pad = (n) => String(n).padStart(2, "0");
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function visitorName(customer) {
  return customer.name || customer.email || `Visitor ${customer.id.slice(0, 8)}`;
}

function currentPage(customer) {
  const pages = customer.visit?.last_pages || [];
  return pages[pages.length - 1] || null;
}

function timeOnSite(since) {
  const started = Date.parse(since);
  if (!since || Number.isNaN(started)) return "";
  const minutes = Math.max(0, Math.floor((Date.now() - started) / 60000));
  if (minutes < 1) return "under a minute";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function place(geo) {
  return [geo?.city, geo?.country || geo?.country_code].filter(Boolean).join(", ");
}

/** The visitor's open chat among those this console holds, if any. */
function openChatOf(customerId) {
  for (const chat of state.chats.values()) {
    if (isOpen(chat) && customerOf(chat)?.id === customerId) return chat;
  }
  return null;
}

function visitorState(customer) {
  const chat = openChatOf(customer.id);
  if (chat) return isQueued(chat) ? "queued" : "chatting";
  // a chat of theirs this console holds has ended: whatever the listing said is old news
  if ([...state.chats.values()].some((c) => customerOf(c)?.id === customer.id)) return "browsing";
  return customer.state === "chatting" || customer.state === "queued" ? customer.state : "browsing";
}

function renderVisitor(customer) {
  const visitors = state.visitors;
  let row = visitors.rows.get(customer.id);
  if (!row) {
    row = el("tr", { "data-visitor-id": customer.id });
    visitors.rows.set(customer.id, row);
    $("visitor-rows").prepend(row); // the newest arrival on top
  }
  const page = currentPage(customer);
  const chatState = visitorState(customer);
  const inChat = chatState === "chatting" || chatState === "queued";
  const name = visitorName(customer);
  const where = place(customer.visit?.geolocation);
  row.replaceChildren(
    el("th", { scope: "row", class: "visitor-name" }, name, where ? el("span", { class: "place", text: where }) : null),
    el("td", { class: "visitor-page" },
      page ? el("span", { class: "page-title", text: page.title || page.url }) : el("span", { class: "muted", text: "—" }),
      page ? el("span", { class: "page-url", text: page.url }) : null),
    el("td", { class: "visitor-time", "data-since": customer.visit?.started_at || "",
               text: timeOnSite(customer.visit?.started_at) }),
    el("td", { class: "visitor-visits", text: String(customer.statistics?.visits_count ?? "") }),
    el("td", { class: "visitor-chat" }, el("span", { class: `badge badge-${chatState}`, text: CHAT_STATES[chatState] })),
    el("td", { class: "visitor-action-cell" }, el("button", {
      type: "button", class: "visitor-action", "data-action": inChat ? "open" : "start",
      "aria-label": `${inChat ? "Open the chat with" : "Start a chat with"} ${name}`,
      text: inChat ? "Open chat" : "Start chat",
      onclick: () => (inChat ? openVisitorChat(customer.id) : startChatWith(customer.id)),
    })),
  );
  renderVisitorSummary();
}

function upsertVisitor(customer) {
  if (!customer?.id) return;
  state.visitors.customers.set(customer.id, customer);
  renderVisitor(customer);
}

function removeVisitor(customerId) {
  const visitors = state.visitors;
  visitors.rows.get(customerId)?.remove();
  visitors.rows.delete(customerId);
  visitors.customers.delete(customerId);
  renderVisitorSummary();
}

function replaceVisitors(customers) {
  const visitors = state.visitors;
  visitors.customers.clear();
  visitors.rows.clear();
  $("visitor-rows").replaceChildren();
  for (const customer of [...customers].reverse()) upsertVisitor(customer); // listed newest first
  renderVisitorSummary();
}

function renderVisitorSummary() {
  const visitors = state.visitors;
  const shown = visitors.rows.size;
  const total = visitors.listing ? shown : visitors.total;
  $("visitor-count").textContent = state.signedIn ? String(total) : "";
  $("no-visitors").hidden = shown > 0;
  $("visitors-summary").textContent = visitors.listing ? `${total} online now`
    : `${total} online now; the ${shown} newest are shown, refreshed every half minute`;
}

function tickVisitorClocks() {
  for (const cell of document.querySelectorAll("#visitor-rows .visitor-time")) {
    cell.textContent = timeOnSite(cell.dataset.since);
  }
}

async function subscribeVisitors() {
  const rtm = state.rtm;
  if (!rtm) return;
  try {
    const sub = await rtm.request("subscribe_customers", { limit: VISITOR_LIMIT });
    if (state.rtm !== rtm) return;
    state.visitors.subId = sub.subscription_id;
    state.visitors.listing = true;
    replaceVisitors(sub.customers || []);
  } catch (err) {
    if (err.type !== "connection") showError(err);
  }
}

/** While the server sends totals only: the newest online visitors, read at most every SNAPSHOT_MS. */
async function refreshSnapshot() {
  const visitors = state.visitors;
  if (!state.rtm || Date.now() - visitors.snapshotAt < SNAPSHOT_MS) return;
  visitors.snapshotAt = Date.now();
  const page = await state.rtm.request("list_customers", { filters: { online: true }, limit: VISITOR_LIMIT })
    .catch(() => null);
  if (page && !visitors.listing) replaceVisitors(page.customers || []);
}

async function startChatWith(customerId) {
  const started = await act("start_chat", { chat: { users: [{ id: customerId, type: "customer" }] } });
  if (!started) return;
  showView("chats");
  if (!state.chats.has(started.chat_id)) await fetchChat(started.chat_id);
  if (!state.chats.has(started.chat_id)) return;
  await selectChat(started.chat_id);
  $("reply").focus();
}

async function openVisitorChat(customerId) {
  const customer = state.visitors.customers.get(customerId);
  const chatId = openChatOf(customerId)?.id || customer?.chat_ids?.[0];
  if (!chatId) return;
  showView("chats");
  if (!state.chats.has(chatId)) await fetchChat(chatId);
  if (state.chats.has(chatId)) await selectChat(chatId);
}

// the chart: plain SVG, coloured by the stylesheet (the page's CSP allows no inline styles)

async function loadTraffic() {
  const rtm = state.rtm;
  if (!rtm) return;
  const stats = await rtm.request("get_visitor_statistics", { days: 8 }).catch(() => null);
  if (!stats || state.rtm !== rtm) return;
  state.visitors.hours = (stats.hours || []).map((h) => ({ ...h, at: new Date(h.hour) }));
  renderChart();
}

function chartHours() {
  const { hours, range } = state.visitors;
  if (range === "today") {
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    return hours.filter((h) => h.at >= midnight);
  }
  return hours.slice(-7 * 24);
}

function renderChart() {
  const today = state.visitors.range === "today";
  const hours = chartHours();
  const [W, H, left, right, top, bottom] = [720, 200, 34, 8, 12, 24];
  const step = (W - left - right) / (today ? 24 : Math.max(hours.length, 1));
  const max = Math.max(1, ...hours.map((h) => Math.max(h.visitors, h.chats)));
  const y = (n) => top + (H - top - bottom) * (1 - n / max);
  const visitors = hours.reduce((sum, h) => sum + h.visitors, 0);
  const chats = hours.reduce((sum, h) => sum + h.chats, 0);
  const summary = `${today ? "Today" : "The last 7 days"}: ${plural(visitors, "visitor")} and ${plural(chats, "chat")}`
    + " (a visitor counts once in every hour they were on the site)";
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "traffic-chart-title",
                             class: "chart-svg" },
    svg("title", { id: "traffic-chart-title", text: summary }),
    svg("line", { x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, class: "axis" }),
    svg("text", { x: left - 6, y: top + 4, "text-anchor": "end", class: "tick", text: String(max) }),
    svg("text", { x: left - 6, y: H - bottom, "text-anchor": "end", class: "tick", text: "0" }));
  hours.forEach((h, i) => {
    const x = left + (today ? h.at.getHours() : i) * step;
    const when = today ? `${pad(h.at.getHours())}:00`
      : `${h.at.toLocaleDateString(undefined, { weekday: "short" })} ${pad(h.at.getHours())}:00`;
    const group = svg("g", { class: "hour" },
      svg("title", { text: `${when}: ${plural(h.visitors, "visitor")}, ${plural(h.chats, "chat")}` }),
      svg("rect", { x: x + step * 0.1, y: y(h.visitors), width: Math.max(1, step * 0.8),
                    height: H - bottom - y(h.visitors), class: "bar-visitors" }));
    if (h.chats) {
      group.append(svg("rect", { x: x + step * 0.3, y: y(h.chats), width: Math.max(1, step * 0.4),
                                 height: H - bottom - y(h.chats), class: "bar-chats" }));
    }
    chart.append(group);
    if (today ? h.at.getHours() % 3 === 0 : h.at.getHours() === 0) {
      const text = today ? `${pad(h.at.getHours())}:00` : h.at.toLocaleDateString(undefined, { weekday: "short" });
      chart.append(svg("text", { x: today ? x + step / 2 : x, y: H - 7, "text-anchor": today ? "middle" : "start",
                                 class: "tick", text }));
    }
  });
  $("traffic-chart").replaceChildren(chart);
}

function setRange(range) {
  state.visitors.range = range;
  $("range-today").setAttribute("aria-pressed", String(range === "today"));
  $("range-week").setAttribute("aria-pressed", String(range === "week"));
  renderChart();
}

function showView(name) {
  const onVisitors = name === "visitors";
  state.visitors.view = name;
  $("chats-view").hidden = onVisitors;
  $("visitors-view").hidden = !onVisitors;
  for (const [id, selected] of [["tab-chats", !onVisitors], ["tab-visitors", onVisitors]]) {
    $(id).setAttribute("aria-selected", String(selected));
    $(id).tabIndex = selected ? 0 : -1;
  }
  if (onVisitors) {
    tickVisitorClocks();
    loadTraffic();
  }
}

function startVisitors() {
  stopVisitors();
  subscribeVisitors();
  if (state.visitors.view === "visitors") loadTraffic();
  state.visitors.timers = [
    setInterval(tickVisitorClocks, CLOCK_MS),
    setInterval(() => {
      if (state.visitors.view === "visitors") loadTraffic();
    }, TRAFFIC_MS),
  ];
}

function stopVisitors() {
  for (const timer of state.visitors.timers) clearInterval(timer);
  state.visitors.timers = [];
}

function clearVisitors() {
  stopVisitors();
  state.visitors.subId = null;
  state.visitors.listing = true;
  replaceVisitors([]);
}

// --- pushes ---------------------------------------------------------------------------------------------------------

const PUSHES = {
  incoming_chat({ chat }) {
    if (chat) upsertChat(chat);
  },
  incoming_event({ chat_id: chatId, thread_id: threadId, event }) {
    const chat = state.chats.get(chatId);
    if (!chat) {
      fetchChat(chatId);
      return;
    }
    chat.typing.delete(event.author_id);
    renderTyping(chat);
    addEvent(chat, threadId, event);
    renderChatItem(chat);
  },
  incoming_typing_indicator({ chat_id: chatId, typing_indicator: indicator }) {
    const chat = state.chats.get(chatId);
    if (!chat || !indicator || indicator.author_id === state.me?.id) return;
    clearTimeout(chat.typing.get(indicator.author_id));
    if (indicator.is_typing) {
      chat.typing.set(indicator.author_id, setTimeout(() => {
        chat.typing.delete(indicator.author_id);
        renderTyping(chat);
      }, 10000));
    } else {
      chat.typing.delete(indicator.author_id);
    }
    renderTyping(chat);
  },
  incoming_sneak_peek({ chat_id: chatId, sneak_peek: peek }) {
    const chat = state.chats.get(chatId);
    if (!chat) return;
    chat.peek = peek?.text || "";
    renderPeek(chat);
  },
  user_added_to_chat({ chat_id: chatId, user }) {
    const chat = state.chats.get(chatId);
    if (!chat) {
      fetchChat(chatId);
      return;
    }
    if (user && !chat.users.some((u) => u.id === user.id)) setUsers(chat, [...chat.users, user]);
    chat.queue = null;
    chat.note = "";
    storeChat(chat);
  },
  user_removed_from_chat({ chat_id: chatId, user_id: userId }) {
    const chat = state.chats.get(chatId);
    if (!chat) return;
    setUsers(chat, chat.users.filter((u) => u.id !== userId));
    storeChat(chat);
  },
  chat_deactivated({ chat_id: chatId }) {
    const chat = state.chats.get(chatId);
    if (!chat) return;
    chat.active = false;
    chat.queue = null;
    chat.peek = "";
    chat.typing.clear();
    if (state.selected === chatId) stopTyping();
    storeChat(chat);
    renderPeek(chat);
    renderTyping(chat);
  },
  chat_properties_updated({ chat_id: chatId, properties }) {
    const chat = state.chats.get(chatId);
    const idle = properties?.routing?.idle;
    if (!chat || typeof idle !== "boolean") return;
    chat.idle = idle;
    storeChat(chat);
  },
  chat_transferred({ chat_id: chatId, transferred_to: to, queue }) {
    const chat = state.chats.get(chatId);
    if (!chat) return;
    const agentIds = to?.agent_ids || [];
    const target = agentIds.length ? agentIds.map((id) => state.names.get(id) || id).join(", ")
      : `group ${(to?.group_ids || []).join(", ")}`;
    chat.note = `transferred to ${target}`;
    if (queue) chat.queue = queue;
    storeChat(chat);
    // the target joins after this push and those who left are not told, so read the chat back a moment later
    setTimeout(() => fetchChat(chatId, true), 700);
  },
  queue_positions_updated(items) {
    const queued = new Set();
    for (const item of Array.isArray(items) ? items : []) {
      queued.add(item.chat_id);
      let chat = state.chats.get(item.chat_id);
      if (!chat) {
        // the positions come just before incoming_chat: keep them until the chat itself arrives
        chat = newChat(item.chat_id);
        chat.active = true;
        fetchChat(item.chat_id);
      }
      chat.queue = item.queue;
      storeChat(chat);
    }
    // a chat that left the queue went to someone: learn who
    for (const chat of state.chats.values()) {
      if (chat.queue && !queued.has(chat.id)) {
        chat.queue = null;
        fetchChat(chat.id);
      }
    }
  },
  routing_status_set({ agent_id: agentId, status }) {
    if (agentId === state.me?.id) $("accepting").checked = status === "accepting_chats";
  },
  incoming_rich_message_postback({ chat_id: chatId, user_id: userId, postback }) {
    const chat = state.chats.get(chatId);
    if (!chat || state.selected !== chatId) return;
    showStatus(`${authorName(chat, userId)} chose "${postback?.id ?? ""}"`);
  },
  agent_disconnected({ reason }) {
    // a server process restarting: its socket closes next (code 1012) and onConnectionLost reconnects, to any process
    if (reason === "service_temporarily_unavailable") return;
    signOut(`Signed out by the server (${reason || "no reason given"}).`);
  },
  incoming_customer(customer) {
    upsertVisitor(customer);
  },
  customer_page_updated({ customer_id: customerId, url, title, opened_at: openedAt }) {
    const customer = state.visitors.customers.get(customerId);
    if (!customer) return;
    const visit = customer.visit || { started_at: openedAt, last_pages: [] };
    visit.last_pages = [...(visit.last_pages || []), { url, title, opened_at: openedAt }].slice(-20);
    customer.visit = visit;
    renderVisitor(customer);
  },
  customer_statistics_updated({ customer_id: customerId, statistics }) {
    const customer = state.visitors.customers.get(customerId);
    if (!customer || !statistics) return;
    customer.statistics = statistics;
    renderVisitor(customer);
  },
  customer_left({ id }) {
    removeVisitor(id);
  },
  incoming_customers({ customers, subscription_id: subId }) {
    if (subId && subId !== state.visitors.subId) return;
    state.visitors.listing = true;
    replaceVisitors(customers || []);
  },
  subscribed_customers_totals_updated(totals) {
    const total = totals?.[state.visitors.subId];
    if (typeof total !== "number") return;
    state.visitors.listing = false;
    state.visitors.total = total;
    renderVisitorSummary();
    refreshSnapshot();
  },
};

function onPush(action, payload) {
  const handler = PUSHES[action];
  if (handler) handler(payload);
}

// --- signing in and out ---------------------------------------------------------------------------------------------

async function signIn(token) {
  clearTimeout(state.reconnectTimer);
  state.rtm?.close();
  const rtm = new Rtm({ onPush, onClose: () => onConnectionLost(rtm) });
  state.rtm = rtm;
  setConnection("Connecting…");
  try {
    await rtm.open();
    const login = await rtm.request("login", { token: `Bearer ${token}` });
    if (state.rtm !== rtm) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    state.signedIn = true;
    state.reconnectMs = 1000;
    onLoggedIn(login);
  } catch (err) {
    if (state.rtm !== rtm) return;
    if (err.type === "authentication") {
      signOut("That token was not accepted.");
    } else if (!state.signedIn) {
      rtm.close();
      state.rtm = null;
      showLogin(err.message);
    } else {
      rtm.close();
      onConnectionLost(rtm); // try again later, as after a dropped connection
    }
  }
}

function onLoggedIn(login) {
  state.me = login.my_profile;
  state.names.set(state.me.id, state.me.name);
  $("me").textContent = `${state.me.name} (${state.me.id})`;
  $("accepting").checked = state.me.routing_status === "accepting_chats";
  $("login-view").hidden = true;
  $("console-view").hidden = false;
  $("session").hidden = false;
  setConnection("Connected");
  hideError();
  applySummaries(login.chats_summary || []);
  startVisitors(); // a new socket: the old one's subscription ended with it
  const selected = state.chats.get(state.selected);
  if (selected) loadHistory(selected);
  if (state.goOnline) { // (once: a reconnect keeps whatever the agent chose since)
    state.goOnline = false;
    if (!$("accepting").checked) goOnline();
  }
}

async function goOnline() {
  if (await act("set_routing_status", { status: "accepting_chats" })) {
    $("accepting").checked = true;
    showStatus("You accept chats.");
  }
}

function applySummaries(summaries) {
  const seen = new Set(summaries.map((s) => upsertSummary(s).id));
  for (const chat of state.chats.values()) {
    // an active chat missing from the listing has ended (or left this agent's reach) meanwhile
    if (!seen.has(chat.id) && chat.active) {
      chat.active = false;
      storeChat(chat);
    }
  }
  $("no-chats").hidden = state.chats.size > 0;
}

function onConnectionLost(rtm) {
  if (state.rtm !== rtm || !state.signedIn) return;
  state.rtm = null;
  setConnection(`Disconnected; retrying in ${Math.round(state.reconnectMs / 1000)} s`);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return;
  state.reconnectTimer = setTimeout(() => signIn(token), state.reconnectMs);
  state.reconnectMs = Math.min(state.reconnectMs * 2, MAX_RECONNECT_MS);
}

function signOut(message) {
  stopTyping();
  state.signedIn = false;
  clearTimeout(state.reconnectTimer);
  const rtm = state.rtm;
  state.rtm = null;
  rtm?.close();
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  clearChats();
  clearVisitors();
  $("token").value = "";
  showLogin(message);
}

function showLogin(message) {
  $("console-view").hidden = true;
  $("session").hidden = true;
  $("login-view").hidden = false;
  setConnection("");
  if (message) showError(message);
  $("token").focus();
}

// --- actions --------------------------------------------------------------------------------------------------------

function selectedChat() {
  return state.chats.get(state.selected) || null;
}

async function act(action, payload) {
  if (!state.rtm) {
    showError("Not connected.");
    return null;
  }
  try {
    return await state.rtm.request(action, payload);
  } catch (err) {
    showError(err);
    return null;
  }
}

async function sendReply() {
  const chat = selectedChat();
  const box = $("reply");
  const text = box.value;
  if (!chat || !text.trim()) return;
  const event = { type: "message", text };
  if ($("whisper").checked) event.visibility = "agents";
  stopTyping();
  box.value = "";
  const sent = await act("send_event", { chat_id: chat.id, event });
  if (!sent && !box.value) box.value = text; // keep what was typed when it did not go out
  box.focus();
}

function onReplyInput() {
  const chat = selectedChat();
  // the customer sees who types: only for agents in the chat, and never for a whisper
  if (!chat || !isOpen(chat) || !isMine(chat) || $("whisper").checked) return;
  if (!$("reply").value) {
    stopTyping();
    return;
  }
  const typing = state.typing;
  if (typing.chatId !== chat.id) {
    stopTyping();
    typing.chatId = chat.id;
    act("send_typing_indicator", { chat_id: chat.id, is_typing: true });
  }
  clearTimeout(typing.timer);
  typing.timer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  const typing = state.typing;
  clearTimeout(typing.timer);
  if (typing.chatId && state.rtm) {
    const chat = state.chats.get(typing.chatId);
    if (chat?.active) state.rtm.request("send_typing_indicator", { chat_id: typing.chatId, is_typing: false })
      .catch(() => {});
  }
  typing.chatId = null;
}

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "").slice(0, 40);
}

async function sendRich() {
  const chat = selectedChat();
  if (!chat) return;
  const template = $("rich-template").value;
  const buttons = $("rich-buttons").value.split("\n").map((line) => line.trim()).filter(Boolean).map((line, i) => {
    const cut = line.lastIndexOf("|");
    const text = (cut >= 0 ? line.slice(0, cut) : line).trim();
    const postbackId = (cut >= 0 ? line.slice(cut + 1).trim() : "") || `${slug(text) || "button"}_${i + 1}`;
    return { text, type: "message", value: text, postback_id: postbackId, user_ids: [] };
  });
  if (!buttons.length) {
    showError("Add at least one button.");
    return;
  }
  const element = { title: $("rich-title").value.trim(), buttons };
  const subtitle = $("rich-subtitle").value.trim();
  if (template === "cards" && subtitle) element.subtitle = subtitle;
  const sent = await act("send_event", { chat_id: chat.id, event: { type: "rich_message", template_id: template,
                                                                      elements: [element] } });
  if (sent) {
    $("rich-form").reset();
    showStatus("Rich message sent.");
  }
}

async function transfer() {
  const chat = selectedChat();
  if (!chat) return;
  const type = $("transfer-type").value;
  const raw = $("transfer-id").value.trim();
  let id = raw;
  if (type === "group") {
    if (!/^\d+$/.test(raw)) {
      showError("A group id is a whole number.");
      return;
    }
    id = Number(raw);
  }
  const done = await act("transfer_chat", { id: chat.id, target: { type, ids: [id] } });
  if (done) {
    $("transfer-form").reset();
    showStatus(`Chat transferred to ${type} ${raw}.`);
  }
}

// --- messages to the agent ------------------------------------------------------------------------------------------

let alertTimer = 0;

function showError(err) {
  const message = typeof err === "string" ? err : `${err.message}${err.type ? ` (${err.type})` : ""}`;
  const box = $("alert");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(alertTimer);
  alertTimer = setTimeout(hideError, 8000);
}

function hideError() {
  $("alert").hidden = true;
  $("alert").textContent = "";
}

function showStatus(message) {
  $("status").textContent = message;
}

function setConnection(text) {
  $("connection").textContent = text;
}

// --- wiring ---------------------------------------------------------------------------------------------------------

function submitter(handler) {
  return (e) => {
    e.preventDefault();
    handler();
  };
}

$("login-form").addEventListener("submit", submitter(() => {
  const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
  if (token) signIn(token);
}));
$("sign-out").addEventListener("click", () => signOut("Signed out."));
$("accepting").addEventListener("change", async (e) => {
  const box = e.currentTarget;
  const status = box.checked ? "accepting_chats" : "not_accepting_chats";
  const done = await act("set_routing_status", { status });
  if (!done) box.checked = !box.checked;
  else showStatus(box.checked ? "You accept chats." : "You do not accept new chats.");
});
$("refresh").addEventListener("click", async () => {
  const listing = await act("list_chats", { filters: { active: true }, limit: 100 });
  if (listing) applySummaries(listing.chats_summary || []);
});
$("join").addEventListener("click", async () => {
  const chat = selectedChat();
  if (!chat || !state.me) return;
  const done = await act("add_user_to_chat", { chat_id: chat.id, user_id: state.me.id, user_type: "agent" });
  if (done) $("reply").focus();
});
$("close").addEventListener("click", async () => {
  const chat = selectedChat();
  if (chat) await act("deactivate_chat", { id: chat.id });
});
$("earlier").addEventListener("click", loadEarlier);
$("tab-chats").addEventListener("click", () => showView("chats"));
$("tab-visitors").addEventListener("click", () => showView("visitors"));
for (const tab of ["tab-chats", "tab-visitors"]) {
  $(tab).addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const other = tab === "tab-chats" ? "tab-visitors" : "tab-chats";
    showView(other === "tab-visitors" ? "visitors" : "chats");
    $(other).focus();
  });
}
$("range-today").addEventListener("click", () => setRange("today"));
$("range-week").addEventListener("click", () => setRange("week"));
$("reply-form").addEventListener("submit", submitter(sendReply));
$("reply").addEventListener("input", onReplyInput);
$("reply").addEventListener("blur", stopTyping);
$("reply").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendReply();
  }
});
$("rich-form").addEventListener("submit", submitter(sendRich));
$("transfer-form").addEventListener("submit", submitter(transfer));

// the demo page's first-run shortcut (POST /demo/console) opens /agent#token=…&online=1: the token is taken out of
// the address at once (a fragment reaches no server and no log, but stays in the history), and the agent goes online
const handoff = new URLSearchParams(location.hash.slice(1));
if (handoff.get("token")) {
  history.replaceState(null, "", location.pathname + location.search);
  state.goOnline = handoff.get("online") === "1";
  signIn(handoff.get("token"));
} else {
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
  else showLogin();
}
