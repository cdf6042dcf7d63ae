// What the console knows: the signed-in agent, the chats it holds, the visitors it watches, and questions about them.

export const state = {
  rtm: null,
  me: null,
  chats: new Map(), // chat id -> chat (see newChat)
  items: new Map(), // chat id -> its <li> in the list
  names: new Map(), // user id -> display name, from every user list seen
  selected: null,
  view: "chats", // the tab shown: chats | archives | tickets | visitors
  filter: "mine", // which chats the list shows: mine | queued | active | inactive | closed
  screen: "list", // on a phone, the one pane shown of the chats view: list | chat | details
  closedPage: null, // list_chats' next_page_id of the closed chats, while there are more
  transfersToMe: new Set(), // chats transferred to this agent, announced once they arrive
  quiet: false, // while the agent starts or joins a chat: no alert for what they did themselves
  ownChats: new Set(), // chats the agent started or joined: no "new chat" alert for them
  signedIn: false,
  session: false, // signed in with e-mail and password: the RTM token comes from the server's session (signin.js)
  token: null, // the token the RTM login took, in memory only (Web calls: list_tags, unban_customer, upload_file)
  loginWith: "password", // the sign-in form used last (focused again when sign-in fails): password | token
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
    timers: [],
  },
};

export function newChat(id) {
  return {
    id, users: [], active: false, threadId: null, lastText: "", queue: null,
    events: [], eventIds: new Set(), historyLoaded: false, nextPageId: null,
    peek: "", typing: new Map(), note: "", gone: false,
    unread: 0, // messages from others since the agent last looked at it
    seenMine: false, seenQueued: false, // announced (or known at sign-in) as this agent's, as waiting in the queue
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

/** Which chats each filter of the chat list shows. "active" is every active chat the agent may see: for the owner and
 * administrators that is every chat of the license (the server decides, as for list_chats). "inactive" are active
 * chats the license's inactivity timer marked idle (LiveChat's chat_inactive_after_min), "closed" those whose last
 * thread ended, offline messages included (read with list_chats, so they are there after a reload too). */
export const FILTERS = {
  mine: (chat) => isOpen(chat) && isMine(chat),
  queued: (chat) => isQueued(chat),
  active: (chat) => isOpen(chat),
  inactive: (chat) => isOpen(chat) && Boolean(chat.idle),
  closed: (chat) => !isOpen(chat),
};

/** Whether the agent is looking at the chat now: a message there needs no alert and stays read. */
export function isFocused(chat) {
  return state.selected === chat.id && state.view === "chats" && state.screen !== "list"
    && document.visibilityState === "visible";
}

/** Whether the chat is the agent's concern: alerts and unread counts are for these, not for every chat an
 * administrator can see. */
export const concernsMe = (chat) => isOpen(chat) && (isMine(chat) || isQueued(chat));
