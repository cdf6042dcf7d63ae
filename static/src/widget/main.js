// The chat frame: runs on the server's origin inside the loader's iframe and speaks the Customer Chat API (Web for
// configuration, uploads and customer data; RTM for the conversation). Everything user-supplied is rendered as text.
import { Rtm } from "./rtm.js";
import { ICONS, append, h, icon, linkify, safeUrl, timeOf } from "./dom.js";
import { liveIndicators } from "./live.js";
import { sideStorage } from "./side_storage.js";

const params = new URLSearchParams(location.search);
const ORG = params.get("organization_id");
const GROUP = Number(params.get("group_id") || 0);
const HOST_ORIGIN = params.get("origin") || "";
const PREVIEW = params.get("preview");  // the wizard's preview: its unsaved draft
const API = `/v3.6/customer`;
const TOKEN_KEY = `ws_token_${ORG}`;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

// This frame is a third-party frame on every site but the server's own: where the browser blocks third-party storage
// (Chromium's "block third-party cookies", incognito windows, Brave, Safari), merely reading sessionStorage throws a
// SecurityError. So every use is guarded, and nothing depends on it: the visitor's identity is kept by the loader in
// the host page's own storage, the loader hands this frame its token (the URL fragment, then postMessage when asked),
// and sessionStorage only spares a reloaded frame that question.
function savedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch (e) {
    return null;
  }
}

function saveToken(value) {
  token = value;
  try {
    sessionStorage.setItem(TOKEN_KEY, value);
  } catch (e) { /* blocked: the token lives in memory, the loader has it too */ }
}

let token = null;
const handed = new URLSearchParams(location.hash.slice(1)).get("t") || savedToken();
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
if (handed) saveToken(handed);

const app = document.getElementById("ws-app");
const S = {
  cfg: null,           // static configuration
  texts: {},
  online: false,
  customer: {},
  chatId: null,
  threadId: null,
  active: false,
  queue: null,         // {position, wait_time} while queued
  users: new Map(),    // id -> {name, avatar, type}
  events: new Map(),   // id -> event (every thread of the chat, as rendered)
  outbox: new Map(),   // custom_id -> {event, node, state}
  seenByAgents: "",    // seen_up_to of the agents, RFC 3339
  visible: false,      // the window is open (maximized)
  unread: 0,
  rtm: null,
  connected: false,
  hadSession: false,
  rated: new Set(),
  olderPage: null,
  status: "browsing",
  typingTimer: null,
};

// --- host page bridge ------------------------------------------------------------------------------------------------

function toHost(message) {
  if (!HOST_ORIGIN || window.parent === window) return;
  window.parent.postMessage({ ws: 1, ...message }, HOST_ORIGIN);
}

function hostState() {
  toHost({
    t: "state",
    unread: S.unread,
    availability: S.online ? "online" : "offline",
    chat: S.chatId ? { chatId: S.chatId, threadId: S.threadId } : {},
    customer: {
      id: S.customer.id, name: S.customer.name || "", email: S.customer.email || "",
      isReturning: S.hadSession, status: S.status,
    },
  });
}

function setStatus(status) {
  if (status === S.status) return;
  S.status = status;
  hostState();
  toHost({ t: "event", name: "customer_status_changed", payload: { status } });
}

window.addEventListener("message", (e) => {
  if (e.source !== window.parent || e.origin !== HOST_ORIGIN) return;
  const m = e.data;
  if (!m || m.ws !== 1) return;
  if (m.t === "hello") toHost({ t: "ready" });
  else if (m.t === "token") tokenWaiters.splice(0).forEach((done) => done(m.token));
  else if (m.t === "visibility") setVisible(m.v === "maximized");
  else if (m.t === "call") hostCall(m.name, m.arg);
  else if (m.t === "draft") setDraft(m.text);
});

// LiveChat's maximize({messageDraft}): the text waits in the composer, unless the visitor is writing already
function setDraft(text) {
  S.draft = String(text ?? "").slice(0, 16000);
  if (ui.input && !ui.input.value) ui.input.value = S.draft;
}

async function hostCall(name, arg) {
  const fields = {};
  if (name === "set_customer_name") fields.name = String(arg ?? "");
  else if (name === "set_customer_email") fields.email = String(arg ?? "");
  else if (name === "set_session_variables" || name === "update_session_variables") {
    fields.session_fields = Object.entries(arg || {}).map(([k, v]) => ({ [k]: String(v) }));
  } else {
    console.warn(`WidgetServer.call: unknown method ${name}`);
    return;
  }
  try {
    await web("update_customer", fields);
    Object.assign(S.customer, fields.name !== undefined ? { name: fields.name } : {},
      fields.email !== undefined ? { email: fields.email } : {});
    hostState();
  } catch (err) {
    console.warn(`WidgetServer.call(${name}) failed: ${err.message || err.type}`);
  }
}

// --- HTTP ----------------------------------------------------------------------------------------------------------

