// The chat list: chats as summaries or full chats, merged into state and drawn as one button each.

import { $, el } from "../dom.js";
import { showError } from "../notices.js";
import {
  agentsOf, customerName, customerOf, eventPreview, isIdle, isMine, isOpen, isQueued, newChat, setUsers, state,
} from "../state.js";
import { appendEventItem, renderChatHead, renderPeek, selectChat, showChat } from "./chat.js";
import { renderVisitor } from "./visitors.js";

/** A chat from login's or list_chats' summaries. */
export function upsertSummary(summary) {
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

export function storeChat(chat) {
  state.chats.set(chat.id, chat);
  renderChatItem(chat);
  if (state.selected === chat.id) renderChatHead(chat);
  const visitor = state.visitors.customers.get(customerOf(chat)?.id);
  if (visitor) renderVisitor(visitor); // its chat state shows in the visitors view
}

export function addEvent(chat, threadId, event, render = true) {
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

export function renderChatItem(chat) {
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

export function clearChats() {
  state.chats.clear();
  state.items.clear();
  state.selected = null;
  $("chat-list").replaceChildren();
  $("no-chats").hidden = false;
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
  $("no-chats").hidden = state.chats.size > 0;
}
