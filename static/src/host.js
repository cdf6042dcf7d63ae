// Host-page extras, loaded by the loader when needed (an open frame, a greeting, or the page using the API):
// the on-page JS API (window.WidgetServer, or LiveChat's window.LiveChatWidget when loaded as /tracking.js), the
// postMessage bridge to the chat frame, the greeting bubble, the launcher's unread badge and the tab title while the
// tab is hidden. Messages carry {ws: 1}; only the chat frame's window on the server's origin is listened to, and
// messages go to that origin only.
//
// LiveChat's snippet and adapters make window.LiveChatWidget a stub whose methods queue [name, args] in _q until
// _h handles them (and whose get throws until then): this file sets _h, the same handler serves our WidgetServer
// (whose stub's methods are replaced), and destroy puts both back as they were before the load, so init() (LiveChat's
// snippet and @livechat/widget-core call it again on a remount) loads the widget anew.
import { h, safeUrl } from "./widget/dom.js";

const w = window;
const d = document;
// loaded by tracking.js: LiveChat's stub (snippet ≥ 2.0, or an adapter's), which the loader marked with _l
const lc = !!(w.LiveChatWidget && w.LiveChatWidget._l);
const api = lc ? w.LiveChatWidget : w.WidgetServer;
const l = api._l;
const cfg = (lc ? w.__lc : w.__ws) || {};
const base = new URL(l.boot.launcher.frame).origin;
const listeners = {};
const pending = [];
const VISIBILITY = { maximize: "maximized", open: "maximized", minimize: "minimized", hide: "hidden" };
let ready = false;
let chat = {};
const given = cfg.customer || cfg.visitor || {};
let customer = {
  id: l.boot.customer_id, name: given.name || "", email: given.email || "", isReturning: !!l.boot.returning,
  status: l.boot.active_chat ? "chatting" : "browsing",
};
// session variables as the page set them (window.__ws.session_variables, or LiveChat's window.__lc.params): the
// frame is always handed the whole set, so update_session_variables merges and set_session_variables replaces
let session = { ...cfg.session_variables };
for (const p of cfg.params || []) session[p.name] = String(p.value ?? "");
let sale = {};  // trigger_sales_tracker's last order, kept beside the session variables
let availability = l.state.availability;
let title = null;
let writes = Promise.resolve();
let early = [];  // ready listeners met while the page's queued calls run (LiveChat tells them after those calls)

const emit = (name, payload) => {
  for (const f of (listeners[name] || []).slice()) {
    try {
      f(payload);
    } catch (e) {
      setTimeout(() => { throw e; });  // the page's error to see; the other listeners still run
    }
  }
};

const send = (message) => {
  message.ws = 1;
  if (ready) l.frame().contentWindow.postMessage(message, base);
  else pending.push(message);
};

api._s = (v) => {
  send({ t: "visibility", v });
  emit("visibility_changed", { visibility: v });
};

const customerData = () => ({ ...customer, sessionVariables: { ...session } });
const status = (next) => {
  if (next && next != customer.status) {
    customer.status = next;
    emit("customer_status_changed", { status: next });
  }
};

const fns = {
  on: (name, f) => {
    if (name != "ready") (listeners[name] = listeners[name] || []).push(f);
    else if (early) early.push(f);  // (queued before the load: told once the queue's calls have run)
    else f({ state: fns.get("state"), customerData: customerData() });  // ready already
  },
  once: (name, f) => {
    const g = (payload) => {
      fns.off(name, f);
      f(payload);
    };
    g.f = f;
    fns.on(name, g);
  },
  off: (name, f) => {
    listeners[name] = (listeners[name] || []).filter((g) => g != f && g.f != f);
  },
  get: (name) => {
    if (name == "state") return { availability, visibility: l.state.visibility };
    if (name == "chat_data") return { ...chat };
    if (name == "customer_data") return customerData();
    return undefined;
  },
  call: (name, arg) => {
    if (VISIBILITY[name]) {
      if (name == "maximize" && arg && arg.messageDraft) send({ t: "draft", text: arg.messageDraft });
      return l.show(VISIBILITY[name]);
    }
    if (name == "destroy") return destroy();
    if (name == "hide_greeting") return bubble && bubble.hide(false);
    if (name == "set_customer_name") customer.name = String(arg ?? "");
    else if (name == "set_customer_email") customer.email = String(arg ?? "");
    else if (name == "set_session_variables") session = { ...arg };
    else if (name == "update_session_variables") session = { ...session, ...arg };
    else if (name == "trigger_sales_tracker") {
      // the order becomes three session fields of the customer, which agents see beside the session variables
      sale = { sales_tracker_id: arg?.trackerId, order_id: arg?.orderId, order_price: arg?.orderPrice };
    } else {
      console.warn("unknown method " + name);
      return;
    }
    const call = name.startsWith("set_customer") ? { t: "call", name, arg }
      : { t: "call", name: "set_session_variables", arg: { ...session, ...strip(sale) } };
    // an open frame writes it (and shows it); else the customer is updated from here, without loading the chat
    // (one after another: a later write must not land before an earlier one)
    if (l.frame()) send(call);
    else {
      const fields = call.name == "set_customer_name" ? { name: customer.name }
        : call.name == "set_customer_email" ? { email: customer.email }
          : { session_fields: Object.entries(call.arg).map(([k, v]) => ({ [k]: String(v) })) };
      writes = writes.then(() => answer("update_customer", fields));
    }
  },
};
const strip = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v != null));
api._h = (name, args) => fns[name] && fns[name](...args);
if (!lc) Object.assign(api, fns);

