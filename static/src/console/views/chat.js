// The selected chat: its history, head, typing and sneak peek, and the customer panel.

import { $, el, readableDate, safeUrl, timeOf } from "../dom.js";
import { showError } from "../notices.js";
import { agentsOf, authorName, customerName, customerOf, isMine, isOpen, isQueued, state } from "../state.js";
import { markRead, renderChatItem, upsertChat } from "./chat-list.js";
import { renderCustomerExtras, renderTags } from "./chat-tools.js";
import { stopTyping } from "./composer.js";
import { onPhone, setScreen } from "./screens.js";

export async function selectChat(chatId) {
  const previous = state.selected;
  if (previous && previous !== chatId) stopTyping();
  state.selected = chatId;
  for (const [id, li] of state.items) {
    if (id === chatId) li.firstElementChild.setAttribute("aria-current", "true");
    else li.firstElementChild.removeAttribute("aria-current");
  }
  const left = state.chats.get(previous);
  if (left && previous !== chatId) renderChatItem(left); // (listed only while selected, it may go now)
  const chat = state.chats.get(chatId);
  setScreen("chat");
  showChat(chat);
  if (onPhone()) $("chat-title").focus(); // the list the focus was on is gone from the screen
  markRead(chat);
  await loadHistory(chat);
}

export async function loadHistory(chat) {
  const rtm = state.rtm;
  if (!rtm) return;
  try {
    const [data, listing] = await Promise.all([
      rtm.request("get_chat", { chat_id: chat.id }),
      rtm.request("list_threads", { chat_id: chat.id, limit: 5 }),
    ]);
    upsertChat(data);
    chat.tags = data.thread?.tags || [];
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
      renderTags(chat);
    }
    loadCustomer(chat);
  } catch (err) {
    if (state.selected === chat.id) showError(err);
  }
}

/** Fetched (older) events first, then those only pushes brought: a push may land while history is on its way. */
export function mergeHistory(chat, entries) {
  const fetched = entries.filter((e) => e.event.id);
  const fetchedIds = new Set(fetched.map((e) => e.event.id));
  const live = chat.events.filter((e) => !fetchedIds.has(e.event.id));
  chat.events = [...fetched, ...live];
  chat.eventIds = new Set(chat.events.map((e) => e.event.id));
}

export async function loadEarlier() {
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

export async function loadCustomer(chat) {
  const customer = customerOf(chat);
  if (!customer) return;
  try {
    const details = await state.rtm.request("get_customer", { id: customer.id });
    if (state.selected === chat.id) renderCustomer(details);
  } catch (err) {
    if (state.selected === chat.id) showError(err);
  }
}

export function showChat(chat) {
  $("chat-empty").hidden = Boolean(chat);
  $("chat-body").hidden = !chat;
  $("messages").replaceChildren();
  $("typing").textContent = "";
  renderCustomer(null);
  if (!chat) return;
  renderChatHead(chat);
  $("messages").append(el("div", { class: "loading muted", text: "Loading…" }));
  renderPeek(chat);
}

export function renderChatHead(chat) {
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

export function renderEvents(chat, scroll = true) {
  const list = $("messages");
  list.replaceChildren();
  chat.events.forEach((_, index) => appendEventItem(chat, index, false));
  if (!chat.events.length) list.append(el("p", { class: "muted", text: "No messages yet." }));
  if (scroll) list.scrollTop = list.scrollHeight;
  $("earlier").hidden = !chat.nextPageId;
}

export function appendEventItem(chat, index, own) {
  const list = $("messages");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.querySelector(":scope > .muted")?.remove();
  const { threadId, event } = chat.events[index];
  if (index > 0 && chat.events[index - 1].threadId !== threadId) {
    list.append(el("p", { class: "thread-divider", text: "New thread" }));
  }
  list.append(eventItem(chat, event));
  if (own || nearBottom) list.scrollTop = list.scrollHeight;
}

export function eventItem(chat, event) {
  if (event.type === "system_message") {
    return el("div", { class: "event event-system", "data-event-id": event.id }, el("p", { text: event.text }));
  }
  const customer = customerOf(chat);
  const from = event.author_id === state.me?.id ? "me" : customer?.id === event.author_id ? "customer" : "agent";
  const whisper = event.visibility === "agents" || event.recipients === "agents";
  return el("div", { class: `event from-${from}${whisper ? " whisper" : ""}`, "data-event-id": event.id },
    el("p", { class: "meta" },
      el("span", { class: "author", text: authorName(chat, event.author_id) }), " ", timeOf(event.created_at),
      whisper ? el("span", { class: "badge", text: "agents only" }) : null),
    eventBody(event));
}

export function eventBody(event) {
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

export function formAnswer(field) {
  const one = (a) => (a && typeof a === "object" ? a.label ?? a.id ?? "" : String(a ?? ""));
  if (Array.isArray(field.answers)) return field.answers.map(one).join(", ");
  return one(field.answer);
}

export function renderPeek(chat) {
  const peek = state.selected === chat.id && chat.active ? chat.peek : "";
  $("sneak-peek").hidden = !peek;
  $("sneak-peek-text").textContent = peek;
}

export function renderTyping(chat) {
  if (state.selected !== chat.id) return;
  const names = [...chat.typing.keys()].map((id) => authorName(chat, id));
  $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}

export function renderCustomer(customer) {
  const details = $("customer-details");
  const fields = $("session-fields");
  details.replaceChildren();
  fields.replaceChildren();
  $("customer-empty").hidden = Boolean(customer);
  if (!customer) renderCustomerExtras(null);
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
  renderCustomerExtras(customer);
}
