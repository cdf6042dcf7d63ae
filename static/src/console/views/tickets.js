// Tickets: offline messages and missed chats kept for an answer by e-mail (this server's list_tickets, get_ticket,
// reply_ticket, solve_ticket and reopen_ticket). Open or solved, a page at a time; one opens beside the list.

import { act } from "../actions.js";
import { $, el, readableDate } from "../dom.js";
import { showStatus } from "../notices.js";
import { state } from "../state.js";

const PAGE = 25;
const SOURCES = { offline_message: "Offline message", missed_chat: "Missed chat" };
const VIA = { form: "offline form", chat: "chat", email: "e-mail", agent: "reply" };

const tickets = { status: "open", next: null, selected: null, loaded: false };

export function wireTickets() {
  $("tickets-open").addEventListener("click", () => setStatus("open"));
  $("tickets-solved").addEventListener("click", () => setStatus("solved"));
  $("tickets-refresh").addEventListener("click", () => loadTickets());
  $("tickets-more").addEventListener("click", () => loadTickets(true));
  $("ticket-reply-form").addEventListener("submit", (e) => {
    e.preventDefault();
    reply();
  });
  $("ticket-solve").addEventListener("click", () => setTicketStatus("solve_ticket", "Ticket solved."));
  $("ticket-reopen").addEventListener("click", () => setTicketStatus("reopen_ticket", "Ticket reopened."));
}

/** Shown: the list is read again (new tickets come from visitors' forms and missed chats, without a push). */
export function showTickets() {
  loadTickets();
}

export function clearTickets() {
  Object.assign(tickets, { status: "open", next: null, selected: null, loaded: false });
  $("ticket-list").replaceChildren();
  $("ticket-detail").hidden = true;
  $("tickets-summary").textContent = "";
  $("ticket-count").textContent = "";
}

/** The open tickets' count on the tab (at sign-in and after each change). */
export async function countOpenTickets() {
  const rtm = state.rtm;
  const listing = rtm ? await rtm.request("list_tickets", { status: "open", limit: 1 }).catch(() => null) : null;
  if (listing && state.rtm === rtm) $("ticket-count").textContent = listing.found_tickets ? String(listing.found_tickets) : "";
}

function setStatus(status) {
  tickets.status = status;
  $("tickets-open").setAttribute("aria-pressed", String(status === "open"));
  $("tickets-solved").setAttribute("aria-pressed", String(status === "solved"));
  $("ticket-detail").hidden = true;
  tickets.selected = null;
  loadTickets();
}

async function loadTickets(more = false) {
  if (more && !tickets.next) return;
  const payload = more ? { page_id: tickets.next } : { status: tickets.status, limit: PAGE };
  const listing = await act("list_tickets", payload);
  if (!listing) return;
  tickets.next = listing.next_page_id || null;
  tickets.loaded = true;
  const items = listing.tickets.map((ticket) => el("li", {}, ticketButton(ticket)));
  if (more) $("ticket-list").append(...items);
  else $("ticket-list").replaceChildren(...items);
  const count = listing.found_tickets;
  $("tickets-summary").textContent = count ? `${count} ${tickets.status} ${count === 1 ? "ticket" : "tickets"}.`
    : `No ${tickets.status} tickets.`;
  if (tickets.status === "open") $("ticket-count").textContent = count ? String(count) : "";
  $("tickets-more").hidden = !tickets.next;
}

function who(ticket) {
  return ticket.name && ticket.email ? `${ticket.name} <${ticket.email}>` : ticket.name || ticket.email || "Visitor";
}

function ticketButton(ticket) {
  const button = el("button", { type: "button", class: "result-item", "data-ticket-id": ticket.id,
                                onclick: () => openTicket(ticket.id) },
    el("span", { class: "chat-name", text: ticket.name || ticket.email || "Visitor" }),
    el("span", { class: `badge badge-${ticket.source}`, text: SOURCES[ticket.source] || ticket.source }),
    el("span", { class: "result-meta", text: readableDate(ticket.updated_at) }),
    el("span", { class: "chat-preview", text: ticket.subject }));
  if (tickets.selected === ticket.id) button.setAttribute("aria-current", "true");
  return button;
}

async function openTicket(id) {
  const ticket = await act("get_ticket", { id });
  if (!ticket) return;
  tickets.selected = id;
  for (const button of $("ticket-list").querySelectorAll(".result-item")) {
    if (button.dataset.ticketId === id) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
  renderTicket(ticket);
}

function renderTicket(ticket) {
  $("ticket-detail").hidden = false;
  $("ticket-title").textContent = ticket.subject || "Ticket";
  $("ticket-meta").textContent = `${SOURCES[ticket.source] || ticket.source} from ${who(ticket)} · `
    + `${ticket.status === "open" ? "Open" : "Solved"} · ${readableDate(ticket.created_at)}`;
  $("ticket-messages").replaceChildren(...(ticket.messages || []).map((message) => el("div", {
    class: `event from-${message.author_type === "agent" ? "me" : "customer"}`, "data-message-id": message.id },
  el("p", { class: "meta" },
    el("span", { class: "author", text: message.author_type === "agent"
      ? (message.author_id === state.me?.id ? "You" : state.names.get(message.author_id) || message.author_id)
      : ticket.name || ticket.email || "Visitor" }),
    ` via ${VIA[message.via] || message.via} · ${readableDate(message.created_at)}`),
  el("p", { class: "text", text: message.text }))));
  const open = ticket.status === "open";
  $("ticket-solve").hidden = !open;
  $("ticket-reopen").hidden = open;
  if (!ticket.email) {
    $("ticket-meta").append(" · no e-mail address known: an answer is kept with the ticket, not sent");
  }
}

async function reply() {
  const id = tickets.selected;
  const box = $("ticket-reply");
  const text = box.value.trim();
  if (!id || !text) return;
  const solve = $("ticket-solve-with-reply").checked;
  const done = await act("reply_ticket", { id, text, solve });
  if (!done) return;
  box.value = "";
  $("ticket-solve-with-reply").checked = false;
  showStatus(done.emailed ? "Answer sent by e-mail." : "Answer kept with the ticket (not e-mailed: no address known).");
  await afterChange(id, solve);
}

async function setTicketStatus(action, message) {
  const id = tickets.selected;
  if (!id || !(await act(action, { id }))) return;
  showStatus(message);
  await afterChange(id, true);
}

/** The ticket again, and the list when its status changed (it moves between open and solved). */
async function afterChange(id, statusChanged) {
  const ticket = await act("get_ticket", { id });
  if (ticket) renderTicket(ticket);
  if (statusChanged) {
    await loadTickets();
    countOpenTickets();
  }
}
