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
