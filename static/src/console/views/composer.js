// Writing into the selected chat: replies (with the typing indicator), rich messages, transfers.

import { act, selectedChat } from "../actions.js";
import { $ } from "../dom.js";
import { showError, showStatus } from "../notices.js";
import { isMine, isOpen, state } from "../state.js";

export const TYPING_IDLE_MS = 3000;

export async function sendReply() {
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

export function onReplyInput() {
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

export function stopTyping() {
  const typing = state.typing;
  clearTimeout(typing.timer);
  if (typing.chatId && state.rtm) {
    const chat = state.chats.get(typing.chatId);
    if (chat?.active) state.rtm.request("send_typing_indicator", { chat_id: typing.chatId, is_typing: false })
      .catch(() => {});
  }
  typing.chatId = null;
}

export function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "").slice(0, 40);
}

export async function sendRich() {
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

export async function transfer() {
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
