// On a phone the chats view is three screens (list → chat → details) instead of three panes side by side; the
// stylesheet shows the one named by data-screen below its narrow breakpoint and ignores it above.

import { $ } from "../dom.js";
import { state } from "../state.js";

/** The stylesheet's phone breakpoint (console.css), where one screen shows at a time. */
export const PHONE = "(max-width: 640px)";

export const onPhone = () => window.matchMedia(PHONE).matches;

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