async function web(action, payload) {
  const r = await fetch(`${API}/action/${action}?organization_id=${encodeURIComponent(ORG)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(payload || {}),
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw (body.error || { type: "internal", message: `HTTP ${r.status}` });
  return body;
}

async function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const r = await fetch(`${API}/action/upload_file?organization_id=${encodeURIComponent(ORG)}`, {
    method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form,
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw (body.error || { type: "internal" });
  return body.url;
}

// --- the shell -----------------------------------------------------------------------------------------------------

const ui = {};

function t(key, vars) {
  let s = S.texts[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
  return s;
}

function renderShell() {
  const c = S.cfg;
  const avatar = safeUrl(c.agent_avatar);
  ui.title = h("h1", { class: "ws-title", id: "ws-title", text: c.title });
  ui.subtitle = h("p", { class: "ws-subtitle" });
  ui.header = h("header", { class: "ws-header" },
    avatar ? h("img", { class: "ws-avatar", src: avatar, alt: "" }) : null,
    h("div", { class: "ws-heading" }, ui.title, ui.subtitle),
    h("button", { class: "ws-icon-button", type: "button", "aria-label": t("minimize"), title: t("minimize"),
      onclick: () => toHost({ t: "show", v: "minimized" }) }, icon(ICONS.minimize)));
  ui.banner = h("div", { class: "ws-banner", role: "status", hidden: true });
  ui.log = h("div", { class: "ws-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": t("messages"), tabindex: "0" });
  ui.typing = h("div", { class: "ws-typing", "aria-live": "polite", hidden: true });
  ui.queue = h("div", { class: "ws-queue", role: "status", hidden: true });
  ui.thinking = h("div", { class: "ws-thinking", role: "status", "aria-live": "polite", hidden: true });
  ui.main = h("div", { class: "ws-main" }, ui.log, ui.typing, ui.thinking, ui.queue);
  indicators = liveIndicators({ log: ui.log, status: ui.thinking, label: (id) => t("typing", { name: userName(id) }),
    scroll: scrollDown });
  ui.input = h("textarea", { class: "ws-input", rows: "1", placeholder: t("placeholder"), "aria-label": t("placeholder"),
    maxlength: "16000", oninput: onInput, onkeydown: onKeyDown });
  if (S.draft) ui.input.value = S.draft;
  ui.file = h("input", { type: "file", class: "ws-file", tabindex: "-1", "aria-hidden": "true",
    onchange: () => { sendFiles([...ui.file.files]); ui.file.value = ""; } });
  ui.attach = h("button", { class: "ws-icon-button", type: "button", "aria-label": t("attach"), title: t("attach"),
    onclick: () => ui.file.click() }, icon(ICONS.attach));
  ui.send = h("button", { class: "ws-icon-button ws-send", type: "button", "aria-label": t("send"), title: t("send"),
    onclick: submitMessage }, icon(ICONS.send));
  ui.composer = h("div", { class: "ws-composer" }, ui.attach, ui.input, ui.send, ui.file);
  ui.drop = h("div", { class: "ws-drop", hidden: true, text: t("drop_files") });
  // the frame is a document of its own: the chat window is its one main landmark, holding everything (axe's
  // landmark-main-is-top-level and region rules; a <main> inside a labelled <section> was a nested landmark)
  ui.window = h("main", { class: "ws-window", "aria-labelledby": "ws-title" },
    ui.header, ui.banner, ui.main, ui.composer, ui.drop);
  app.replaceChildren(ui.window);
  applyTheme();
  document.documentElement.lang = c.language;
  // a right-to-left language mirrors the whole window: the CSS uses logical sides and flex order, which follow dir
  document.documentElement.dir = c.direction || "ltr";

  ui.window.addEventListener("dragover", (e) => {
    if (!S.cfg || !canCompose()) return;
    e.preventDefault();
    ui.drop.hidden = false;
  });
  ui.window.addEventListener("dragleave", (e) => { if (e.target === ui.drop) ui.drop.hidden = true; });
  ui.window.addEventListener("drop", (e) => {
    e.preventDefault();
    ui.drop.hidden = true;
    if (canCompose()) sendFiles([...(e.dataTransfer?.files || [])]);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") toHost({ t: "show", v: "minimized" });
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) markSeen(); });
  updateSubtitle();
}

// The theme's colours as CSS variables on the root (through the CSSOM: no inline style under the frame's CSP). A
// theme with a dark palette (the "auto" theme) follows the visitor's prefers-color-scheme, also when it changes.
const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");

function applyTheme() {
  const theme = S.cfg.theme;
  const dark = theme.dark_variables && darkScheme.matches;
  for (const [k, v] of Object.entries(dark ? theme.dark_variables : theme.variables)) {
    document.documentElement.style.setProperty(k, v);
  }
  document.documentElement.dataset.scheme = dark ? "dark" : "light";
}

darkScheme.addEventListener("change", () => { if (S.cfg && S.cfg.theme.dark_variables) applyTheme(); });

function updateSubtitle() {
  ui.subtitle.textContent = S.cfg.agent_name;
}

function canCompose() {
  return !ui.composer.hidden;
}

function banner(text) {
  ui.banner.textContent = text || "";
  ui.banner.hidden = !text;
}

// --- views -----------------------------------------------------------------------------------------------------------

function showComposer(on) {
  ui.composer.hidden = !on;
}

function clearForms() {
  for (const node of ui.log.querySelectorAll(".ws-form-card")) node.remove();
}

function renderForm(form, { intro, submitText, onSubmit, kind, headers = true }) {
  const fields = [];
  const body = h("form", { class: "ws-form", novalidate: true });
  let index = 0;
  for (const f of form.fields) {
    const id = `f-${kind}-${index++}`;
    const label = f.label || "";
    if (f.type === "header") {
      if (headers) body.append(h("p", { class: "ws-form-header", text: label }));
      continue;
    }
    const error = h("p", { class: "ws-field-error", id: `${id}-err`, hidden: true });
    let control;
    let read;
    if (f.type === "rating") {
      // the chat's rating: good or bad, sent as a choice {id, label} that the server counts as the chat's rating
      const options = [["good", t("rate_good"), ICONS.good], ["bad", t("rate_bad"), ICONS.bad]].map(([value, text, svg], i) => {
        const input = h("input", { type: "radio", name: id, value, id: `${id}-${i}` });
        return { input, text, node: h("label", { class: "ws-option ws-rate-option", for: `${id}-${i}` }, input, icon(svg), text) };
      });
      control = h("fieldset", { class: "ws-options ws-rating-field", "aria-describedby": `${id}-err` },
        h("legend", { text: label + (f.required ? " *" : "") }), options.map((o) => o.node));
      read = () => {
        const chosen = options.find((o) => o.input.checked);
        return chosen ? { id: chosen.input.value, label: chosen.text } : "";
      };
      body.append(control, error);
    } else if (f.type === "radio" || f.type === "checkbox" || f.type === "group_chooser") {
      const type = f.type === "checkbox" ? "checkbox" : "radio";
      const options = (f.options || []).map((o, i) => {
        const value = String(o.label ?? o.value ?? o.group_id ?? i);
        const input = h("input", { type, name: id, value, id: `${id}-${i}` });
        return { input, node: h("label", { class: "ws-option", for: `${id}-${i}` }, input, value) };
      });
      control = h("fieldset", { class: "ws-options", "aria-describedby": `${id}-err` },
        h("legend", { text: label + (f.required ? " *" : "") }), options.map((o) => o.node));
      read = () => {
        const chosen = options.filter((o) => o.input.checked).map((o) => o.input.value);
        return type === "checkbox" ? chosen : chosen[0] || "";
      };
      body.append(control, error);
    } else {
      if (f.type === "select") {
        control = h("select", { id, "aria-describedby": `${id}-err` }, h("option", { value: "", text: "—" }),
          (f.options || []).map((o) => h("option", { value: String(o.label ?? o.value), text: String(o.label ?? o.value) })));
      } else if (f.type === "textarea" || f.type === "question") {
        control = h("textarea", { id, rows: f.type === "textarea" ? "4" : "2", "aria-describedby": `${id}-err` });
      } else {
        control = h("input", { id, type: f.type === "email" ? "email" : "text",
          autocomplete: f.type === "email" ? "email" : f.type === "name" ? "name" : "off",
          "aria-describedby": `${id}-err` });
        if (f.type === "name" && S.customer.name) control.value = S.customer.name;
        if (f.type === "email" && S.customer.email) control.value = S.customer.email;
      }
      if (f.required) control.setAttribute("aria-required", "true");
      read = () => control.value.trim();
      body.append(h("label", { for: id, class: "ws-label", text: label + (f.required ? " *" : "") }), control, error);
    }
    fields.push({ spec: f, read, control, error });
  }
  const submit = h("button", { type: "submit", class: "ws-button", text: submitText });
  body.append(submit);
  body.addEventListener("submit", async (e) => {
    e.preventDefault();
    let firstBad = null;
    const answers = [];
    for (const field of fields) {
      const value = field.read();
      let problem = "";
      if (field.spec.required && (Array.isArray(value) ? value.length === 0 : !value)) problem = t("required");
      else if (field.spec.type === "email" && value && !EMAIL_RE.test(value)) problem = t("invalid_email");
      field.error.textContent = problem;
      field.error.hidden = !problem;
      field.control.setAttribute("aria-invalid", problem ? "true" : "false");
      if (problem && !firstBad) firstBad = field.control;
      const answer = { type: field.spec.type, id: field.spec.id, label: field.spec.label || "" };
      if (Array.isArray(value)) answer.answers = value.map((v) => ({ label: v }));
      else if (value || field.spec.type !== "rating") answer.answer = value;  // a skipped rating: no answer at all
      answers.push(answer);
    }
    if (firstBad) {
      (firstBad.querySelector?.("input") || firstBad).focus();
      return;
    }
    submit.disabled = true;
    try {
      await onSubmit(answers);
    } catch (err) {
      submit.disabled = false;
      banner(err.message || t("upload_failed"));
    }
  });
  const card = h("div", { class: `ws-form-card ws-form-${kind}` }, intro ? h("p", { class: "ws-form-intro", text: intro }) : null, body);
  ui.log.append(card);
  const first = body.querySelector("input, textarea, select");
  if (S.visible && first && !PREVIEW) first.focus();
  return card;
}

function showPrechat() {
  showComposer(false);
  renderForm(S.cfg.prechat_form, {
    kind: "prechat", intro: t("prechat_intro"), submitText: t("start_chat"),
    onSubmit: async (answers) => {
      if (PREVIEW) {  // the preview sends nothing: the sample conversation follows the form, as a chat would
        clearForms();
        showSampleConversation();
        return;
      }
      await saveIdentity(answers);
      const form = { type: "filled_form", form_id: S.cfg.prechat_form.id, form_type: "prechat", fields: answers };
      await startChat([form]);
      toHost({ t: "event", name: "form_submitted", payload: { type: "prechat" } });
      clearForms();
      showComposer(true);
      ui.input.focus();
    },
  });
}

function showOffline() {
  showComposer(false);
  ui.log.append(h("div", { class: "ws-notice" }, h("strong", { text: S.cfg.offline_title }), h("p", { text: S.cfg.offline_text })));
  renderForm(S.cfg.ticket_form, {
    kind: "ticket", submitText: t("send_message"), headers: false,  // the notice above says it, in the owner's words
    onSubmit: async (answers) => {
      if (!PREVIEW) {  // the preview sends nothing, and thanks as the widget would
        await saveIdentity(answers);
        const form = { type: "filled_form", form_id: S.cfg.ticket_form.id, form_type: "ticket", fields: answers };
        await ensureConnected();
        await S.rtm.request("start_chat", { chat: { access: { group_ids: [GROUP] }, thread: { events: [form] } }, active: false });
        toHost({ t: "event", name: "form_submitted", payload: { type: "ticket" } });
      }
      clearForms();
      ui.log.append(h("div", { class: "ws-notice ws-left", role: "status", text: t("message_left") }));
    },
  });
}

async function saveIdentity(answers) {
  const fields = {};
  for (const a of answers) {
    if (a.type === "name" && a.answer) fields.name = a.answer;
    if (a.type === "email" && a.answer) fields.email = a.answer;
  }
  if (Object.keys(fields).length) {
    await web("update_customer", fields);
    Object.assign(S.customer, fields);
  }
}

// --- messages ----------------------------------------------------------------------------------------------------------

function userName(id) {
  if (id === S.customer.id) return t("you");
  const u = S.users.get(id);
  return (u && u.name) || S.cfg.agent_name || t("agent");
}

function isMine(ev) {
  return ev.author_id === S.customer.id;
}

function eventKey(ev) {
  return `${ev.created_at || "9999"}|${ev.id || ""}`;
}

// LiveChat's "ask for email": the server asks a visitor whose chat was missed for their address; the answer is
// saved on the customer (update_customer), which attaches it to the ticket the chat became.
function renderAskForEmail(ev) {
  const box = h("div", { class: "ws-system ws-ask-email", "data-key": eventKey(ev) }, h("p", { text: t("ask_for_email") }));
  if (S.customer.email) {
    box.append(h("p", { text: t("email_saved", { email: S.customer.email }) }));
    return box;
  }
  const input = h("input", { type: "email", autocomplete: "email", required: "", "aria-label": t("ask_for_email") });
  const form = h("form", { class: "ws-ask-email-form", novalidate: true }, input, h("button", { type: "submit", text: t("send") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const email = input.value.trim();
    if (!EMAIL_RE.test(email)) return banner(t("invalid_email"));
    try {
      await web("update_customer", { email });
      S.customer.email = email;
      form.replaceWith(h("p", { role: "status", text: t("email_saved", { email }) }));
    } catch (err) {
      banner(err.message || t("invalid_email"));
    }
  });
  box.append(form);
  return box;
}

function renderEvent(ev) {
  if (ev.type === "system_message" && ev.system_message_type === "ask_for_email") return renderAskForEmail(ev);
  if (ev.type === "system_message") {
    return h("div", { class: "ws-system", "data-key": eventKey(ev), text: ev.text });
  }
  if (ev.type === "filled_form") {
    if (ev.form_type === "ticket" || ev.form_type === "prechat") {
      const rows = (ev.fields || []).filter((f) => f.answer || (f.answers && f.answers.length)).map((f) =>
        h("div", { class: "ws-form-row" }, h("span", { text: f.label || f.id }), h("span", {
          text: f.answer !== undefined ? String(f.answer) : f.answers.map((a) => a.label ?? a).join(", ") })));
      return wrapMessage(ev, h("div", { class: "ws-bubble ws-filled-form" }, rows));
    }
    return null;
  }
  if (ev.type === "message") {
    const bubble = h("div", { class: "ws-bubble" }, linkify(ev.text || ""));
    return wrapMessage(ev, bubble);
  }
  if (ev.type === "file") {
    const url = safeUrl(ev.url);
    if (!url) return null;
    const image = (ev.content_type || "").startsWith("image/");
    const body = image
      ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" },
        h("img", { class: "ws-image", src: safeUrl(ev.thumbnail_url) || url, alt: ev.alternative_text || ev.name || "" }))
      : h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "ws-file-link", text: ev.name || url });
    return wrapMessage(ev, h("div", { class: "ws-bubble ws-bubble-file" }, body));
  }
  if (ev.type === "rich_message") return wrapMessage(ev, renderRich(ev));
  return null;
}

function wrapMessage(ev, body) {
  const mine = isMine(ev);
  const author = userName(ev.author_id);
  const avatar = !mine && S.users.get(ev.author_id)?.avatar ? safeUrl(S.users.get(ev.author_id).avatar) : null;
  return h("div", { class: `ws-msg ${mine ? "customer" : "agent"}`, "data-key": eventKey(ev), "data-id": ev.id || "" },
    !mine ? h("div", { class: "ws-author" }, avatar ? h("img", { class: "ws-avatar-sm", src: avatar, alt: "" }) : null,
      h("span", { text: author })) : h("span", { class: "ws-sr", text: author }),
    body,
    h("div", { class: "ws-meta" }, h("time", { datetime: ev.created_at || "", text: ev.created_at ? timeOf(ev.created_at) : "" }),
      mine ? h("span", { class: "ws-seen" }) : null));
}

function renderRich(ev) {
  const wrap = h("div", { class: `ws-rich ws-rich-${ev.template_id}` });
  const elements = ev.elements || [];
  if (ev.template_id === "sticker") {
    const url = safeUrl(elements[0]?.image?.url);
    if (url) wrap.append(h("img", { class: "ws-sticker", src: url, alt: elements[0].image.alternative_text || "" }));
    return wrap;
  }
  if (ev.template_id === "quick_replies") {
    const el = elements[0] || {};
    if (el.title) wrap.append(h("div", { class: "ws-bubble", text: el.title }));
    if (el.subtitle) wrap.append(h("p", { class: "ws-card-subtitle", text: el.subtitle }));
    const chips = (el.buttons || []).map((b) => buttonFor(ev, b, "ws-chip"));
    // answered (event_updated says the visitor toggled one): the chips stay disabled, as after the click
    if (chips.some((c) => c.getAttribute("aria-pressed") === "true")) for (const c of chips) c.disabled = true;
    wrap.append(h("div", { class: "ws-quick-replies", role: "group" }, chips));
    return wrap;
  }
  for (const el of elements) {
    const img = safeUrl(el.image?.url);
    wrap.append(h("div", { class: "ws-card" },
      img ? h("img", { class: "ws-card-image", src: img, alt: el.image.alternative_text || "" }) : null,
      el.title ? h("div", { class: "ws-card-title", text: el.title }) : null,
      el.subtitle ? h("div", { class: "ws-card-subtitle", text: el.subtitle }) : null,
      el.buttons?.length ? h("div", { class: "ws-card-buttons" }, el.buttons.map((b) => buttonFor(ev, b, "ws-card-button"))) : null));
  }
  return wrap;
}

function buttonFor(ev, b, cls) {
  // a postback button is a toggle: pressed when the visitor is in its user_ids (which event_updated brings); a click
  // toggles it
  const pressed = b.postback_id ? (Array.isArray(b.user_ids) && b.user_ids.includes(S.customer.id)) : undefined;
  return h("button", { type: "button", class: cls, text: b.text,
    "aria-pressed": pressed === undefined ? undefined : String(pressed), onclick: async (e) => {
    const target = e.currentTarget;
    if (ev.thread_id && b.postback_id) {
      toHost({ t: "event", name: "rich_message_button_clicked", payload: { eventId: ev.id, postbackId: b.postback_id } });
      S.rtm.request("send_rich_message_postback", {
        chat_id: S.chatId, thread_id: ev.thread_id, event_id: ev.id, postback: { id: b.postback_id, toggled: !pressed },
      }).catch(() => {});
    }
    if (b.type === "url" || b.type === "webview") {
      const url = safeUrl(b.value);
      if (url) window.open(url, b.target === "current" ? "_top" : "_blank", "noopener");
    } else if (b.type === "phone" && b.value) {
      window.open(`tel:${encodeURIComponent(b.value)}`, "_top");
    } else if (b.type === "message" || !b.type) {
      if (cls === "ws-chip") for (const sib of target.parentNode.querySelectorAll("button")) sib.disabled = true;
      sendText(b.value || b.text);
    }
  } });
}

function insertNode(node) {
  // keep the log in (created_at, id) order: a catch-up after a reconnect may bring events older than the last shown
  const key = node.getAttribute("data-key");
  const after = [...ui.log.querySelectorAll("[data-key]")].reverse().find((n) => n.getAttribute("data-key") <= key);
  if (after) after.after(node);
  else ui.log.prepend(node);
}

function addEvents(events, threadId, { live = false } = {}) {
  let added = 0;
  for (const raw of events) {
    const ev = { ...raw, thread_id: raw.thread_id || threadId };
    if (ev.id && S.events.has(ev.id)) continue;
    if (ev.id) S.events.set(ev.id, ev);
    const pending = ev.custom_id && S.outbox.get(ev.custom_id);
    const node = renderEvent(ev);
    if (pending) {
      S.outbox.delete(ev.custom_id);
      if (node) pending.node.replaceWith(node);
      else pending.node.remove();
    } else if (node) {
      insertNode(node);
    }
    added += 1;
    // the page hears of each new message, rich message or file as it arrives, the visitor's own once the server
    // took it (LiveChat's new_event)
    const chatty = ev.type === "message" || ev.type === "rich_message" || ev.type === "file";
    if ((live || pending) && chatty) {
      toHost({ t: "event", name: "new_event", payload: {
        timestamp: Date.parse(ev.created_at) || Date.now(), type: ev.type,
        author: { id: ev.author_id, type: isMine(ev) ? "customer" : "agent" },
      } });
    }
    if (!isMine(ev) && chatty) indicators?.arrived(ev.author_id);
    if (live && !isMine(ev) && chatty) {
      if (!S.visible || document.hidden) {
        S.unread += 1;
        hostState();
      }
    }
  }
  if (added) {
    scrollDown();
    updateSeen();
    markSeen();
  }
}

function scrollDown() {
  ui.log.scrollTop = ui.log.scrollHeight;
}

function updateSeen() {
  const mine = [...ui.log.querySelectorAll(".ws-msg.customer")];
  for (const node of mine) node.querySelector(".ws-seen").textContent = "";
  if (!S.seenByAgents) return;
  const seen = mine.filter((n) => n.getAttribute("data-key").split("|")[0] <= S.seenByAgents).pop();
  if (seen) seen.querySelector(".ws-seen").textContent = `· ${t("seen")}`;
}

function markSeen() {
  if (!S.visible || document.hidden || !S.chatId || !S.connected) return;
  const last = [...S.events.values()].map((e) => e.created_at).filter(Boolean).sort().pop();
  if (!last) return;
  if (S.unread) {
    S.unread = 0;
    hostState();
  }
  if (last !== S.lastMarked) {
    S.lastMarked = last;
    S.rtm.request("mark_events_as_seen", { chat_id: S.chatId, seen_up_to: last }).catch(() => {});
  }
}

// --- sending -------------------------------------------------------------------------------------------------------------

let customSeq = 0;

function customId() {
  return `w${Date.now().toString(36)}${(++customSeq).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

function onKeyDown(e) {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submitMessage();
  }
}

let lastPeek = 0;
let peekTimer = null;

function onInput() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 120)}px`;
  if (!S.active || !S.connected) return;
  clearTimeout(peekTimer);
  const wait = Math.max(0, 700 - (Date.now() - lastPeek));
  peekTimer = setTimeout(() => {
    lastPeek = Date.now();
    S.rtm.request("send_sneak_peek", { chat_id: S.chatId, sneak_peek_text: ui.input.value.slice(0, 2000) }).catch(() => {});
  }, wait);
}

function submitMessage() {
  const text = ui.input.value.trim();
  if (!text) return;
  ui.input.value = "";
  onInput();
  sendText(text);
}

function sendText(text) {
  sendEvent({ type: "message", text });
}

function pendingNode(ev) {
  const node = renderEvent({ ...ev, author_id: S.customer.id, created_at: new Date().toISOString() });
  node.classList.add("ws-pending");
  ui.log.append(node);
  scrollDown();
  return node;
}

async function sendEvent(event) {
  const ev = { ...event, custom_id: customId() };
  if (PREVIEW) {  // the owner tries the composer: shown as sent, sent nowhere
    addEvents([{ ...ev, id: ev.custom_id, author_id: S.customer.id, created_at: new Date().toISOString() }], null);
    return;
  }
  const item = { event: ev, node: pendingNode(ev) };
  S.outbox.set(ev.custom_id, item);
  await deliver(item);
}

async function deliver(item) {
  const ev = item.event;
  try {
    if (!S.chatId) {
      await startChat([ev]);
    } else if (!S.active) {
      await resumeChat([ev]);
    } else {
      const r = await S.rtm.request("send_event", { chat_id: S.chatId, event: ev });
      settle(ev, r.event_id);
    }
    item.node.classList.remove("ws-failed");
  } catch (err) {
    if (err && err.type === "network") return;  // resent after the reconnection's catch-up
    if (err && err.type === "chat_inactive") {
      S.active = false;
      return deliver(item);
    }
    item.node.classList.add("ws-failed");
    item.node.title = err.message || "";
  }
}

function settle(ev, eventId) {
  // the answer came before (or instead of) the incoming_event push: the pending node becomes the event
  if (!eventId || S.events.has(eventId)) return;
  addEvents([{ ...ev, id: eventId, author_id: S.customer.id, created_at: new Date().toISOString() }], S.threadId);
}

async function startChat(events) {
  await ensureConnected();
  const r = await S.rtm.request("start_chat", {
    chat: { access: { group_ids: [GROUP] }, thread: { events } }, continuous: true,
  });
  S.chatId = r.chat_id;
  S.threadId = r.thread_id;
  S.active = true;
  setStatus("chatting");
  hostState();
  await sync();
}

async function resumeChat(events) {
  await ensureConnected();
  const r = await S.rtm.request("resume_chat", { chat: { id: S.chatId, access: { group_ids: [GROUP] }, thread: { events } }, continuous: true });
  S.threadId = r.thread_id;
  S.active = true;
  for (const node of ui.log.querySelectorAll(".ws-rating, .ws-form-postchat")) node.remove();
  setStatus("chatting");
  hostState();
  await sync();
}

async function sendFiles(files) {
  if (PREVIEW) return;  // nothing is uploaded from the wizard's preview
  for (const file of files) {
    if (file.size > S.cfg.upload_max_bytes) {
      banner(`${file.name}: ${t("upload_failed")}`);
      continue;
    }
    const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : null;
    const placeholder = h("div", { class: "ws-msg customer ws-pending" },
      h("div", { class: "ws-bubble ws-bubble-file" }, preview ? h("img", { class: "ws-image", src: preview, alt: file.name }) : h("span", { text: file.name })));
    ui.log.append(placeholder);
    scrollDown();
    try {
      if (!S.chatId) await startChat([]);
      const url = await upload(file);
      placeholder.remove();
      await sendEvent({ type: "file", url, name: file.name, content_type: file.type || undefined, size: file.size });
    } catch (err) {
      placeholder.classList.add("ws-failed");
      banner(`${file.name}: ${t("upload_failed")}`);
    } finally {
      if (preview) setTimeout(() => URL.revokeObjectURL(preview), 60000);
    }
  }
}

// --- the conversation's state ---------------------------------------------------------------------------------------------

function absorbUsers(users) {
  for (const u of users || []) S.users.set(u.id, { name: u.name, avatar: u.avatar, type: u.type });
}

function applyThread(thread) {
  if (!thread) return;
  addEvents(thread.events || [], thread.id);
  if (thread.id === S.threadId || !S.threadId) {
    S.threadId = thread.id;
    S.active = !!thread.active;
    setQueue(thread.active ? thread.queue : null);
  }
}

function setQueue(queue) {
  S.queue = queue && queue.position ? queue : null;
  ui.queue.hidden = !S.queue;
  ui.queue.textContent = S.queue ? t("queue", { position: S.queue.position }) : "";
  if (S.active) setStatus(S.queue ? "queued" : "chatting");
}

// Everything after what we have, by event id: the latest threads (newest first) until one we already fully know.
async function sync() {
  if (!S.chatId) return;
  const known = new Set(S.events.keys());
  const r = await S.rtm.request("list_threads", { chat_id: S.chatId, sort_order: "desc", limit: 5 });
  const threads = (r.threads || []).slice().reverse();
  for (const th of threads) dropMissed(th, known);
  if (!S.olderPage && r.next_page_id && !S.synced) S.olderPage = r.next_page_id;
  S.synced = true;
  const chat = await S.rtm.request("get_chat", { chat_id: S.chatId });
  absorbUsers(chat.users);
  for (const th of threads) applyThread(th);
  applyThread(chat.thread);
  if (chat.thread) {
    S.threadId = chat.thread.id;
    S.active = !!chat.thread.active;
    setQueue(chat.thread.active ? chat.thread.queue : null);
  }
  for (const u of chat.users || []) {
    if (u.type === "agent" && u.events_seen_up_to && u.events_seen_up_to > S.seenByAgents) S.seenByAgents = u.events_seen_up_to;
  }
  updateSeen();
  renderOlderButton();
  if (!S.active) setStatus("browsing");
  // what we sent while the socket was down and the server never stored: send it again, once
  const stored = new Set([...S.events.values()].map((e) => e.custom_id).filter(Boolean));
  for (const item of [...S.outbox.values()]) {
    if (stored.has(item.event.custom_id)) continue;
    await deliver(item);
  }
  showComposer(true);
  hostState();
}

function renderOlderButton() {
  ui.log.querySelector(".ws-older")?.remove();
  if (!S.olderPage) return;
  ui.log.prepend(h("button", { type: "button", class: "ws-older", text: "…", "aria-label": t("messages"), onclick: async () => {
    const r = await S.rtm.request("list_threads", { chat_id: S.chatId, sort_order: "desc", limit: 5, page_id: S.olderPage });
    S.olderPage = r.next_page_id || null;
    for (const th of (r.threads || []).slice().reverse()) addEvents(th.events || [], th.id);
    renderOlderButton();
  } }));
}

function onPush(action, p) {
  if (p.chat_id && S.chatId && p.chat_id !== S.chatId && action !== "incoming_chat") return;
  if (onPush36(action, p)) return;
  switch (action) {
    case "incoming_chat": {
      const chat = p.chat || {};
      if (S.chatId && chat.id !== S.chatId) return;
      S.chatId = chat.id;
      absorbUsers(chat.users);
      if (chat.thread) {
        // the echo of our own start_chat can come after its answer (pushes travel through the bus): it must not
        // clear the queue position the answer's get_chat found
        const known = chat.thread.id === S.threadId;
        S.threadId = chat.thread.id;
        S.active = !!chat.thread.active;
        addEvents(chat.thread.events || [], chat.thread.id, { live: true });
        if (!known || chat.thread.queue) setQueue(chat.thread.queue);
      }
      hostState();
      break;
    }
    case "incoming_event":
      addEvents([p.event], p.thread_id, { live: true });
      break;
    case "event_updated":
      if (p.event?.id && S.events.has(p.event.id)) {
        const node = ui.log.querySelector(`[data-id="${CSS.escape(p.event.id)}"]`);
        const ev = { ...p.event, thread_id: p.thread_id };
        S.events.set(ev.id, ev);
        const fresh = renderEvent(ev);
        if (node && fresh) node.replaceWith(fresh);
      }
      break;
    case "incoming_typing_indicator": {
      const ti = p.typing_indicator || {};
      if (ti.author_id === S.customer.id) break;
      ui.typing.hidden = !ti.is_typing;
      ui.typing.textContent = ti.is_typing ? t("typing", { name: userName(ti.author_id) }) : "";
      clearTimeout(S.typingTimer);
      if (ti.is_typing) S.typingTimer = setTimeout(() => { ui.typing.hidden = true; }, 15000);
      break;
    }
    case "user_added_to_chat":
      absorbUsers([p.user]);
      setQueue(null);
      break;
    case "chat_transferred":
      if (p.queue) setQueue(p.queue);
      break;
    case "queue_position_updated":
      if (p.thread_id === S.threadId) setQueue(p.queue);
      break;
    case "events_marked_as_seen":
      if (p.user_id !== S.customer.id && p.seen_up_to > S.seenByAgents) {
        S.seenByAgents = p.seen_up_to;
        updateSeen();
      }
      break;
    case "chat_deactivated":
      S.active = false;
      setQueue(null);
      ui.typing.hidden = true;
      setStatus("browsing");
      if (!S.rated.has(p.thread_id || S.threadId)) {
        if (S.cfg.postchat_form) showPostchat(p.thread_id || S.threadId);
        else if (S.cfg.rating) showRating(p.thread_id || S.threadId);
      }
      hostState();
      break;
    case "groups_status_updated": {
      // agents came or went, or the group's business hours opened or closed: the host page's API and the next
      // opening of the panel (offline form or composer) follow
      const mine = (p.groups || []).find((g) => g.id === GROUP);
      if (mine) {
        S.online = mine.status !== "offline";
        hostState();
      }
      break;
    }
    case "incoming_welcome_message":
      renderWelcome(p);
      break;
    case "customer_disconnected":
      // a server restart or a moved connection: the socket closes next and the widget reconnects
      banner(t("reconnecting"));
      break;
    default:
      break;
  }
}

// --- the Customer Chat API 3.6 pushes ----------------------------------------------------------------------------------

let indicators = null;  // liveIndicators(), once the shell is drawn
const side = sideStorage(ORG);

// Returns true when the push is fully handled here.
function onPush36(action, p) {
  switch (action) {
    case "event_deleted":
      // the visitor deleted one of their messages (in this tab, another, or through the API): it leaves every tab
      removeEvent(p.event_id);
      return true;
    case "incoming_event_preview":
      if (p.event?.author_id !== S.customer.id) indicators?.preview(p);
      return true;
    case "incoming_thinking_indicator":
      if (p.author_id !== S.customer.id) indicators?.think(p);
      return true;
    case "customer_side_storage_updated":
      side.set(p.customer_side_storage);
      return true;
    case "chat_deactivated":
      indicators?.clear();
      return false;  // the chat's own handling follows
    default:
      return false;
  }
}

// Deletions a tab missed while its socket was down (pushes are not replayed): a thread of list_threads comes whole, so
// an event this tab knew before asking that is not in it was deleted. (Only events known before the question: one
// pushed while the answer was on its way is not in it and stays.)
function dropMissed(thread, known) {
  const present = new Set((thread.events || []).map((e) => e.id));
  for (const ev of [...S.events.values()]) {
    if (ev.thread_id === thread.id && known.has(ev.id) && !present.has(ev.id)) removeEvent(ev.id);
  }
}

function removeEvent(id) {
  if (!id || !S.events.has(id)) return;
  S.events.delete(id);
  ui.log.querySelector(`[data-id="${CSS.escape(id)}"]`)?.remove();
  updateSeen();
}

// --- the welcome message ---------------------------------------------------------------------------------------------------

function replyTime(seconds) {
  if (seconds < 60) return t("time_minute");
  if (seconds < 3600) return t("time_minutes", { n: Math.round(seconds / 60) });
  return t("time_hours", { n: Math.round(seconds / 3600) });
}

// The group's welcome text, who is online (avatars and names) and how soon they usually answer, above the
// conversation. Text nodes only: names and texts are the owner's and agents' data.
function renderWelcome(p) {
  ui.log.querySelector(".ws-welcome")?.remove();
  const agents = (p.agents || []).slice(0, 5).map((a) => h("span", { class: "ws-welcome-agent" },
    safeUrl(a.avatar) ? h("img", { class: "ws-avatar-sm", src: safeUrl(a.avatar), alt: "" }) : null,
    h("span", { text: a.name })));
  const seconds = p.typical_reply_seconds;
  ui.log.prepend(h("div", { class: "ws-welcome", role: "note" },
    agents.length ? h("div", { class: "ws-welcome-agents" }, agents) : null,
    h("p", { class: "ws-welcome-text", text: (p.event && p.event.text) || "" }),
    typeof seconds === "number" ? h("p", { class: "ws-welcome-reply",
      text: t("typically_replies", { time: replyTime(seconds) }) }) : null));
}

// A new conversation opens on the welcome message: the socket connects now (the visitor opened the chat) and the
// server pushes incoming_welcome_message. Failing that, the panel works as before.
function requestWelcome() {
  if (PREVIEW) return;
  ensureConnected()
    .then(() => S.rtm.request("request_welcome_message", { group_id: GROUP }))
    .catch(() => {});
}

function showPostchat(threadId) {
  // the owner's post-chat survey, once per thread: stored in the closed thread (attach_to_last_thread) as a
  // postchat filled_form, whose rating question the server counts as the chat's rating
  for (const node of ui.log.querySelectorAll(".ws-rating, .ws-form-postchat")) node.remove();
  const chatId = S.chatId;
  const customIdOfSurvey = customId();  // a resend after a lost answer is the same survey, stored once
  ui.log.append(h("div", { class: "ws-system", text: t("chat_ended") }));
  const card = renderForm(S.cfg.postchat_form, {
    kind: "postchat", intro: t("rate_title"), submitText: t("send"),
    onSubmit: async (answers) => {
      const form = { type: "filled_form", form_id: S.cfg.postchat_form.id, form_type: "postchat", fields: answers,
        custom_id: customIdOfSurvey };
      await ensureConnected();
      await S.rtm.request("send_event", { chat_id: chatId, event: form, attach_to_last_thread: true });
      S.rated.add(threadId);
      card.replaceChildren(h("p", { role: "status", text: t("rate_thanks") }));
      toHost({ t: "event", name: "form_submitted", payload: { type: "postchat" } });
      const rating = answers.find((a) => a.type === "rating" && a.answer);
      if (rating) toHost({ t: "event", name: "rating_submitted", payload: rating.answer.id });
    },
  });
  scrollDown();
}

function showRating(threadId) {
  for (const node of ui.log.querySelectorAll(".ws-rating")) node.remove();
  const comment = h("textarea", { class: "ws-rating-comment", rows: "2", "aria-label": t("rate_comment"), placeholder: t("rate_comment"), hidden: true });
  let score = null;
  const choose = (value, button) => {
    score = value;
    for (const b of card.querySelectorAll(".ws-rate")) b.setAttribute("aria-pressed", b === button ? "true" : "false");
    comment.hidden = false;
    send.hidden = false;
    comment.focus();
  };
  const good = h("button", { type: "button", class: "ws-rate", "aria-pressed": "false", onclick: (e) => choose(1, e.currentTarget) }, icon(ICONS.good), t("rate_good"));
  const bad = h("button", { type: "button", class: "ws-rate", "aria-pressed": "false", onclick: (e) => choose(0, e.currentTarget) }, icon(ICONS.bad), t("rate_bad"));
  const send = h("button", { type: "button", class: "ws-button", hidden: true, text: t("rate_send"), onclick: async () => {
    send.disabled = true;
    const rating = { score };
    if (comment.value.trim()) rating.comment = comment.value.trim();
    try {
      await S.rtm.request("update_thread_properties", { chat_id: S.chatId, thread_id: threadId, properties: { rating } });
      S.rated.add(threadId);
      card.replaceChildren(h("p", { role: "status", text: t("rate_thanks") }));
      toHost({ t: "event", name: "rating_submitted", payload: score ? "good" : "bad" });
    } catch (err) {
      send.disabled = false;
      banner(err.message || "");
    }
  } });
  const card = h("div", { class: "ws-rating", role: "group", "aria-label": t("rate_title") },
    h("p", { class: "ws-rating-title", text: t("rate_title") }), h("div", { class: "ws-rate-buttons" }, good, bad), comment, send);
  ui.log.append(h("div", { class: "ws-system", text: t("chat_ended") }), card);
  scrollDown();
}

// --- connection ------------------------------------------------------------------------------------------------------------

let connecting = null;

function ensureConnected() {
  if (S.connected) return Promise.resolve();
  if (!connecting) {
    connecting = new Promise((resolve) => {
      S.onConnected = resolve;
      if (!S.rtm) {
        const scheme = location.protocol === "https:" ? "wss:" : "ws:";
        S.rtm = new Rtm({
          url: `${scheme}//${location.host}${API}/rtm/ws?organization_id=${encodeURIComponent(ORG)}`,
          login: () => ({ token: `Bearer ${token}`, group_id: GROUP,
            ...(side.get() ? { customer_side_storage: side.get() } : {}) }),
          onPush,
          onOnline: async (payload) => {
            S.connected = true;
            banner("");
            if (payload.customer) {
              S.customer.id = payload.customer.id;
              S.customer.name = payload.customer.name || S.customer.name;
              S.customer.email = payload.customer.email || S.customer.email;
            }
            window.__wsRtm = S.rtm;  // for tests and debugging: the live connection
            const done = S.onConnected;
            S.onConnected = null;
            connecting = null;
            if (done) done();
            else await sync().catch(() => {});  // a reconnection: catch up on what we missed
          },
          onOffline: async (err, fatal) => {
            S.connected = false;
            banner(t("reconnecting"));
            if (fatal) await renewToken();
          },
        });
      }
      S.rtm.connect();
    });
  }
  return connecting;
}

