// On a phone the chats view is three screens (list → chat → details) instead of three panes side by side; the
// stylesheet shows the one named by data-screen below its narrow breakpoint and ignores it above.

import { $ } from "../dom.js";
import { state } from "../state.js";

export function setScreen(name) {
  state.screen = name;
  $("chats-view").dataset.screen = name;
}

/** The screen's own buttons; moving focus along keeps keyboard and screen-reader users where the content went. */
export function wireScreens(onBackToList) {
  $("back-to-list").addEventListener("click", () => {
    setScreen("list");
    onBackToList();
  });
  $("show-details").addEventListener("click", () => {
    setScreen("details");
    $("customer-title").focus();
  });
  $("back-to-chat").addEventListener("click", () => {
    setScreen("chat");
    $("chat-title").focus();
  });
}
