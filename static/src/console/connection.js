// The Agent RTM connection: one websocket, requests with ids and their answers, pushes handed to a callback.

export const PING_MS = 30000;

export class RtmError extends Error {
  constructor(type, message) {
    super(message || type || "Request failed");
    this.type = type || "internal";
  }
}

export class Rtm {
  #ws = null;
  #pending = new Map();
  #next = 0;
  #ping = 0;

  constructor({ onPush, onClose }) {
    this.onPush = onPush;
    this.onClose = onClose;
  }

  /** Opens the socket (same origin; wss on https pages). Resolves once it is open. */
  open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/v3.6/agent/rtm/ws`);
    this.#ws = ws;
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("message", (e) => this.#receive(e.data));
      ws.addEventListener("close", (e) => {
        reject(new RtmError("connection", "Could not connect to the server"));
        this.#failPending();
        clearInterval(this.#ping);
        if (this.#ws === ws) {
          this.#ws = null;
          this.onClose(e);
        }
      });
      // proxies drop sockets that stay silent; the server itself never does
      this.#ping = setInterval(() => this.request("ping").catch(() => {}), PING_MS);
    });
  }

  request(action, payload = {}) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new RtmError("connection", "Not connected"));
    const requestId = String(++this.#next);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new RtmError("timeout", `${action} got no answer`));
      }, 15000);
      this.#pending.set(requestId, { resolve, reject, timer });
      ws.send(JSON.stringify({ action, request_id: requestId, payload }));
    });
  }

  close() {
    const ws = this.#ws;
    this.#ws = null;
    clearInterval(this.#ping);
    this.#failPending();
    if (ws) ws.close(1000);
  }

  #failPending() {
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(new RtmError("connection", "Connection closed"));
    }
    this.#pending.clear();
  }

  #receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "push") {
      this.onPush(frame.action, frame.payload ?? {});
      return;
    }
    const pending = this.#pending.get(String(frame.request_id));
    if (!pending) return;
    this.#pending.delete(String(frame.request_id));
    clearTimeout(pending.timer);
    if (frame.success) pending.resolve(frame.payload);
    else pending.reject(new RtmError(frame.payload?.error?.type, frame.payload?.error?.message));
  }
}
