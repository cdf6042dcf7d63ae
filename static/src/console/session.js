// Signing in (e-mail and password: a session whose token the RTM login takes, signin.js; or a personal access
// token), reconnecting after a dropped socket, signing out.

import { act } from "./actions.js";
import { startAttention } from "./attention.js";
import { Rtm } from "./connection.js";
import { $ } from "./dom.js";
import { hideError, setConnection, showError, showStatus } from "./notices.js";
import { onPush } from "./pushes.js";
import { endSession, sessionToken } from "./signin.js";
import { state } from "./state.js";
import { clearArchives } from "./views/archives.js";
import { clearCanned } from "./views/canned.js";
import { clearChatTools } from "./views/chat-tools.js";
import { applySummaries, clearChats, loadClosed } from "./views/chat-list.js";
import { loadHistory } from "./views/chat.js";
import { stopTyping } from "./views/composer.js";
import { clearTickets, countOpenTickets } from "./views/tickets.js";
import { clearVisitors, startVisitors } from "./views/visitors.js";

export const TOKEN_KEY = "widget_server.agent_token";

export const MAX_RECONNECT_MS = 30000;

/** Logs in over RTM with ``token``; ``session``: it is a signed-in session's (asked again on each reconnect, never
 * stored), else a personal access token (kept in this tab's session storage). */
export async function signIn(token, { session = false } = {}) {
  state.session = session;
  state.token = token; // (memory only: the Web calls of chat-tools.js; gone with the page)
  clearTimeout(state.reconnectTimer);
  state.rtm?.close();
  const rtm = new Rtm({ onPush, onClose: () => onConnectionLost(rtm) });
  state.rtm = rtm;
  setConnection("Connecting…");
  try {
    await rtm.open();
    const login = await rtm.request("login", { token: `Bearer ${token}` });
    if (state.rtm !== rtm) return;
    if (!session) sessionStorage.setItem(TOKEN_KEY, token);
    state.signedIn = true;
    state.reconnectMs = 1000;
    onLoggedIn(login);
  } catch (err) {
    if (state.rtm !== rtm) return;
    if (err.type === "authentication" || err.type === "requester_suspended") {
      signOut(session ? "Your session ended. Please sign in again." : "That token was not accepted.");
    } else if (!state.signedIn) {
      rtm.close();
      state.rtm = null;
      showLogin(err.message);
    } else {
      rtm.close();
      onConnectionLost(rtm); // try again later, as after a dropped connection
    }
  }
}

export function onLoggedIn(login) {
  state.me = login.my_profile;
  state.names.set(state.me.id, state.me.name);
  $("me").textContent = `${state.me.name} (${state.me.id})`;
  $("accepting").checked = state.me.routing_status === "accepting_chats";
  $("login-view").hidden = true;
  $("console-view").hidden = false;
  $("session").hidden = false;
  $("account").hidden = !state.session; // (a password is changed in a signed-in session)
  setConnection("Connected");
  hideError();
  startAttention();
  applySummaries(login.chats_summary || []);
  loadClosed(); // closed chats and offline messages: not in login's summaries, still the agent's to see
  countOpenTickets();
  startVisitors(); // a new socket: the old one's subscription ended with it
  const selected = state.chats.get(state.selected);
  if (selected) loadHistory(selected);
  if (state.goOnline) { // (once: a reconnect keeps whatever the agent chose since)
    state.goOnline = false;
    if (!$("accepting").checked) goOnline();
  }
}

export async function goOnline() {
  if (await act("set_routing_status", { status: "accepting_chats" })) {
    $("accepting").checked = true;
    showStatus("You accept chats.");
  }
}

export function onConnectionLost(rtm) {
  if (state.rtm !== rtm || !state.signedIn) return;
  state.rtm = null;
  setConnection(`Disconnected; retrying in ${Math.round(state.reconnectMs / 1000)} s`);
  const again = state.session ? reconnectWithSession : () => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) signIn(token);
  };
  state.reconnectTimer = setTimeout(again, state.reconnectMs);
  state.reconnectMs = Math.min(state.reconnectMs * 2, MAX_RECONNECT_MS);
}

async function reconnectWithSession() {
  let token;
  try {
    token = await sessionToken();
  } catch {
    onConnectionLost(null); // the server is still away: try again later
    return;
  }
  if (token) signIn(token, { session: true });
  else signOut("Your session ended. Please sign in again.");
}

export function signOut(message) {
  if (state.session) endSession();
  state.session = false;
  stopTyping();
  state.signedIn = false;
  clearTimeout(state.reconnectTimer);
  const rtm = state.rtm;
  state.rtm = null;
  rtm?.close();
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  clearChats();
  clearVisitors();
  clearArchives();
  clearTickets();
  clearCanned();
  clearChatTools();
  state.token = null;
  $("token").value = "";
  $("password").value = "";
  showLogin(message);
}

export function showLogin(message) {
  $("console-view").hidden = true;
  $("session").hidden = true;
  $("login-view").hidden = false;
  setConnection("");
  if (message) showError(message);
  $(state.loginWith === "token" ? "token" : "email").focus(); // (the form the agent used last)
}
