// DOM helpers. User data only ever reaches the page through text nodes and checked attributes: no innerHTML.

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const NS = "http://www.w3.org/2000/svg";

export function icon(path) {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const p = document.createElementNS(NS, "path");
  p.setAttribute("d", path);
  svg.append(p);
  return svg;
}

export const ICONS = {
  minimize: "M5 11h14v2H5z",
  send: "M3 20l18-8L3 4v6l12 2-12 2z",
  attach: "M16.5 6v11.5a4 4 0 01-8 0V5a2.5 2.5 0 015 0v10.5a1 1 0 01-2 0V6H10v9.5a2.5 2.5 0 005 0V5a4 4 0 00-8 0v12.5a5.5 5.5 0 0011 0V6z",
  good: "M2 20h3V9H2zm20-10a2 2 0 00-2-2h-6.3l1-4.6v-.3a1.5 1.5 0 00-.5-1L14 1 7.6 7.6A2 2 0 007 9v9a2 2 0 002 2h8a2 2 0 001.8-1.2l3-7A2 2 0 0022 12z",
  bad: "M22 4h-3v11h3zM2 14a2 2 0 002 2h6.3l-1 4.6v.3a1.5 1.5 0 00.5 1l1.2 1.1 6.4-6.6A2 2 0 0018 15V6a2 2 0 00-2-2H8a2 2 0 00-1.8 1.2l-3 7A2 2 0 002 12z",
};

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

// Text with its http(s) links made clickable: the link text is the URL itself, opened in a new tab without opener.
export function linkify(text) {
  const out = [];
  let last = 0;
  for (const match of String(text).matchAll(URL_RE)) {
    if (match.index > last) out.push(text.slice(last, match.index));
    out.push(h("a", { href: match[0], target: "_blank", rel: "noopener noreferrer nofollow", text: match[0] }));
    last = match.index + match[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// Only http(s) and blob/data images from our own uploads may be used as URLs for links and images.
export function safeUrl(url) {
  if (!url || typeof url !== "string") return null;
  try {
    const u = new URL(url, location.href);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch (e) {
    return null;
  }
}

export function timeOf(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
