// Messages to the agent: an alert for errors, a status line, the connection's state.

import { $ } from "./dom.js";

let alertTimer = 0;

export function showError(err) {
  const message = typeof err === "string" ? err : `${err.message}${err.type ? ` (${err.type})` : ""}`;
  const box = $("alert");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(alertTimer);
  alertTimer = setTimeout(hideError, 8000);
}

export function hideError() {
  $("alert").hidden = true;
  $("alert").textContent = "";
}

export function showStatus(message) {
  $("status").textContent = message;
}

export function setConnection(text) {
  $("connection").textContent = text;
}