const tokenWaiters = [];

function tokenFromHost() {
  if (!HOST_ORIGIN || window.parent === window) return Promise.resolve(null);  // no page to ask
  return new Promise((resolve) => {
    tokenWaiters.push(resolve);
    toHost({ t: "token" });
    setTimeout(() => resolve(null), 5000);
  });
}

async function renewToken() {
  // the token expired (a tab that slept for hours): the page's loader holds a fresh one (its heartbeats renew it,
  // for the same visitor however identified); failing that, the browser's identity cookie, kept for the page's site
  // (redirect_uri: the server keys identities by the embedding page's origin, and only this frame may name it)
  const fresh = await tokenFromHost();
  if (fresh && fresh !== token) {
    saveToken(fresh);
    return;
  }
  try {
    const r = await fetch("/v2/customer/token", { method: "POST", credentials: "include",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ grant_type: "cookie", organization_id: ORG, redirect_uri: HOST_ORIGIN || undefined }) });
    const body = await r.json();
    if (body.access_token) saveToken(body.access_token);
  } catch (e) { /* retried on the next reconnection */ }
}

async function setVisible(visible) {
  S.visible = visible;
  if (!S.cfg) return;
  if (visible) {
    await openConversation();
    markSeen();
    const field = ui.log.querySelector(".ws-form-card input, .ws-form-card textarea");
    // (not in the wizard's preview: it reloads as the owner types, and must leave the focus in the wizard's form)
    if (!PREVIEW) (ui.composer.hidden ? field : ui.input)?.focus();
  }
}

