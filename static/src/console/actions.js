// Calling the Agent API from a button: errors are shown to the agent, and the caller gets null.

import { showError } from "./notices.js";
import { state } from "./state.js";

export function selectedChat() {
  return state.chats.get(state.selected) || null;
}

export async function act(action, payload) {
  if (!state.rtm) {
    showError("Not connected.");
    return null;
  }
  try {
    return await state.rtm.request(action, payload);
  } catch (err) {
    showError(err);
    return null;
  }
}

/** An action by which the agent takes a chat (start, join): what it brings is theirs, not news to announce. */
export async function takeChat(action, payload, chatId = null) {
  if (chatId) state.ownChats.add(chatId);
  state.quiet = true;
  try {
    const done = await act(action, payload);
    if (done?.chat_id) state.ownChats.add(done.chat_id);
    return done;
  } finally {
    state.quiet = false;
  }
}
