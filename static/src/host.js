// Host-page extras, loaded by the loader when needed (an open frame, a greeting, or the page using the API):
// the on-page JS API (window.WidgetServer), the postMessage bridge to the chat frame, the greeting bubble, the
// launcher's unread badge and the tab title while the tab is hidden. Messages carry {ws: 1}; only the chat frame's
// window on the server's origin is listened to, and messages go to that origin only.
const w = window;
const d = document;
const api = w.WidgetServer;
const l = api._l;
const base = new URL(l.boot.launcher.frame).origin;
const listeners = {};
const pending = [];
const VISIBILITY = { maximize: "maximized", open: "maximized", minimize: "minimized", hide: "hidden" };
let ready = false;
let chat = {};
let customer = { id: l.boot.customer_id };
let availability = l.state.availability;
let title = null;

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

api._v = (v) => {
  send({ t: "visibility", v });
  emit("visibility_changed", { visibility: v });
};

api.on = (name, f) => {
  (listeners[name] = listeners[name] || []).push(f);
  if (name == "ready") f({ state: api.get("state"), customerData: { ...customer } });  // ready already
};
api.off = (name, f) => {
  listeners[name] = (listeners[name] || []).filter((g) => g != f);
};
api.get = (name) => {
  if (name == "state") return { visibility: l.state.visibility, availability };
  if (name == "chat_data") return { ...chat };
  if (name == "customer_data") return { ...customer };
  return undefined;
};
api.call = (name, arg) => {
  if (VISIBILITY[name]) return l.show(VISIBILITY[name]);
  if (!l.frame()) {  // customer data and chat actions are the frame's business: create it, closed
    l.show("maximized");
    l.show("minimized");
  }
  send({ t: "call", name, arg });
};

const badge = () => l.wrap.querySelector("i");

w.addEventListener("message", (e) => {
  const frame = l.frame();
  const m = e.data;
  if (!frame || e.source != frame.contentWindow || e.origin != base || !m || m.ws !== 1) return;
  if (m.t == "ready") {
    ready = true;
    send({ t: "visibility", v: l.state.visibility });
    for (const p of pending.splice(0)) send(p);
  } else if (m.t == "state") {
    chat = m.chat || chat;
    customer = m.customer || customer;
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
});

d.addEventListener("visibilitychange", () => {
  if (!d.hidden && title !== null) {
    d.title = title;
    title = null;
  }
});

// The greeting bubble. An automatic greeting (one with a unique_id) tells the server what became of it
// (accept_greeting / cancel_greeting: its agents hear of it), is remembered in the page's storage so the loader's
// later calls of this visit name it (the server then leaves it out), and is shown only if the visitor is still on
// the page after its delay (time on page).
const org = (w.__ws || {}).organization_id;
const seenKey = "__ws_" + org + 1;  // "<id>.<unix seconds shown>,…": the server skips those shown in this visit
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
    if (l.frame() || l.state.visibility != "minimized" || location.href != page) return;
    const ids = { id: greeting.id, uniqueId: greeting.unique_id };
    if (bubble) bubble.remove();
    bubble = d.createElement("div");
    const own = bubble;
    const hide = (accepted) => {
      own.remove();
      if (greeting.unique_id) {
        if (accepted) answer("accept_greeting", { greeting_id: greeting.id, unique_id: greeting.unique_id });
        else answer("cancel_greeting", { unique_id: greeting.unique_id });
        emit("greeting_hidden", ids);
      }
    };
    bubble.className = "greeting";
    bubble.setAttribute("role", "status");
    const text = d.createElement("button");
    text.className = "greeting-text";
    text.textContent = greeting.text;
    text.onclick = () => { hide(true); l.show("maximized"); };
    const close = d.createElement("button");
    close.className = "greeting-close";
    close.setAttribute("aria-label", greeting.close);
    close.textContent = "×";
    close.onclick = () => hide(false);
    bubble.append(text, close);
    l.wrap.insertBefore(bubble, l.wrap.lastChild);
    if (greeting.unique_id) {
      try {
        const now = Math.floor(Date.now() / 1000);
        const kept = (localStorage[seenKey] || "").split(",").filter((e) => e && now - e.split(".")[1] < 86400);
        localStorage[seenKey] = [...kept, greeting.id + "." + now].slice(-20).join(",");
      } catch (e) { /* no storage: the server may greet again on a later page */ }
      emit("greeting_displayed", ids);
    }
  }, greeting.delay * 1000);
};
api._p = (r) => r.greeting && showGreeting(r.greeting);
if (l.boot.greeting) showGreeting(l.boot.greeting);

// the frame says "ready" once it runs; if it ran before this script, it says it again when asked
// ("*": the frame may still hold its initial about:blank document, and a hello carries nothing)
if (l.frame()) l.frame().contentWindow.postMessage({ ws: 1, t: "hello" }, "*");

const queued = api._q.splice(0);
api._q.push = (c) => api[c[0]](...c[1]);
for (const [name, args] of queued) api[name](...args);
