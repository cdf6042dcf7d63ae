// The chat list: chats as summaries or full chats, merged into state and drawn as one button each.

import { alertAgent, renderTitle } from "../attention.js";
import { $, el } from "../dom.js";
import { showError } from "../notices.js";
import {
  FILTERS, agentsOf, concernsMe, customerName, customerOf, eventPreview, isFocused, isIdle, isMine, isOpen, isQueued,
  newChat, setUsers, state,
} from "../state.js";
import { appendEventItem, renderChatHead, renderPeek, selectChat, showChat } from "./chat.js";
import { renderVisitor } from "./visitors.js";

const CLOSED_PAGE = 25;

/** A chat from login's or list_chats' summaries (``bottom``: an older page, drawn under what is listed). */
export function upsertSummary(summary, bottom = false) {
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
  // what the listing shows was there before this page: no alert for it
  chat.seenMine ||= isMine(chat);
  chat.seenQueued ||= isQueued(chat);
  storeChat(chat, bottom);
  return chat;
}

/** A chat from get_chat or incoming_chat (with its current thread). */
export function upsertChat(data) {
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

export function storeChat(chat, bottom = false) {
  state.chats.set(chat.id, chat);
  announce(chat);
  renderChatItem(chat, bottom);
  if (state.selected === chat.id) renderChatHead(chat);
  const visitor = state.visitors.customers.get(customerOf(chat)?.id);
  if (visitor) renderVisitor(visitor); // its chat state shows in the visitors view
}

/** A chat that just became this agent's, or just joined the queue: the agent is told (once). */
function announce(chat) {
  if (!state.me || !customerOf(chat)) return; // (a queue position may come before the chat itself)
  // a chat that stops being theirs (or queued, or open) and becomes so again later (a resumed chat) is news again
  if (!isOpen(chat)) state.ownChats.delete(chat.id);
  if (!isOpen(chat) || !isMine(chat)) chat.seenMine = false;
  if (!isQueued(chat)) chat.seenQueued = false;
  const own = state.quiet || state.ownChats.has(chat.id);
  if (isOpen(chat) && isMine(chat) && !chat.seenMine) {
    chat.seenMine = true;
    const transferred = state.transfersToMe.delete(chat.id);
    if (!own) alertAgent(chat, transferred ? "Chat transferred to you" : "New chat", customerName(chat));
  }
  // queued means the server gave it a queue position: a resumed chat is briefly without an agent before routing
  if (isQueued(chat) && chat.queue && !chat.seenQueued) {
    chat.seenQueued = true;
    if (!own) alertAgent(chat, "Chat waiting in the queue", customerName(chat));
  }
}

/** A message pushed into a chat: unread (and an alert) when the chat is the agent's concern but not in view. */
export function noteIncoming(chat, event) {
  const fromOthers = event.author_id !== state.me?.id && event.type !== "system_message";
  if (!fromOthers || !concernsMe(chat) || isFocused(chat)) return;
  chat.unread += 1;
  renderChatItem(chat);
  renderTitle();
  alertAgent(chat, `New message from ${customerOf(chat)?.id === event.author_id ? customerName(chat)
    : state.names.get(event.author_id) || "an agent"}`, chat.lastText);
}

/** The agent looks at the chat: its messages are read. */
export function markRead(chat) {
  if (!chat?.unread) return;
  chat.unread = 0;
  renderChatItem(chat);
  renderTitle();
}

/** Adds an event once (by id); true when it was new. */
export function addEvent(chat, threadId, event, render = true) {
  if (!event?.id || chat.eventIds.has(event.id)) return false;
  chat.eventIds.add(event.id);
  chat.events.push({ threadId, event });
  chat.lastText = eventPreview(event);
  const customer = customerOf(chat);
  if (customer && event.author_id === customer.id) chat.peek = "";
  if (render && state.selected === chat.id) {
    if (chat.historyLoaded) appendEventItem(chat, chat.events.length - 1, event.author_id === state.me?.id);
    renderPeek(chat);
  }
  return true;
}

/** Re-reads a chat. ``quiet``: losing access is expected (after a transfer), so it is shown, not reported. */
export async function fetchChat(chatId, quiet = false) {
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

export function renderChatItem(chat, bottom = false) {
  let li = state.items.get(chat.id);
  if (!li) {
    const button = el("button", { type: "button", class: "chat-item", "data-chat-id": chat.id,
                                  onclick: () => selectChat(chat.id) });
    li = el("li", {}, button);
    state.items.set(chat.id, li);
    // newest first (an older page goes below); items never move later, so focus stays put
    if (bottom) $("chat-list").append(li);
    else $("chat-list").prepend(li);
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
  if (chat.unread) badges.push([`${chat.unread} unread`, "unread"]);
  button.replaceChildren(
    el("span", { class: "chat-name", text: customerName(chat) }),
    ...badges.map(([text, kind]) => el("span", { class: `badge badge-${kind}`, text })),
    el("span", { class: "chat-preview", text: chat.lastText || "No messages yet" }),
  );
  if (state.selected === chat.id) button.setAttribute("aria-current", "true");
  else button.removeAttribute("aria-current");
  li.hidden = !shown(chat);
  renderCounts();
}

/** In the list under the current filter; the selected chat stays listed until another is chosen. */
function shown(chat) {
  return FILTERS[state.filter](chat) || state.selected === chat.id;
}

/** The count on each filter (unread chats for the agent's own), and the empty list's note. */
function renderCounts() {
  const counts = Object.fromEntries(Object.keys(FILTERS).map((name) => [name, 0]));
  let visible = 0;
  for (const chat of state.chats.values()) {
    for (const [name, test] of Object.entries(FILTERS)) if (test(chat)) counts[name] += 1;
    if (shown(chat)) visible += 1;
  }
  for (const span of document.querySelectorAll("[data-count]")) {
    span.textContent = counts[span.dataset.count] ? String(counts[span.dataset.count]) : "";
  }
  $("no-chats").hidden = visible > 0;
  $("more-closed").hidden = state.filter !== "closed" || !state.closedPage;
}

/** Shows the chats of one filter (mine, queued, active, inactive, closed). */
export function setFilter(name) {
  if (!FILTERS[name]) return;
  state.filter = name;
  for (const button of document.querySelectorAll("[data-filter]")) {
    button.setAttribute("aria-pressed", String(button.dataset.filter === name));
  }
  for (const chat of state.chats.values()) state.items.get(chat.id).hidden = !shown(chat);
  renderCounts();
}

/** Closed chats (and offline messages), newest first, a page at a time: what a reload would otherwise lose. */
export async function loadClosed(more = false) {
  const rtm = state.rtm;
  if (!rtm || (more && !state.closedPage)) return;
  const payload = more ? { page_id: state.closedPage } : { filters: { active: false }, limit: CLOSED_PAGE };
  try {
    const listing = await rtm.request("list_chats", payload);
    if (state.rtm !== rtm) return;
    for (const summary of listing.chats_summary || []) {
      if (!state.chats.get(summary.id)?.active) upsertSummary(summary, true);
    }
    state.closedPage = listing.next_page_id || null;
    renderCounts();
  } catch (err) {
    if (err.type !== "connection") showError(err);
  }
}

export function clearChats() {
  state.chats.clear();
  state.items.clear();
  state.selected = null;
  state.closedPage = null;
  $("chat-list").replaceChildren();
  renderCounts();
  renderTitle();
  showChat(null);
}

export function applySummaries(summaries) {
  const seen = new Set(summaries.map((s) => upsertSummary(s).id));
  for (const chat of state.chats.values()) {
    // an active chat missing from the listing has ended (or left this agent's reach) meanwhile
    if (!seen.has(chat.id) && chat.active) {
      chat.active = false;
      storeChat(chat);
    }
  }
  renderCounts();
}
