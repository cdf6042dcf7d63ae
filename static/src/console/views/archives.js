// Archives: ended threads found through the Agent API's list_archives (index-backed on the server) by words, agent,
// tag and date, or by customer: a name or e-mail is first looked up with list_customers (LiveChat's archive filters
// take a customer id). Results come a page at a time; a result opens its transcript beside the list.

import { act } from "../actions.js";
import { $, el, readableDate } from "../dom.js";
import { customerName, customerOf, newChat, setUsers, state } from "../state.js";
import { eventItem } from "./chat.js";

const PAGE = 10;
const CUSTOMER_PAGES = 5; // list_customers pages read to find a name or e-mail (each scans a slice of visitors)

const archive = {
  pages: [], // page ids of the pages before the current one ("" for the first)
  current: "",
  next: null,
  filters: null,
  chats: new Map(), // chat id + thread id -> archived chat, of the current page
  searched: false,
};

/** The first time the view is shown, the newest archived chats. */
export function showArchives() {
  if (!archive.searched && state.rtm) search();
}

export function wireArchives() {
  $("archive-form").addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  $("archive-next").addEventListener("click", () => {
    archive.pages.push(archive.current);
    loadPage(archive.next);
  });
  $("archive-prev").addEventListener("click", () => loadPage(archive.pages.pop() ?? ""));
}

export function clearArchives() {
  Object.assign(archive, { pages: [], current: "", next: null, filters: null, searched: false });
  archive.chats.clear();
  $("archive-results").replaceChildren();
  $("archive-summary").textContent = "";
  $("archive-detail").hidden = true;
  $("archive-next").hidden = true;
  $("archive-prev").hidden = true;
}

/** The date inputs' local day as an RFC 3339 instant: its start (``from``) or its end (``to``). */
function dayBound(value, end) {
  if (!value) return null;
  const date = new Date(`${value}T00:00:00`);
  if (Number.isNaN(date.getTime())) return null;
  if (end) date.setDate(date.getDate() + 1);
  return new Date(date.getTime() - (end ? 1 : 0)).toISOString();
}

/** The customer a name and/or e-mail names, or "" when none does (null: no customer asked for). */
async function findCustomer(name, email) {
  if (!name && !email) return null;
  const filters = {};
  if (name) filters.name = { values: [name] };
  if (email) filters.email = { values: [email] };
  let page = await act("list_customers", { filters, limit: 100 });
  for (let read = 1; page; read += 1) {
    if (page.customers?.length) return page.customers[0].id;
    if (!page.next_page_id || read >= CUSTOMER_PAGES) break;
    page = await act("list_customers", { page_id: page.next_page_id });
  }
  return "";
}

async function search() {
  archive.searched = true;
  const value = (id) => $(id).value.trim();
  const filters = {};
  if (value("archive-query")) filters.query = value("archive-query");
  if (value("archive-agent")) filters.agent_ids = [value("archive-agent")];
  if (value("archive-tag")) filters.tags = { values: [value("archive-tag")] };
  const from = dayBound(value("archive-from"), false);
  const to = dayBound(value("archive-to"), true);
  if (from) filters.from = from;
  if (to) filters.to = to;
  $("archive-summary").textContent = "Searching…";
  // an e-mail address alone is a filter of the archive index (list_archives' customer_email); a name is looked up
  const email = value("archive-email");
  const name = value("archive-customer");
  if (email && !name) filters.customer_email = email;
  const customerId = name ? await findCustomer(name, email) : null;
  if (customerId === "") {
    render({ chats: [], found_chats: 0 }, "No customer has that name or e-mail address.");
    return;
  }
  if (customerId) filters.customer_id = customerId;
  archive.filters = filters;
  archive.pages = [];
  await loadPage("");
}

async function loadPage(pageId) {
  const payload = pageId ? { page_id: pageId } : { filters: archive.filters || {}, limit: PAGE };
  const found = await act("list_archives", payload);
  if (!found) {
    $("archive-summary").textContent = "";
    return;
  }
  archive.current = pageId;
  render(found);
}

function render(found, note = null) {
  archive.next = found.next_page_id || null;
  archive.chats.clear();
  $("archive-detail").hidden = true;
  const list = $("archive-results");
  list.replaceChildren(...(found.chats || []).map((chat) => {
    const key = `${chat.id} ${chat.thread.id}`;
    archive.chats.set(key, chat);
    return el("li", {}, resultButton(chat, key));
  }));
  const first = archive.pages.length * PAGE + 1;
  const shown = found.chats?.length || 0;
  $("archive-summary").textContent = note || (found.found_chats
    ? `${found.found_chats} archived ${found.found_chats === 1 ? "chat" : "chats"} found; ${first}–${first + shown - 1}`
      + " shown, newest first."
    : "No archived chats match.");
  $("archive-next").hidden = !archive.next;
  $("archive-prev").hidden = archive.pages.length === 0;
}

/** An archived chat as the chat views know chats (users, names), for the shared renderers. */
function asChat(archived) {
  const chat = newChat(archived.id);
  setUsers(chat, archived.users);
  return chat;
}

function resultButton(archived, key) {
  const chat = asChat(archived);
  const events = archived.thread.events || [];
  const first = events.find((e) => e.type === "message" || e.type === "filled_form");
  const agents = archived.users.filter((u) => u.type === "agent").map((u) => u.name || u.id);
  return el("button", { type: "button", class: "result-item", "data-chat-id": archived.id,
                        "data-thread-id": archived.thread.id, onclick: () => openArchived(key) },
    el("span", { class: "chat-name", text: customerName(chat) }),
    el("span", { class: "result-meta", text: [readableDate(archived.thread.created_at), agents.join(", ")]
      .filter(Boolean).join(" · ") }),
    el("span", { class: "chat-preview", text: first?.text || (first ? "Form filled" : "No messages") }));
}

function openArchived(key) {
  const archived = archive.chats.get(key);
  if (!archived) return;
  const chat = asChat(archived);
  for (const button of $("archive-results").querySelectorAll(".result-item")) {
    const current = `${button.dataset.chatId} ${button.dataset.threadId}` === key;
    if (current) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
  $("archive-detail").hidden = false;
  $("archive-detail-title").textContent = customerName(chat);
  const customer = customerOf(chat);
  $("archive-detail-meta").textContent = [customer?.email, readableDate(archived.thread.created_at)]
    .filter(Boolean).join(" · ");
  const events = archived.thread.events || [];
  $("archive-transcript").replaceChildren(...(events.length ? events.map((event) => eventItem(chat, event))
    : [el("p", { class: "muted", text: "No messages." })]));
  $("archive-transcript").focus();
}
