// Pushes from the server, one handler per action: they update state and redraw what they touch.

import { $ } from "./dom.js";
import { showStatus } from "./notices.js";
import { signOut } from "./session.js";
import { authorName, newChat, setUsers, state } from "./state.js";
import { addEvent, fetchChat, noteIncoming, renderChatItem, storeChat, upsertChat } from "./views/chat-list.js";
import { renderPeek, renderTyping } from "./views/chat.js";
import { stopTyping } from "./views/composer.js";
import {
  refreshSnapshot, removeVisitor, renderVisitor, renderVisitorSummary, replaceVisitors, upsertVisitor,
} from "./views/visitors.js";

export const PUSHES = {
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
    const added = addEvent(chat, threadId, event);
    renderChatItem(chat);
    if (added) noteIncoming(chat, event);
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
  user_added_to_chat({ chat_id: chatId, user, reason }) {
    // a transfer's target is told only this (chat_transferred goes to those who were in the chat)
    if (reason === "chat_transferred" && state.me && user?.id === state.me.id) state.transfersToMe.add(chatId);
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

export function onPush(action, payload) {
  const handler = PUSHES[action];
  if (handler) handler(payload);
}
