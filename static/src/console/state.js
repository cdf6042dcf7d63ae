// What the console knows: the signed-in agent, the chats it holds, the visitors it watches, and questions about them.

export const state = {
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

export function newChat(id) {
  return {
    id, users: [], active: false, threadId: null, lastText: "", queue: null,
    events: [], eventIds: new Set(), historyLoaded: false, nextPageId: null,
    peek: "", typing: new Map(), note: "", gone: false,
  };
}

export const agentsOf = (chat) => chat.users.filter((u) => u.type === "agent");
export const customerOf = (chat) => chat.users.find((u) => u.type === "customer");
export const isMine = (chat) => state.me !== null && agentsOf(chat).some((u) => u.id === state.me.id);
export const isQueued = (chat) => chat.active && !chat.gone && agentsOf(chat).length === 0;
export const isOpen = (chat) => chat.active && !chat.gone;

export function customerName(chat) {
  const customer = customerOf(chat);
  if (!customer) return "Customer";
  return customer.name || customer.email || `Customer ${customer.id.slice(0, 8)}`;
}

export function rememberUsers(users) {
  for (const u of users) if (u.name) state.names.set(u.id, u.name);
}

export function authorName(chat, authorId) {
  if (state.me && authorId === state.me.id) return "You";
  const customer = customerOf(chat);
  if (customer && customer.id === authorId) return customerName(chat);
  return state.names.get(authorId) || authorId || "System";
}

export function eventPreview(event) {
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

export function setUsers(chat, users) {
  chat.users = users || [];
  rememberUsers(chat.users);
}

/** Whether the server's inactivity timer marked the chat idle: its chat property routing.idle (LiveChat's routing
 * namespace). An idle chat does not count against the agent's concurrent chats until the next message. */
export function isIdle(data) {
  return data?.properties?.routing?.idle === true;
}
