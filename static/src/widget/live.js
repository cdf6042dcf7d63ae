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

export class LiveIndicators {
  // log: the conversation (role=log); status: the thinking line (role=status); label(authorId): "Ann is typing…";
  // scroll(): keep the end of the conversation in view
  constructor({ log, status, label, scroll }) {
    this.log = log;
    this.status = status;
    this.label = label;
    this.scroll = scroll;
    this.previews = new Map();  // author id -> {node, bubble, timer}
    this.thinking = new Map();  // author id -> {node, timer}
  }

  preview(p) {
    const ev = p.event || {};
    if (ev.type !== "message" || !ev.author_id) return;
    let item = this.previews.get(ev.author_id);
    if (!item) {
      const bubble = h("div", { class: "ws-bubble" });
      const node = h("div", { class: "ws-msg agent ws-preview" },
        h("div", { class: "ws-author" }, h("span", { text: this.label(ev.author_id) })), bubble);
      item = { node, bubble };
      this.previews.set(ev.author_id, item);
    }
    item.bubble.replaceChildren(...linkify(String(ev.text || "").slice(0, MAX_TEXT)));
    this.log.append(item.node);  // (again: it stays below whatever arrived since)
    this.keep(this.previews, ev.author_id, item);
    this.scroll();
  }

  think(p) {
    if (!p.author_id) return;
    this.drop(this.thinking, p.author_id);
    const title = String(p.title || "").slice(0, 256);
    const description = String(p.description || "").slice(0, 2048);
    const node = h("p", { class: "ws-thinking-line" },
      h("strong", { text: title || this.label(p.author_id) }),
      description ? h("span", { class: "ws-thinking-description", text: description }) : null);
    const item = { node };
    this.thinking.set(p.author_id, item);
    this.status.append(node);
    this.status.hidden = false;
    this.keep(this.thinking, p.author_id, item);
  }

  // the author's real message (or a file, a card) arrived: its preview and thinking line have done their job
  arrived(authorId) {
    this.drop(this.previews, authorId);
    this.drop(this.thinking, authorId);
  }

  clear() {
    for (const id of [...this.previews.keys()]) this.drop(this.previews, id);
    for (const id of [...this.thinking.keys()]) this.drop(this.thinking, id);
  }

  keep(map, authorId, item) {
    clearTimeout(item.timer);
    item.timer = setTimeout(() => this.drop(map, authorId), LIFETIME_MS);
  }

  drop(map, authorId) {
    const item = map.get(authorId);
    if (!item) return;
    clearTimeout(item.timer);
    item.node.remove();
    map.delete(authorId);
    if (map === this.thinking && !map.size) this.status.hidden = true;
  }
}