const badge = () => l.wrap.querySelector("i");

const onMessage = (e) => {
  const frame = l.frame();
  const m = e.data;
  if (!frame || e.source != frame.contentWindow || e.origin != base || !m || m.ws !== 1) return;
  if (m.t == "ready") {
    ready = true;
    send({ t: "visibility", v: l.state.visibility });
    for (const p of pending.splice(0)) send(p);
  } else if (m.t == "state") {
    chat = m.chat || chat;
    if (m.customer) {
      const { status: next, ...known } = m.customer;
      customer = { ...customer, ...known, isReturning: customer.isReturning || known.isReturning };
      customer.status = next || customer.status;  // (the frame tells of the change itself: customer_status_changed)
    }
    const unread = m.unread || 0;
    badge().textContent = unread ? String(unread) : "";
    if (unread && d.hidden) {
      title = title ?? d.title;
      d.title = `(${unread}) ${title}`;
    }
    if (m.availability && m.availability != availability) {
      l.state.availability = availability = m.availability;
      emit("availability_changed", { availability });
    }
  } else if (m.t == "show") {
    l.show(m.v);
  } else if (m.t == "token") {
    // the frame's token expired (a tab that slept): the loader's is renewed by its heartbeats
    send({ t: "token", token: l.token() });
  } else if (m.t == "event") {
    emit(m.name, m.payload);
  }
};
w.addEventListener("message", onMessage);

const onVisibility = () => {
  if (!d.hidden && title !== null) {
    d.title = title;
    title = null;
  }
};
d.addEventListener("visibilitychange", onVisibility);

// LiveChat's destroy: the launcher, window and greeting leave the page, the loader stops its heartbeats, and the API
// objects are as the snippet left them (its queue empty, getters throwing again), ready for another init()
let gone = false;  // destroyed: a greeting still waiting out its delay stays away
const destroy = () => {
  gone = true;
  clearInterval(api._i);
  l.wrap.getRootNode().host.remove();
  w.removeEventListener("message", onMessage);
  d.removeEventListener("visibilitychange", onVisibility);
  if (title !== null) d.title = title;
  for (const k of ["_l", "_p", "_s", "_i"]) delete api[k];
  api._h = null;
  api._q = [];
  if (!lc) {
    for (const n in fns) api[n] = (...a) => api._q.push([n, a]);
    api.get = () => undefined;
  }
};

