// The agent console: signs in with a personal access token and speaks the Agent RTM API over one websocket.
// Everything users wrote reaches the DOM as text (textContent / Text nodes); nothing is ever parsed as HTML.
// This module wires the page's controls; the rest lives in one module per concern (see README, Agent console).

import { act, selectedChat } from "./actions.js";
import { $ } from "./dom.js";
import { showStatus } from "./notices.js";
import { TOKEN_KEY, showLogin, signIn, signOut } from "./session.js";
import { state } from "./state.js";
import { applySummaries } from "./views/chat-list.js";
import { loadEarlier } from "./views/chat.js";
import { onReplyInput, sendReply, sendRich, stopTyping, transfer } from "./views/composer.js";
import { showView } from "./views/tabs.js";
import { setRange } from "./views/visitors.js";

function submitter(handler) {
  return (e) => {
    e.preventDefault();
    handler();
  };
}

$("login-form").addEventListener("submit", submitter(() => {
  const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
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
});
$("join").addEventListener("click", async () => {
  const chat = selectedChat();
  if (!chat || !state.me) return;
  const done = await act("add_user_to_chat", { chat_id: chat.id, user_id: state.me.id, user_type: "agent" });
  if (done) $("reply").focus();
});
$("close").addEventListener("click", async () => {
  const chat = selectedChat();
  if (chat) await act("deactivate_chat", { id: chat.id });
});
$("earlier").addEventListener("click", loadEarlier);
$("tab-chats").addEventListener("click", () => showView("chats"));
$("tab-visitors").addEventListener("click", () => showView("visitors"));
for (const tab of ["tab-chats", "tab-visitors"]) {
  $(tab).addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const other = tab === "tab-chats" ? "tab-visitors" : "tab-chats";
    showView(other === "tab-visitors" ? "visitors" : "chats");
    $(other).focus();
  });
}
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
if (handoff.get("token")) {
  history.replaceState(null, "", location.pathname + location.search);
  state.goOnline = handoff.get("online") === "1";
  signIn(handoff.get("token"));
} else {
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
  else showLogin();
}
