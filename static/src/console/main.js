// The agent console: signs in with a personal access token and speaks the Agent RTM API over one websocket.
// Everything users wrote reaches the DOM as text (textContent / Text nodes); nothing is ever parsed as HTML.
// This module wires the page's controls; the rest lives in one module per concern (see README, Agent console).

import { act, selectedChat, takeChat } from "./actions.js";
import { askPermission, setMuted, unlockAudio } from "./attention.js";
import { $ } from "./dom.js";
import { showStatus } from "./notices.js";
import { TOKEN_KEY, showLogin, signIn, signOut } from "./session.js";
import { wireSignIn } from "./account.js";
import { sessionToken } from "./signin.js";
import { state } from "./state.js";
import { wireArchives } from "./views/archives.js";
import { wireCanned } from "./views/canned.js";
import { wireChatTools } from "./views/chat-tools.js";
import { applySummaries, loadClosed, markRead, setFilter } from "./views/chat-list.js";
import { loadEarlier, selectChat } from "./views/chat.js";
import { onReplyInput, sendReply, sendRich, stopTyping, transfer } from "./views/composer.js";
import { wireScreens } from "./views/screens.js";
import { showView, wireTabs } from "./views/tabs.js";
import { wireTickets } from "./views/tickets.js";
import { setRange } from "./views/visitors.js";

function submitter(handler) {
  return (e) => {
    e.preventDefault();
    handler();
  };
}

$("login-form").addEventListener("submit", submitter(() => {
  const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
  state.loginWith = "token";
  if (token) signIn(token);
}));
$("sign-out").addEventListener("click", () => signOut("Signed out."));
$("accepting").addEventListener("change", async (e) => {
  const box = e.currentTarget;
  const status = box.checked ? "accepting_chats" : "not_accepting_chats";
  const done = await act("set_routing_status", { status });
  if (!done) box.checked = !box.checked;
  else showStatus(box.checked ? "You accept chats." : "You do not accept new chats.");
});
$("refresh").addEventListener("click", async () => {
  const listing = await act("list_chats", { filters: { active: true }, limit: 100 });
  if (listing) applySummaries(listing.chats_summary || []);
  loadClosed();
});
$("join").addEventListener("click", async () => {
  const chat = selectedChat();
  if (!chat || !state.me) return;
  const done = await takeChat("add_user_to_chat", { chat_id: chat.id, user_id: state.me.id, user_type: "agent" },
                              chat.id);
  if (done) $("reply").focus();
});
$("close").addEventListener("click", async () => {
  const chat = selectedChat();
  if (chat) await act("deactivate_chat", { id: chat.id });
});
$("earlier").addEventListener("click", loadEarlier);
wireSignIn();
wireChatTools();
wireCanned(); // (before the reply box's own keydown: a completion list takes Enter first)
wireTabs();
wireScreens(() => $("chat-list").querySelector('[aria-current="true"]')?.focus());
wireArchives();
wireTickets();
for (const button of document.querySelectorAll("[data-filter]")) {
  button.addEventListener("click", () => {
    setFilter(button.dataset.filter);
    if (button.dataset.filter === "closed") loadClosed();
  });
}
$("more-closed").addEventListener("click", () => loadClosed(true));
$("mute").addEventListener("change", (e) => setMuted(e.currentTarget.checked));
$("notify-permission").addEventListener("click", askPermission);
// the beep may sound only after a user gesture: the first one makes the audio context
for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlockAudio, { once: true });
// back in the tab, the chat in view is read
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && state.view === "chats" && state.screen !== "list") {
    markRead(state.chats.get(state.selected));
  }
});
// a desktop notification clicked: its chat
document.addEventListener("console:open-chat", (e) => {
  if (!state.chats.has(e.detail)) return;
  showView("chats");
  setFilter(state.filter);
  selectChat(e.detail);
});
$("range-today").addEventListener("click", () => setRange("today"));
$("range-week").addEventListener("click", () => setRange("week"));
$("reply-form").addEventListener("submit", submitter(sendReply));
$("reply").addEventListener("input", onReplyInput);
$("reply").addEventListener("blur", stopTyping);
$("reply").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendReply();
  }
});
$("rich-form").addEventListener("submit", submitter(sendRich));
$("transfer-form").addEventListener("submit", submitter(transfer));

// the demo page's first-run shortcut (POST /demo/console) opens /agent#token=…&online=1: the token is taken out of
// the address at once (a fragment reaches no server and no log, but stays in the history), and the agent goes online
const handoff = new URLSearchParams(location.hash.slice(1));
if (handoff.get("online") === "1" && !handoff.get("token")) {
  // (the demo page's shortcut now signs the owner in with a console session: only "go online" is in the address)
  history.replaceState(null, "", location.pathname + location.search);
  state.goOnline = true;
}
if (handoff.get("token")) {
  history.replaceState(null, "", location.pathname + location.search);
  state.goOnline = handoff.get("online") === "1";
  signIn(handoff.get("token"));
} else {
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
  else {
    // signed in with a password before (this tab or another): the session's token; else the sign-in form
    sessionToken().then((token) => (token ? signIn(token, { session: true }) : showLogin()),
                        (err) => showLogin(err.message));
  }
}
