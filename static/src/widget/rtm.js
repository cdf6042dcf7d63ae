// The Customer RTM API over one websocket: login, requests matched by request_id, pushes, and reconnection with
// backoff. After every (re)login the widget calls its `onOnline` hook, which fetches what it missed by event id.

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000];
const REQUEST_TIMEOUT_MS = 20000;

export class Rtm {
  constructor({ url, login, onPush, onOnline, onOffline }) {
    this.url = url;
    this.login = login;  // () => login payload (a fresh token each time)
    this.onPush = onPush;
    this.onOnline = onOnline;
    this.onOffline = onOffline;
    this.ws = null;
    this.ready = false;
    this.attempt = 0;
    this.seq = 0;
    this.waiting = new Map();
    this.queue = [];
    this.timer = null;
    this.closed = false;
    document.addEventListener("visibilitychange", () => {
      // a tab that slept may hold a dead socket: check at once instead of waiting for the backoff
      if (!document.hidden && !this.ready && !this.closed) this.connectNow();
    });
    window.addEventListener("online", () => { if (!this.ready && !this.closed) this.connectNow(); });
  }

  connect() {
    if (this.ws || this.closed) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.raw("login", this.login()).then((payload) => {
        this.ready = true;
        this.attempt = 0;
        for (const item of this.queue.splice(0)) this.transmit(item);
        this.onOnline(payload);
      }, (err) => {
        if (err && err.type === "authentication") this.onOffline(err, true);
        ws.close();
      });
    };
    ws.onmessage = (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch (err) { return; }
      if (frame.type === "push") {
        this.onPush(frame.action, frame.payload || {});
        return;
      }
      const pending = this.waiting.get(frame.request_id);
      if (!pending) return;
      this.waiting.delete(frame.request_id);
      clearTimeout(pending.timer);
      if (frame.success === false) pending.reject((frame.payload && frame.payload.error) || { type: "internal" });
      else pending.resolve(frame.payload || {});
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      const wasReady = this.ready;
      this.ready = false;
      for (const [id, pending] of this.waiting) {
        if (pending.action !== "login") pending.retry ? this.queue.push(pending) : pending.reject({ type: "network" });
        clearTimeout(pending.timer);
        this.waiting.delete(id);
      }
      if (wasReady || this.attempt > 0) this.onOffline(null, false);
      this.schedule();
    };
  }

  schedule() {
    if (this.closed) return;
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * base);
  }

  connectNow() {
    clearTimeout(this.timer);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
    this.connect();
  }

  drop() {  // close the socket as a network failure would (tests, and a token that must be renewed)
    if (this.ws) this.ws.close();
  }

  raw(action, payload) {
    return new Promise((resolve, reject) => {
      const item = { action, payload, resolve, reject, retry: false };
      this.transmit(item);
    });
  }

  request(action, payload, { retry = false } = {}) {
    return new Promise((resolve, reject) => {
      const item = { action, payload, resolve, reject, retry };
      if (this.ready) this.transmit(item);
      else {
        this.queue.push(item);
        this.connect();
      }
    });
  }

  transmit(item) {
    const id = `w${++this.seq}`;
    item.timer = setTimeout(() => {
      if (this.waiting.delete(id)) item.reject({ type: "timeout", message: "No answer from the server" });
    }, REQUEST_TIMEOUT_MS);
    this.waiting.set(id, item);
    this.ws.send(JSON.stringify({ action: item.action, request_id: id, payload: item.payload }));
  }
}
