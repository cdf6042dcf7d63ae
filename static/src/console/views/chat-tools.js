// Working a chat (issue 18): the thread's tags (from the license's list, list_tags) and untagging, files and images
// (button, drag and drop, paste; the Agent API's upload_file, then a file event), banning the customer and lifting
// the ban (administrators: the Configuration API's unban_customer), and the customer panel's visit (pages, location)
// and previous chats. The Configuration API and uploads are Web calls with the token the console logged in with
// (held in memory only).

import { act, selectedChat } from "../actions.js";
import { $, el, readableDate, safeUrl } from "../dom.js";
import { showError, showStatus } from "../notices.js";
import { PUSHES } from "../pushes.js";
import { customerOf, state } from "../state.js";

const ADMIN_ROLES = new Set(["owner", "administrator", "viceowner"]);

async function web(api, action, body, { form = null } = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (!form) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/v3.6/${api}/action/${action}`, {
      method: "POST", headers, body: form || JSON.stringify(body || {}), credentials: "omit", cache: "no-store",
    });
  } catch {
    throw new Error("Could not reach the server");
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = payload.error || {};
    const err = new Error(error.message || `${action} failed`);
    err.type = error.type;
    throw err;
  }
  return payload;
}

// --- tags ----------------------------------------------------------------------------------------------------------

let licenseTags = null; // names from list_tags, once a sign-in

export function clearChatTools() {
  licenseTags = null;
}

async function loadLicenseTags() {
  if (licenseTags !== null) return;
  try {
    licenseTags = (await web("configuration", "list_tags", {})).map((t) => t.name);
  } catch {
    licenseTags = []; // (free text then)
  }
  $("tag-options").replaceChildren(...licenseTags.map((name) => el("option", { value: name })));
}

/** The chat's head tools for the selected chat: its tags. Called when the chat's data arrived (get_chat). */
export function renderTags(chat) {
  if (!chat || state.selected !== chat.id) return;
  const tags = chat.tags || [];
  $("tag-count").textContent = tags.length ? `(${tags.length})` : "";
  $("tag-list").replaceChildren(...tags.map((tag) => el("li", { class: "tag" },
    el("span", { text: tag }),
    el("button", { type: "button", class: "link", text: "×", "aria-label": `Remove tag ${tag}`,
                   onclick: () => untag(chat, tag) }))));
  $("no-tags").hidden = tags.length > 0;
  loadLicenseTags();
}

async function addTag() {
  const chat = selectedChat();
  const tag = $("tag-input").value.trim();
  if (!chat || !tag || !chat.threadId) return;
  if (await act("tag_thread", { chat_id: chat.id, thread_id: chat.threadId, tag })) {
    chat.tags = [...new Set([...(chat.tags || []), tag])];
    $("tag-input").value = "";
    renderTags(chat);
    showStatus(`Tagged ${tag}.`);
  }
}

async function untag(chat, tag) {
  if (await act("untag_thread", { chat_id: chat.id, thread_id: chat.threadId, tag })) {
    chat.tags = (chat.tags || []).filter((t) => t !== tag);
    renderTags(chat);
    showStatus(`Tag ${tag} removed.`);
    $("tag-input").focus();
  }
}

function onTagPush(added) {
  return ({ chat_id: chatId, thread_id: threadId, tag }) => {
    const chat = state.chats.get(chatId);
    if (!chat || (chat.threadId && threadId !== chat.threadId)) return;
    const tags = new Set(chat.tags || []);
    if (added) tags.add(tag);
    else tags.delete(tag);
    chat.tags = [...tags];
    renderTags(chat);
  };
}

// --- files ---------------------------------------------------------------------------------------------------------

export async function sendFiles(files) {
  const chat = selectedChat();
  if (!chat || !files?.length) return;
  for (const file of files) {
    const form = new FormData();
    form.append("file", file, file.name || "pasted-image.png");
    try {
      const { url } = await web("agent", "upload_file", null, { form });
      if (await act("send_event", { chat_id: chat.id, event: { type: "file", url } })) {
        showStatus(`Sent ${file.name || "the image"}.`);
      }
    } catch (err) {
      showError(`${file.name || "The file"} was not sent: ${err.message}`);
    }
  }
}

// --- ban -----------------------------------------------------------------------------------------------------------

async function ban() {
  const chat = selectedChat();
  const customer = chat ? customerOf(chat) : null;
  const days = Number($("ban-days").value);
  if (!customer || !Number.isInteger(days) || days < 1) return;
  if (await act("ban_customer", { id: customer.id, ban: { days } })) {
    showStatus(`${customer.name || "The customer"} is banned for ${days} day${days === 1 ? "" : "s"}.`);
    $("unban").hidden = !(state.me && ADMIN_ROLES.has(state.me.role));
    $("unban").dataset.customerId = customer.id;
  }
}

async function unban() {
  const customerId = $("unban").dataset.customerId;
  if (!customerId) return;
  try {
    await web("configuration", "unban_customer", { customer_id: customerId });
    $("unban").hidden = true;
    showStatus("The ban was lifted.");
  } catch (err) {
    showError(err);
  }
}

// --- the customer panel: visit and previous chats --------------------------------------------------------------------

/** What renderCustomer leaves out: the visit's pages and location, the ban controls, the previous chats. */
export function renderCustomerExtras(customer) {
  const chat = selectedChat();
  const visit = customer?.visit;
  const pages = visit?.last_pages || [];
  $("visit-title").hidden = !pages.length && !visit?.geolocation;
  const where = visit?.geolocation
    ? [visit.geolocation.city, visit.geolocation.region, visit.geolocation.country].filter(Boolean).join(", ")
    : "";
  $("visit-location").textContent = where ? `Location: ${where}` : "";
  $("visit-pages").replaceChildren(...[...pages].reverse().map((page) => {
    const href = safeUrl(page.url);
    return el("li", {}, href ? el("a", { href, target: "_blank", rel: "noopener noreferrer",
                                         text: page.title || page.url }) : page.title || page.url,
              " ", el("span", { class: "muted", text: readableDate(page.opened_at) }));
  }));
  $("ban-tool").hidden = !customer;
  $("unban").hidden = true;
  $("unban").dataset.customerId = customer?.id || "";
  $("previous-chats").replaceChildren();
  $("previous-title").hidden = true;
  if (customer && chat) loadPrevious(chat, customer);
}

async function loadPrevious(chat, customer) {
  const found = await act("list_archives", { filters: { customer_id: customer.id }, limit: 10 });
  if (!found || state.selected !== chat.id) return;
  const earlier = (found.chats || []).filter((c) => c.thread.id !== chat.threadId);
  $("previous-title").hidden = earlier.length === 0;
  $("previous-chats").replaceChildren(...earlier.map((c) => {
    const first = (c.thread.events || []).find((e) => e.type === "message");
    return el("li", {},
      el("span", { class: "muted", text: readableDate(c.thread.created_at) }), " ",
      el("span", { text: first ? first.text.slice(0, 120) : "(no messages)" }));
  }));
}

// --- transfer: the agents the chat may go to ---------------------------------------------------------------------------

async function offerTransferTargets() {
  const chat = selectedChat();
  if (!chat) return;
  const found = await act("list_agents_for_transfer", { chat_id: chat.id });
  if (!found || state.selected !== chat.id) return;
  $("transfer-options").replaceChildren(...found.map((a) => el("option", {
    value: a.agent_id, label: `${state.names.get(a.agent_id) || a.agent_id} (${a.active_chats} active)`,
  })));
}

// --- wiring --------------------------------------------------------------------------------------------------------

export function wireChatTools() {
  PUSHES.thread_tagged = onTagPush(true);
  PUSHES.thread_untagged = onTagPush(false);
  $("tag-form").addEventListener("submit", (e) => {
    e.preventDefault();
    addTag();
  });
  $("attach").addEventListener("change", (e) => {
    sendFiles([...e.currentTarget.files]);
    e.currentTarget.value = "";
  });
  const form = $("reply-form");
  form.addEventListener("dragover", (e) => {
    if (![...e.dataTransfer.types].includes("Files")) return;
    e.preventDefault();
    form.classList.add("dropping");
  });
  form.addEventListener("dragleave", () => form.classList.remove("dropping"));
  form.addEventListener("drop", (e) => {
    form.classList.remove("dropping");
    if (!e.dataTransfer.files.length) return;
    e.preventDefault();
    sendFiles([...e.dataTransfer.files]);
  });
  $("reply").addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (!files.length) return; // text pastes as text
    e.preventDefault();
    sendFiles(files);
  });
  $("ban-form").addEventListener("submit", (e) => {
    e.preventDefault();
    ban();
  });
  $("unban").addEventListener("click", unban);
  // the agents offered as transfer targets, read when the Transfer tool is opened (list_agents_for_transfer)
  $("transfer-form").closest("details").addEventListener("toggle", (e) => {
    if (e.currentTarget.open) offerTransferTargets();
  });
}
