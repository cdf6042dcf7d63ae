// What an agent shows while working, never stored (Customer Chat API 3.6): a message's preview
// (`incoming_event_preview`) as a bubble at the end of the conversation, and a "thinking" line
// (`incoming_thinking_indicator`: a bot fetching data, with a title and a description). Both are in polite live
// regions (the preview in the conversation's log, the thinking line in its own status line), so a screen reader
// announces them without interrupting. Each goes away when its author's real message arrives, when the chat closes,
// or LIFETIME_MS after its author's last push: LiveChat documents no end to either, and an indicator that no message
// follows (a bot that gave up, an agent who left) must not stay on screen.
import { h, linkify } from "./dom.js";

export const LIFETIME_MS = 30000;
const MAX_TEXT = 16384;  // the longest preview the Agent API accepts

// log: the conversation (role=log); status: the thinking lines (role=status); label(authorId): "Ann is typing…";
// scroll(): keep the end of the conversation in view. (Closures rather than a class: the minifier shortens them.)
export function liveIndicators({ log, status, label, scroll }) {
  const previews = new Map();  // author id -> {node, timer}
  const thinking = new Map();

  function drop(map, authorId) {
    const item = map.get(authorId);
    if (!item) return;
    clearTimeout(item.timer);
    item.node.remove();
    map.delete(authorId);
    status.hidden = !thinking.size;
  }

  // the author's node (replacing their previous one) at the end of `parent`, until LIFETIME_MS after this push
  function show(map, authorId, node, parent) {
    drop(map, authorId);
    parent.append(node);
    map.set(authorId, { node, timer: setTimeout(() => drop(map, authorId), LIFETIME_MS) });
    status.hidden = !thinking.size;
  }

  return {
    preview(p) {
      const ev = p.event || {};
      if (ev.type !== "message" || !ev.author_id) return;
      show(previews, ev.author_id, h("div", { class: "ws-msg agent ws-preview" },
        h("div", { class: "ws-author" }, h("span", { text: label(ev.author_id) })),
        h("div", { class: "ws-bubble" }, linkify(String(ev.text || "").slice(0, MAX_TEXT)))), log);
      scroll();
    },

    think(p) {
      if (!p.author_id) return;
      show(thinking, p.author_id, h("p", { class: "ws-thinking-line" },
        h("strong", { text: String(p.title || "").slice(0, 256) || label(p.author_id) }),
        p.description ? h("span", { class: "ws-thinking-description", text: String(p.description).slice(0, 2048) }) : null),
      status);
    },

    // the author's real message (or a file, a card) arrived: their preview and thinking line have done their job
    arrived(authorId) {
      drop(previews, authorId);
      drop(thinking, authorId);
    },

    clear() {
      for (const id of [...previews.keys()]) drop(previews, id);
      for (const id of [...thinking.keys()]) drop(thinking, id);
    },
  };
}
