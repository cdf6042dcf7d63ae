// The minimal Node Socket.IO chat relay that benchmarks/rtm_load.py runs beside ours (not part of the product).
// Same pattern as socketio_app in benchmarks/rtm_apps.py (keep the two in step): a room per chat, the Redis adapter
// on Valkey (@socket.io/redis-adapter with node-redis), the chat and every event stored in Valkey.
//
//   PORT=8000 VALKEY_URL=redis://127.0.0.1:6379 PING_INTERVAL_MS=15000 node server.js
//
// connect with auth {role: "customer" | "agent", id}; an agent's socket joins the room "agent:<id>".
// start_chat (ack {chat_id}): the connected agent with the fewest chats gets it; HSET chat:<id>; the customer's and
//   the agent's sockets join the room <chat id>; incoming_chat is emitted to the agent.
// send_event {chat_id, text} (ack {event_id}): refused unless the socket is in the chat's room; RPUSH
//   chat:<id>:events; incoming_event {chat_id, event} is emitted to the room (the author's socket gets it too).
// GET /readyz answers 200 once Valkey is connected. SIGTERM closes everything.
"use strict";

const http = require("http");
const crypto = require("crypto");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const port = Number(process.env.PORT || 8000);
const url = process.env.VALKEY_URL || "redis://127.0.0.1:6379";
const pingInterval = Number(process.env.PING_INTERVAL_MS || 25000);

async function main() {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  const store = pub.duplicate();
  for (const c of [pub, sub, store]) c.on("error", (err) => console.error("valkey:", err.message));
  await Promise.all([pub.connect(), sub.connect(), store.connect()]);

  const httpServer = http.createServer((req, res) => {
    res.statusCode = req.url === "/readyz" ? 200 : 404;
    res.end(res.statusCode === 200 ? "ok" : "no");
  });
  const io = new Server(httpServer, {
    adapter: createAdapter(pub, sub),
    transports: ["websocket"],
    pingInterval,
    pingTimeout: 20000,
    serveClient: false,
    perMessageDeflate: false,
  });

  const load = new Map(); // agent id -> chats
  const agentSockets = new Map(); // agent id -> Set of sockets
  let seq = 0;

  io.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    if ((auth.role !== "customer" && auth.role !== "agent") || !auth.id) return next(new Error("bad auth"));
    socket.data.role = auth.role;
    socket.data.id = String(auth.id);
    next();
  });

  io.on("connection", (socket) => {
    const { role, id } = socket.data;
    if (role === "agent") {
      socket.join(`agent:${id}`);
      if (!agentSockets.has(id)) agentSockets.set(id, new Set());
      agentSockets.get(id).add(socket);
      if (!load.has(id)) load.set(id, 0);
      socket.on("disconnect", () => {
        const set = agentSockets.get(id);
        set.delete(socket);
        if (set.size === 0) {
          agentSockets.delete(id);
          load.delete(id);
        }
      });
    }

    socket.on("start_chat", async (_data, ack) => {
      if (typeof ack !== "function") return;
      if (role !== "customer") return ack({ error: "customers only" });
      if (load.size === 0) return ack({ error: "no agent" });
      let agent = null;
      for (const [aid, n] of load) if (agent === null || n < load.get(agent)) agent = aid;
      load.set(agent, load.get(agent) + 1);
      const chatId = crypto.randomBytes(5).toString("hex");
      try {
        await store.hSet(`chat:${chatId}`, { customer_id: id, agent_id: agent, created_at: String(Date.now() / 1000) });
      } catch (err) {
        return ack({ error: "store: " + err.message });
      }
      socket.join(chatId);
      for (const s of agentSockets.get(agent) || []) s.join(chatId);
      io.to(`agent:${agent}`).emit("incoming_chat", { chat_id: chatId, customer_id: id });
      ack({ chat_id: chatId });
    });

    socket.on("send_event", async (data, ack) => {
      if (typeof ack !== "function") return;
      if (!data || typeof data.text !== "string") return ack({ error: "validation" });
      const chatId = data.chat_id;
      if (typeof chatId !== "string" || !socket.rooms.has(chatId)) return ack({ error: "not in this chat" });
      seq += 1;
      const event = { id: `${chatId}_${seq}`, type: "message", author_id: id, text: data.text, created_at: Date.now() / 1000 };
      try {
        await store.rPush(`chat:${chatId}:events`, JSON.stringify(event));
      } catch (err) {
        return ack({ error: "store: " + err.message });
      }
      io.to(chatId).emit("incoming_event", { chat_id: chatId, event });
      ack({ event_id: event.id });
    });
  });

  httpServer.listen(port, "127.0.0.1");
  const stop = () => {
    io.close();
    Promise.allSettled([pub.quit(), sub.quit(), store.quit()]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