let opened = false;

async function openConversation() {
  if (opened) return;
  opened = true;
  if (S.chatId) {
    await ensureConnected();
    await sync();
    return;
  }
  if (!S.online) showOffline();
  else if (S.cfg.prechat_form) showPrechat();
  else if (PREVIEW) showSampleConversation();
  else {
    showComposer(true);
    requestWelcome();
  }
}

// --- the wizard's preview ------------------------------------------------------------------------------------------
// The owner sees the widget with a conversation in it: a sample in the visitor's language made here (the welcome
// message, the visitor's and the agent's messages, a card), never the chats of the owner's own browser (the server
// sends none to a preview) and never sent anywhere.

const SAMPLE_AGENT = "preview-agent";

function showSampleConversation() {
  S.customer.id = S.customer.id || "preview-visitor";
  const name = S.cfg.agent_name || t("agent");
  S.users.set(SAMPLE_AGENT, { name, avatar: S.cfg.agent_avatar, type: "agent" });
  renderWelcome({ event: { text: t("sample_welcome") }, agents: [{ name, avatar: S.cfg.agent_avatar }] });
  const ago = (minutes) => new Date(Date.now() - minutes * 60000).toISOString();
  const choice = (key) => ({ type: "message", text: t(key), value: t(key) });
  addEvents([
    { id: "sample-1", type: "message", author_id: S.customer.id, text: t("sample_visitor"), created_at: ago(3) },
    { id: "sample-2", type: "message", author_id: SAMPLE_AGENT, text: t("sample_agent"), created_at: ago(2) },
    { id: "sample-3", type: "rich_message", template_id: "cards", author_id: SAMPLE_AGENT, created_at: ago(1),
      elements: [{ title: t("sample_card_title"), subtitle: t("sample_card_subtitle"),
        buttons: [choice("sample_standard"), choice("sample_express")] }] },
  ], null);
  showComposer(true);
}

