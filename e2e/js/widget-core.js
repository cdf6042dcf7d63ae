// Exposes LiveChat's @livechat/widget-core, unchanged, as window.LiveChatWidgetCore (bundled by esbuild; see
// package.json): the adapters' lifecycle (createWidget, init, updates, destroy) for e2e/test_livechat_snippet.py.
import * as core from "@livechat/widget-core";

window.LiveChatWidgetCore = core;
