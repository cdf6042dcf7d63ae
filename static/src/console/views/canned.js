// Canned responses (issue 18): the "Canned responses" view lists, adds, edits and deletes them (the license's only
// for owners and administrators), and the reply box completes "#shortcut" with one, its placeholders filled in:
// {{customer.name}}, {{customer.email}}, {{agent.name}}.

import { act, selectedChat } from "../actions.js";
import { $, el } from "../dom.js";
import { showStatus } from "../notices.js";
import { customerOf, state } from "../state.js";

const ADMIN_ROLES = new Set(["owner", "administrator", "viceowner"]);
const FRESH_MS = 60000;

const canned = { list: [], loadedAt: 0, editing: null, matches: [], active: -1, start: -1 };

export function clearCanned() {
  canned.list = [];
  canned.loadedAt = 0;
  closeCompletion();
}

async function load(force = false) {
  if (!force && Date.now() - canned.loadedAt < FRESH_MS) return;
  const listing = await act("list_canned_responses", {});
  if (!listing) return;
  canned.list = listing.canned_responses || [];
  canned.loadedAt = Date.now();
  renderList();
}

export function showCanned() {
  const admin = state.me && ADMIN_ROLES.has(state.me.role);
  $("canned-scope-field").hidden = !admin;
  load(true);
}

/** The canned text with its placeholders filled for the selected chat (unknown ones stay as written). */
export function fill(text, chat) {
  const customer = chat ? customerOf(chat) : null;
  const values = {
    "customer.name": customer?.name || "",
    "customer.email": customer?.email || "",
    "agent.name": state.me?.name || "",
  };
  return text.replace(/\{\{\s*([a-z.]+)\s*\}\}/g, (whole, name) => (name in values ? values[name] : whole));
}

// --- the view --------------------------------------------------------------------------------------------------------

function renderList() {
  const list = $("canned-list");
  const admin = state.me && ADMIN_ROLES.has(state.me.role);
  list.replaceChildren(...canned.list.map((item) => {
    const mayChange = item.scope === "agent" || admin;
    return el("li", { class: "canned-item" },
      el("span", { class: "canned-shortcut", text: `#${item.shortcut}` }),
      el("span", { class: "canned-scope", text: item.scope === "license" ? "Everyone" : "Mine" }),
      el("p", { class: "canned-text", text: item.text }),
      mayChange ? el("div", { class: "actions" },
        el("button", { type: "button", text: "Edit", "aria-label": `Edit #${item.shortcut}`,
                       onclick: () => edit(item) }),
        el("button", { type: "button", text: "Delete", "aria-label": `Delete #${item.shortcut}`,
                       onclick: () => remove(item) })) : null);
  }));
  $("no-canned").hidden = canned.list.length > 0;
}

function edit(item) {
  canned.editing = item.id;
  $("canned-shortcut").value = item.shortcut;
  $("canned-text").value = item.text;
  $("canned-scope").value = item.scope;
  $("canned-scope").disabled = true; // (a response stays where it was made)
  $("canned-submit").textContent = "Save changes";
  $("canned-cancel").hidden = false;
  $("canned-shortcut").focus();
}

function resetForm() {
  canned.editing = null;
  $("canned-form").reset();
  $("canned-scope").disabled = false;
  $("canned-submit").textContent = "Add canned response";
  $("canned-cancel").hidden = true;
}

async function remove(item) {
  if (await act("delete_canned_response", { id: item.id })) {
    showStatus(`Canned response #${item.shortcut} deleted.`);
    await load(true);
  }
}

async function save() {
  const shortcut = $("canned-shortcut").value.trim().replace(/^#/, "");
  const text = $("canned-text").value;
  if (!shortcut || !text.trim()) return;
  const done = canned.editing
    ? await act("update_canned_response", { id: canned.editing, shortcut, text })
    : await act("create_canned_response", { shortcut, text, scope: $("canned-scope").value });
  if (!done) return;
  showStatus(`Canned response #${shortcut} saved.`);
  resetForm();
  await load(true);
}

// --- "#shortcut" completion in the reply box ---------------------------------------------------------------------------

function closeCompletion() {
  canned.matches = [];
  canned.active = -1;
  const box = $("canned-options");
  if (box) {
    box.hidden = true;
    box.replaceChildren();
  }
  $("reply")?.removeAttribute("aria-activedescendant");
}

function renderCompletion() {
  const box = $("canned-options");
  box.replaceChildren(...canned.matches.map((item, i) => el("li", {
    id: `canned-option-${i}`, role: "option", class: "canned-option", "aria-selected": String(i === canned.active),
    onmousedown: (e) => { e.preventDefault(); insert(i); },
  }, el("span", { class: "canned-shortcut", text: `#${item.shortcut}` }), " ",
     el("span", { class: "canned-preview", text: item.text.slice(0, 80) }))));
  box.hidden = canned.matches.length === 0;
  if (canned.active >= 0) $("reply").setAttribute("aria-activedescendant", `canned-option-${canned.active}`);
  else $("reply").removeAttribute("aria-activedescendant");
  $("canned-hint").textContent = canned.matches.length
    ? `${canned.matches.length} canned response${canned.matches.length === 1 ? "" : "s"}: arrow keys choose, Enter or Tab inserts, Escape closes.`
    : "";
}

async function complete() {
  const box = $("reply");
  const before = box.value.slice(0, box.selectionStart);
  const typed = /(^|\s)#([\w-]{0,64})$/.exec(before);
  if (!typed) {
    if (canned.matches.length) closeCompletion();
    return;
  }
  await load();
  const prefix = typed[2].toLowerCase();
  canned.start = before.length - typed[2].length - 1;
  canned.matches = canned.list.filter((item) => item.shortcut.toLowerCase().startsWith(prefix)).slice(0, 8);
  canned.active = canned.matches.length ? 0 : -1;
  renderCompletion();
}

function insert(index) {
  const item = canned.matches[index];
  if (!item) return;
  const box = $("reply");
  const text = fill(item.text, selectedChat());
  const end = box.selectionStart;
  box.value = box.value.slice(0, canned.start) + text + box.value.slice(end);
  const caret = canned.start + text.length;
  box.setSelectionRange(caret, caret);
  closeCompletion();
  $("canned-hint").textContent = `Inserted #${item.shortcut}.`;
  box.focus();
  box.dispatchEvent(new Event("input")); // (the typing indicator)
}

function onKeydown(e) {
  if (!canned.matches.length) return;
  const n = canned.matches.length;
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    canned.active = (canned.active + (e.key === "ArrowDown" ? 1 : -1) + n) % n;
    renderCompletion();
  } else if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") {
    insert(canned.active < 0 ? 0 : canned.active);
  } else if (e.key === "Escape") {
    closeCompletion();
  } else {
    return;
  }
  // the reply box's own Enter (send) must not also run
  e.preventDefault();
  e.stopImmediatePropagation();
}

/** Wires the view and the reply box's completion; call before the reply box's own keydown handler is added. */
export function wireCanned() {
  $("canned-form").addEventListener("submit", (e) => {
    e.preventDefault();
    save();
  });
  $("canned-cancel").addEventListener("click", resetForm);
  $("reply").addEventListener("keydown", onKeydown);
  $("reply").addEventListener("input", complete);
  $("reply").addEventListener("blur", () => setTimeout(closeCompletion, 150));
}
