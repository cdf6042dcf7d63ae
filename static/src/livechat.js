// The prologue of tracking.js (LiveChat's loader name): LiveChat's settings and API object as the loader's. It runs
// before loader.js (tracking.js imports it first). Kept to a few bytes: the server reads LiveChat's names.
const w = window;
const lc = w.__lc || {};
// LiveChat's snippet (≥ 2.0) or an adapter made the API object, whose methods queue [name, args] in _q until host.js
// sets its handler _h; without one, a bare queue keeps the loader going
const api = w.WidgetServer = w.LiveChatWidget = w.LiveChatWidget || { _q: [] };
// the license by its organizationId or its numeric id (the server maps it); the server reads LiveChat's other
// settings (visitor, params) by their names and ignores the rest
w.__ws = { ...lc, organization_id: lc.organizationId || "" + lc.license };
// LiveChat's widget answers its API once loaded: a queued getter (answered, and dropped) makes the loader bring
// host.js at once, which then runs LC_API.on_after_load
api._q.push(["get", ["state"]]);
