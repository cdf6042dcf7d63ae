// Small DOM helpers: every element is built with text as Text nodes, never parsed as HTML.

export const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become Text nodes, so user data stays text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function readableDate(value) {
  const date = new Date(value);
  return value && !Number.isNaN(date.getTime()) ? date.toLocaleString() : value;
}

export function timeOf(createdAt) {
  const date = new Date(createdAt);
  if (Number.isNaN(date.getTime())) return null;
  return el("time", { datetime: createdAt, text: date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) });
}

export function safeUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element; text goes in as text. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  node.append(...children);
  return node;
}

export const pad = (n) => String(n).padStart(2, "0");
export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
