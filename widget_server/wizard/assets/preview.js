// The wizard's preview page: the install snippet's settings, with the preview token that makes the server answer
// with the owner's unsaved draft (the snippet's inline script cannot run under this page's CSP, so it is here).
"use strict";
(function (w, q) {
  const data = document.body.dataset;
  w.__ws = { organization_id: data.org, group: 0, preview: data.preview };
  function stub(name) { return function () { q.push([name, [].slice.call(arguments)]); }; }
  w.WidgetServer = w.WidgetServer || { _q: q, call: stub("call"), on: stub("on"), off: stub("off"), get: function () {} };
  if (data.open === "1") w.WidgetServer.call("maximize");
})(window, []);