// --- start ---------------------------------------------------------------------------------------------------------------

async function boot() {
  toHost({ t: "ready" });
  // a reloaded frame has no fragment, and no sessionStorage where third-party storage is blocked: ask the loader
  if (!token && ORG) {
    const fresh = await tokenFromHost();
    if (fresh) saveToken(fresh);
  }
  if (!ORG || !token) {
    app.textContent = "The chat could not start: open it from the site's chat button.";
    return;
  }
  const r = await fetch(`/v1/widget/config?organization_id=${encodeURIComponent(ORG)}&group_id=${GROUP}` +
    (PREVIEW ? `&preview=${encodeURIComponent(PREVIEW)}` : ""), {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!r.ok) {
    app.textContent = "The chat is not available right now.";
    return;
  }
  const config = await r.json();
  S.cfg = config.static;
  S.texts = S.cfg.texts;
  S.online = config.visitor.online;
  S.customer = config.visitor.customer || {};
  const chats = config.visitor.chats || [];
  S.hadSession = chats.length > 0;
  const current = chats.find((c) => c.active) || chats[0];
  renderShell();
  showComposer(false);
  if (current) {
    S.chatId = current.id;
    S.active = current.active;
    if (current.unread) S.unread = 1;
    if (current.active) setStatus("chatting");
    // an active chat connects at once (the loader made this frame for it); a past one waits for the window to open
    if (current.active) {
      await ensureConnected();
      await sync();
      opened = true;
    }
  }
  hostState();
  if (S.visible) await setVisible(true);
}

boot().catch((err) => {
  console.error(err);
  banner(t("reconnecting"));
});
