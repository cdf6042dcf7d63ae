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

const greeting = l.boot.greeting;
if (greeting) {
  setTimeout(() => {
    if (l.frame() || l.state.visibility != "minimized") return;
    const bubble = d.createElement("div");
    bubble.className = "greeting";
    bubble.setAttribute("role", "status");
    const text = d.createElement("button");
    text.className = "greeting-text";
    text.textContent = greeting.text;
    text.onclick = () => { bubble.remove(); l.show("maximized"); };
    const close = d.createElement("button");
    close.className = "greeting-close";
    close.setAttribute("aria-label", greeting.close);
    close.textContent = "×";
    close.onclick = () => bubble.remove();
    bubble.append(text, close);
    l.wrap.insertBefore(bubble, l.wrap.lastChild);
  }, greeting.delay * 1000);
}

// the frame says "ready" once it runs; if it ran before this script, it says it again when asked
// ("*": the frame may still hold its initial about:blank document, and a hello carries nothing)
if (l.frame()) l.frame().contentWindow.postMessage({ ws: 1, t: "hello" }, "*");

const queued = api._q.splice(0);
api._q.push = (c) => api[c[0]](...c[1]);
for (const [name, args] of queued) api[name](...args);
