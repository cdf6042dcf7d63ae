"""The install snippet a site owner pastes before ``</body>``."""

from __future__ import annotations

import html

import msgspec


def snippet_html(base: str, org: str, group: int = 0, nonce: str | None = None) -> str:
    n = f' nonce="{html.escape(nonce, quote=True)}"' if nonce else ""
    org_js = msgspec.json.encode(org).decode()
    return (
        f"<!-- widget_server: paste before </body> -->\n"
        f"<script{n}>\n"
        f"  window.__ws = window.__ws || {{}};\n"
        f"  window.__ws.organization_id = {org_js};\n"
        f"  window.__ws.group = {int(group)};\n"
        f"  // optional: window.__ws.customer = {{ name: \"Jane Doe\", email: \"jane@example.com\" }};\n"
        f"  // optional: window.__ws.session_variables = {{ plan: \"gold\" }};\n"
        f"  // optional, identity verification: window.__ws.user_id = \"42\"; window.__ws.user_hash = \"<HMAC>\";\n"
        f"  (function (w, q) {{\n"
        f"    function s(n) {{ return function () {{ q.push([n, [].slice.call(arguments)]); }}; }}\n"
        f"    w.WidgetServer = w.WidgetServer || {{ _q: q, call: s(\"call\"), on: s(\"on\"), once: s(\"once\"),"
        f" off: s(\"off\"),"
        f" get: function () {{}} }};\n"
        f"  }})(window, []);\n"
        f"</script>\n"
        f"<script async src=\"{html.escape(base, quote=True)}/widget/loader.js\"{n}></script>\n"
    )
