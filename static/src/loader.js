// The widget loader: the one script a site embeds, kept under 1 KB gzipped (README "Install the widget").
// One request at start (POST /v1/widget/visit: identity, token, page view, the launcher's look and styles), then a
// heartbeat; the launcher lives in a Shadow DOM styled by a constructable stylesheet (nothing inline in the
// host page). Everything else loads only when needed: the chat frame when the chat opens or the visitor has an
// active chat, and host.js (the JS API, the frame bridge, the greeting, unread badge and title) with the frame, with
// a greeting, or once the page uses the API (the snippet's stub queues calls until then).
// esbuild wraps this file in its own function scope (--format=iife).
//
// Built twice (widget/build.py DEFINES): LIVECHAT false is our loader.js; LIVECHAT true is LiveChat's tracking.js,
// which LiveChat's snippet and adapters load: it reads window.__lc (the server reads LiveChat's names: license or
// organizationId, group, visitor, params …) and drives window.LiveChatWidget, whose stub queues [name, args] in _q
// until host.js sets its handler _h. LiveChat's API answers once the widget has loaded, so tracking.js brings
// host.js at once.
/* global LIVECHAT */
const w = window;
const d = document;
const cfg = (LIVECHAT ? w.__lc : w.__ws) || {};
const api = LIVECHAT ? w.LiveChatWidget = w.LiveChatWidget || { _q: [] } : w.WidgetServer = w.WidgetServer || { _q: [] };
const script = d.currentScript;
const key = "__ws_" + (LIVECHAT ? cfg.organizationId || cfg.license : cfg.organization_id);
const NS = "http://www.w3.org/2000/svg";
const state = { visibility: "minimized" };
let ls = {}, frame, wrap, token, boot, beats = 0, href = location.href;
// blocked storage: the cookie carries the identity, and plain objects stand in
try { ls = w.localStorage; } catch (e) { /* see above */ }

const el = (tag, parent) => parent.appendChild(d.createElement(tag));


// a text/plain body and no custom header make it a CORS-simple request: no preflight round trip
const post = (type) => fetch(new URL("/v1/widget/visit", script.src), {
  method: "POST", credentials: "include", keepalive: true,
  // seen: the greetings shown lately (host.js notes them), not shown again in the same visit
  body: JSON.stringify({ type, token, cst: ls[key], seen: ls[key + 1], url: location.href, title: d.title,
    referrer: d.referrer, cfg })
}).then((r) => r.json()).then((r) => {
  if (token = r.token) {
    state.availability = r.availability;
    if (r.active_chat && wrap && !frame) show("maximized");  // an agent invited the visitor to chat
    try { ls[key] = r.cst; } catch (e) { /* no storage */ }
    api._p && api._p(r);  // host.js: a greeting a later page (an app's navigation) meets
  }
  return r;
});

const extras = () => {
  if (!api._l) {
    api._l = { state, show, boot, wrap, frame: () => frame, token: () => token };
    const s = el("script", d.head);
    s.nonce = script.nonce;
    s.src = boot.launcher.host;
  }
};

const show = (v) => {
  if (v != state.visibility) {
    state.visibility = v;
    if (v == "maximized" && !frame) {
      frame = d.createElement("iframe");
      frame.title = boot.launcher.label;
      frame.src = boot.launcher.frame + "#t=" + token;
      wrap.prepend(frame);
      extras();
    }
    wrap.className = boot.launcher.cls + " " + v;
    api._s && api._s(v);  // (not _v: LiveChat's stub keeps its version there)
  }
};

post("visit").then((r) => {
  const l = r.launcher;
  const host = el("div", d.body);
  const root = host.attachShadow({ mode: "open" });
  const sheet = new CSSStyleSheet();
  boot = r;
  sheet.replaceSync(l.css);
  root.adoptedStyleSheets = [sheet];
  for (const k in l.vars) host.style.setProperty(k, l.vars[k]);
  wrap = el("div", root);
  wrap.className = l.cls + " minimized";
  const button = el("button", wrap);
  button.setAttribute("aria-label", l.label);
  const svg = button.appendChild(d.createElementNS(NS, "svg"));
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.appendChild(d.createElementNS(NS, "path")).setAttribute("d", l.icon);
  button.append(l.text);
  el("i", button);
  button.onclick = () => show(state.visibility == "maximized" ? "minimized" : "maximized");
  if (r.active_chat) show("maximized"), show("minimized");  // the frame connects; the window stays closed
  // page use of the API (before or after now), a greeting to show, an open frame: host.js does those
  LIVECHAT || api._q.length || r.greeting || frame ? extras() : api._q.push = (c) => extras(api._q[api._q.length] = c);
  // presence, and single-page apps' History API navigations as page views (their title set by then)
  api._i = setInterval(() => href != location.href ? post("page_view", href = location.href)
    : ++beats % r.heartbeat || post(token ? "heartbeat" : "visit"), 1e3);
});
