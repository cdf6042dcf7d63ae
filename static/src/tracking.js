// GET /tracking.js: the widget loader under LiveChat's name, for LiveChat's snippet and its adapters
// (@livechat/widget-core, -react, -vue, -angular). livechat.js maps window.__lc and window.LiveChatWidget onto the
// loader's settings and API, then the same loader runs (imports run in order).
import "./livechat.js";
import "./loader.js";
