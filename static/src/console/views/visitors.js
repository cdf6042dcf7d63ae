import { takeChat } from "../actions.js";
import { $, el, pad, plural, svg } from "../dom.js";
import { showError } from "../notices.js";
import { customerOf, isOpen, isQueued, state } from "../state.js";
import { fetchChat } from "./chat-list.js";
import { selectChat } from "./chat.js";
import { showView } from "./tabs.js";

// One subscribe_customers per socket: its answer lists who is on the site, the pushes keep the list current. When more
// visitors are online than it lists, the server sends totals instead, and a snapshot is read now and then.

export const VISITOR_LIMIT = 100;
export const CLOCK_MS = 15000;
export const TRAFFIC_MS = 60000;
export const SNAPSHOT_MS = 30000;
export const CHAT_STATES = { chatting: "Chatting", queued: "Waiting for an agent", invited: "Invited", browsing: "Browsing" };

export function visitorName(customer) {
  return customer.name || customer.email || `Visitor ${customer.id.slice(0, 8)}`;
}

export function currentPage(customer) {
  const pages = customer.visit?.last_pages || [];
  return pages[pages.length - 1] || null;
}

export function timeOnSite(since) {
  const started = Date.parse(since);
  if (!since || Number.isNaN(started)) return "";
  const minutes = Math.max(0, Math.floor((Date.now() - started) / 60000));
  if (minutes < 1) return "under a minute";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function place(geo) {
  return [geo?.city, geo?.country || geo?.country_code].filter(Boolean).join(", ");
}

/** The visitor's open chat among those this console holds, if any. */
export function openChatOf(customerId) {
  for (const chat of state.chats.values()) {
    if (isOpen(chat) && customerOf(chat)?.id === customerId) return chat;
  }
  return null;
}

export function visitorState(customer) {
  const chat = openChatOf(customer.id);
  if (chat) return isQueued(chat) ? "queued" : "chatting";
  // a chat of theirs this console holds has ended: whatever the listing said is old news
  if ([...state.chats.values()].some((c) => customerOf(c)?.id === customer.id)) return "browsing";
  return customer.state === "chatting" || customer.state === "queued" ? customer.state : "browsing";
}

export function renderVisitor(customer) {
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
      "aria-label": `${inChat ? "Open chat with" : "Start chat with"} ${name}`, // (the visible text, then whose)
      text: inChat ? "Open chat" : "Start chat",
      onclick: () => (inChat ? openVisitorChat(customer.id) : startChatWith(customer.id)),
    })),
  );
  renderVisitorSummary();
}

export function upsertVisitor(customer) {
  if (!customer?.id) return;
  state.visitors.customers.set(customer.id, customer);
  renderVisitor(customer);
}

export function removeVisitor(customerId) {
  const visitors = state.visitors;
  visitors.rows.get(customerId)?.remove();
  visitors.rows.delete(customerId);
  visitors.customers.delete(customerId);
  renderVisitorSummary();
}

export function replaceVisitors(customers) {
  const visitors = state.visitors;
  visitors.customers.clear();
  visitors.rows.clear();
  $("visitor-rows").replaceChildren();
  for (const customer of [...customers].reverse()) upsertVisitor(customer); // listed newest first
  renderVisitorSummary();
}

export function renderVisitorSummary() {
  const visitors = state.visitors;
  const shown = visitors.rows.size;
  const total = visitors.listing ? shown : visitors.total;
  $("visitor-count").textContent = state.signedIn ? String(total) : "";
  $("no-visitors").hidden = shown > 0;
  $("visitors-summary").textContent = visitors.listing ? `${total} online now`
    : `${total} online now; the ${shown} newest are shown, refreshed every half minute`;
}

export function tickVisitorClocks() {
  for (const cell of document.querySelectorAll("#visitor-rows .visitor-time")) {
    cell.textContent = timeOnSite(cell.dataset.since);
  }
}

export async function subscribeVisitors() {
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
export async function refreshSnapshot() {
  const visitors = state.visitors;
  if (!state.rtm || Date.now() - visitors.snapshotAt < SNAPSHOT_MS) return;
  visitors.snapshotAt = Date.now();
  const page = await state.rtm.request("list_customers", { filters: { online: true }, limit: VISITOR_LIMIT })
    .catch(() => null);
  if (page && !visitors.listing) replaceVisitors(page.customers || []);
}

export async function startChatWith(customerId) {
  const started = await takeChat("start_chat", { chat: { users: [{ id: customerId, type: "customer" }] } });
  if (!started) return;
  showView("chats");
  if (!state.chats.has(started.chat_id)) await fetchChat(started.chat_id);
  if (!state.chats.has(started.chat_id)) return;
  await selectChat(started.chat_id);
  $("reply").focus();
}

export async function openVisitorChat(customerId) {
  const customer = state.visitors.customers.get(customerId);
  const chatId = openChatOf(customerId)?.id || customer?.chat_ids?.[0];
  if (!chatId) return;
  showView("chats");
  if (!state.chats.has(chatId)) await fetchChat(chatId);
  if (state.chats.has(chatId)) await selectChat(chatId);
}

// the chart: plain SVG, coloured by the stylesheet (the page's CSP allows no inline styles)

export async function loadTraffic() {
  const rtm = state.rtm;
  if (!rtm) return;
  const stats = await rtm.request("get_visitor_statistics", { days: 8 }).catch(() => null);
  if (!stats || state.rtm !== rtm) return;
  state.visitors.hours = (stats.hours || []).map((h) => ({ ...h, at: new Date(h.hour) }));
  renderChart();
}

export function chartHours() {
  const { hours, range } = state.visitors;
  if (range === "today") {
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    return hours.filter((h) => h.at >= midnight);
  }
  return hours.slice(-7 * 24);
}

export function renderChart() {
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

export function setRange(range) {
  state.visitors.range = range;
  $("range-today").setAttribute("aria-pressed", String(range === "today"));
  $("range-week").setAttribute("aria-pressed", String(range === "week"));
  renderChart();
}

export function startVisitors() {
  stopVisitors();
  subscribeVisitors();
  if (state.view === "visitors") loadTraffic();
  state.visitors.timers = [
    setInterval(tickVisitorClocks, CLOCK_MS),
    setInterval(() => {
      if (state.view === "visitors") loadTraffic();
    }, TRAFFIC_MS),
  ];
}

export function stopVisitors() {
  for (const timer of state.visitors.timers) clearInterval(timer);
  state.visitors.timers = [];
}

export function clearVisitors() {
  stopVisitors();
  state.visitors.subId = null;
  state.visitors.listing = true;
  replaceVisitors([]);
}
