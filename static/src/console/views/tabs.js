// The console's views (tabs): which one shows, and what a view reads when it is shown.

import { $ } from "../dom.js";
import { state } from "../state.js";
import { showArchives } from "./archives.js";
import { showCanned } from "./canned.js";
import { markRead } from "./chat-list.js";
import { showTickets } from "./tickets.js";
import { loadTraffic, tickVisitorClocks } from "./visitors.js";

export const VIEWS = ["chats", "archives", "tickets", "visitors", "canned"];

export function showView(name) {
  state.view = name;
  for (const view of VIEWS) {
    const selected = view === name;
    $(`${view}-view`).hidden = !selected;
    $(`tab-${view}`).setAttribute("aria-selected", String(selected));
    $(`tab-${view}`).tabIndex = selected ? 0 : -1;
  }
  if (name === "chats") markRead(state.chats.get(state.selected));
  if (name === "archives") showArchives();
  if (name === "tickets") showTickets();
  if (name === "canned") showCanned();
  if (name === "visitors") {
    tickVisitorClocks();
    loadTraffic();
  }
}

/** Click a tab, or move between tabs with the arrow keys, Home and End (the ARIA tabs pattern). */
export function wireTabs() {
  VIEWS.forEach((view, index) => {
    const tab = $(`tab-${view}`);
    tab.addEventListener("click", () => showView(view));
    tab.addEventListener("keydown", (e) => {
      const step = { ArrowLeft: -1, ArrowRight: 1 }[e.key];
      let next = null;
      if (step) next = VIEWS[(index + step + VIEWS.length) % VIEWS.length];
      else if (e.key === "Home") next = VIEWS[0];
      else if (e.key === "End") next = VIEWS[VIEWS.length - 1];
      if (!next) return;
      e.preventDefault();
      showView(next);
      $(`tab-${next}`).focus();
    });
  });
}