// The greeting bubble. An automatic greeting (one with a unique_id) tells the server what became of it
// (accept_greeting / cancel_greeting: its agents hear of it), is remembered in the page's storage so the loader's
// later calls of this visit name it (the server then leaves it out), and is shown only if the visitor is still on
// the page after its delay (time on page).
// (the license as the page named it keys the storage, as in the loader; the API is called with its organization id)
const org = new URL(l.boot.launcher.frame).searchParams.get("organization_id");
const seenKey = "__ws_" + (lc ? cfg.organizationId || cfg.license : cfg.organization_id) + 1;  // "<id>.<unix seconds shown>,…": the server skips those shown in this visit
const answer = (action, payload) => fetch(`${base}/v3.6/customer/action/${action}?organization_id=${encodeURIComponent(org)}`, {
  method: "POST", headers: { Authorization: "Bearer " + l.token(), "Content-Type": "application/json" },
  body: JSON.stringify(payload),
}).catch(() => {});
let bubble = null;
// greetings this page showed or is about to (waiting out their delay): a later answer (a heartbeat's, or one whose
// "seen" list the page could not store) may bring one again
const handled = new Set();
const showGreeting = (greeting) => {
  const page = location.href;
  if (greeting.unique_id) {
    if (handled.has(greeting.id)) return;
    handled.add(greeting.id);
  }
  setTimeout(() => {
    // (a navigation before the delay ran out: the greeting may come again with a later page's answer)
    if (location.href != page) handled.delete(greeting.id);
    if (gone || l.state.visibility != "minimized" || location.href != page) return;
    const ids = { id: greeting.id, uniqueId: greeting.unique_id };
    if (bubble) bubble.remove();
    bubble = d.createElement("div");
    const own = bubble;
    const hide = (accepted) => {
      own.remove();
      if (bubble == own) bubble = null;
      if (greeting.unique_id) {
        if (accepted) answer("accept_greeting", { greeting_id: greeting.id, unique_id: greeting.unique_id });
        else answer("cancel_greeting", { unique_id: greeting.unique_id });
        emit("greeting_hidden", ids);
        if (!accepted && customer.status == "invited") status("browsing");
      }
    };
    own.hide = hide;  // (LiveChat's hide_greeting)
    bubble.className = "greeting";
    bubble.setAttribute("role", "status");
    const text = d.createElement("button");
    text.className = "greeting-text";
    // (a greeting that is only a rich message: its first title is the opening button's text, not said twice)
    const first = (((greeting.rich_message || {}).elements || [])[0] || {}).title;
    text.textContent = greeting.text || first || "…";
    text.onclick = () => { hide(true); l.show("maximized"); };
    const close = d.createElement("button");
    close.className = "greeting-close";
    close.setAttribute("aria-label", greeting.close);
    close.textContent = "×";
    close.onclick = () => hide(false);
    bubble.append(text, close);
    // every click of one of its buttons counts in the greeting's statistics (LiveChat 3.6's send_greeting_button_clicked)
    const clicked = (b) => greeting.unique_id && b.button_id
      && answer("send_greeting_button_clicked", { greeting_unique_id: greeting.unique_id, button_id: b.button_id });
    if (greeting.rich_message) bubble.append(richGreeting(greeting.rich_message, () => hide(true), !greeting.text, clicked));
    l.wrap.insertBefore(bubble, l.wrap.lastChild);
    if (greeting.unique_id) {
      try {
        const now = Math.floor(Date.now() / 1000);
        const kept = (localStorage[seenKey] || "").split(",").filter((e) => e && now - e.split(".")[1] < 86400);
        localStorage[seenKey] = [...kept, greeting.id + "." + now].slice(-20).join(",");
      } catch (e) { /* no storage: the server may greet again on a later page */ }
      emit("greeting_displayed", ids);
      if (customer.status == "browsing") status("invited");  // LiveChat's status of a visitor shown a greeting
    }
  }, greeting.delay * 1000);
};
// A greeting's rich message (LiveChat 3.6's cards, quick replies or sticker) under its text: images and text through
// the frame's own helpers (text nodes, http(s) URLs only). A message button opens the chat with its value in the
// message box (the visitor sends it: the page never sends on the visitor's behalf); a url or webview button opens
// its link, a phone button dials. Each click is counted (``clicked``).
const richGreeting = (rich, accept, titled, clicked) => {
  const box = h("div", { class: "greeting-rich" });
  for (const [i, el] of (rich.elements || []).slice(0, 10).entries()) {
    const img = safeUrl(el.image && el.image.url);
    const buttons = (el.buttons || []).slice(0, 13).map((b) => h("button", {
      type: "button", class: "greeting-button" + (b.role == "primary" ? " primary" : ""), text: b.text,
      onclick: () => {
        clicked(b);
        if (b.type == "url" || b.type == "webview") {
          const url = safeUrl(b.value);
          if (url) w.open(url, "_blank", "noopener");
        } else if (b.type == "phone") {
          w.open("tel:" + encodeURIComponent(b.value), "_top");
        } else {
          accept();
          l.show("maximized");
          send({ t: "draft", text: b.value || b.text });
        }
      },
    }));
    box.append(h("div", { class: "greeting-card" },
      img ? h("img", { src: img, alt: (el.image && el.image.alternative_text) || "" }) : null,
      rich.template_id != "sticker" && el.title && !(titled && i == 0) ? h("strong", { text: el.title }) : null,
      rich.template_id != "sticker" && el.subtitle ? h("p", { text: el.subtitle }) : null,
      buttons.length ? h("div", { class: "greeting-buttons", role: "group" }, buttons) : null));
    if (rich.template_id == "sticker") break;
  }
  return box;
};
api._p = (r) => r.greeting && showGreeting(r.greeting);
if (l.boot.greeting) showGreeting(l.boot.greeting);

// the frame says "ready" once it runs; if it ran before this script, it says it again when asked
// ("*": the frame may still hold its initial about:blank document, and a hello carries nothing)
if (l.frame()) l.frame().contentWindow.postMessage({ ws: 1, t: "hello" }, "*");

const queued = api._q.splice(0);
api._q.push = (c) => api._h(...c);
for (const c of queued) api._h(...c);
const told = early;
early = null;
for (const f of told) fns.on("ready", f);
// LiveChat's v1 callback of a loaded widget: @livechat/widget-core waits for it (a destroy asked for while the
// widget loaded runs then), and older sites put their code there
if (lc && w.LC_API && w.LC_API.on_after_load) w.LC_API.on_after_load();
