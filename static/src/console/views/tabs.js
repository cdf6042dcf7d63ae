// The console's views (tabs): which one shows.

import { $ } from "../dom.js";
import { state } from "../state.js";
import { loadTraffic, tickVisitorClocks } from "./visitors.js";

export function showView(name) {
  const onVisitors = name === "visitors";
  state.visitors.view = name;
  $("chats-view").hidden = onVisitors;
  $("visitors-view").hidden = !onVisitors;
  for (const [id, selected] of [["tab-chats", !onVisitors], ["tab-visitors", onVisitors]]) {
    $(id).setAttribute("aria-selected", String(selected));
    $(id).tabIndex = selected ? 0 : -1;
  }
  if (onVisitors) {
    tickVisitorClocks();
    loadTraffic();
  }
}
