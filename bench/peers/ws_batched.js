'use strict';
// Peer for `python -m bench.fanout`: livecircle's room protocol (docs/realtime.md) on
// Node's `ws`, with the hub's tick batching (src/livecircle/realtime/hub.py): a room's
// events are gathered for one tick, encoded ONCE as {"events":[...]}, and the same
// buffer is written to every socket of the room. No database, no auth: the fastest
// honest version of the same job.
//
// Presence ({"type":"presence","online":N}) goes out at most every PRESENCE_MS (default
// 1000) rather than every tick as in the hub: with a join per tick, a per-tick presence
// frame to every socket makes a ramp of N viewers cost O(N^2) writes (minutes at 5,000).
// No one joins during the measured window, so this does not change what is measured.
//
// env: PORT (required), TICK_MS (default 50), PRESENCE_MS (default 1000), HOST (default 127.0.0.1)

const http = require('node:http');
const { WebSocketServer, WebSocket } = require('ws');

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT);
const tickMs = Number(process.env.TICK_MS || 50);
const presenceMs = Number(process.env.PRESENCE_MS || 1000);
const MAX_INBOUND_BYTES = 8 * 1024;
const MAX_CHAT_LENGTH = 200;

const rooms = new Map(); // roomId -> {sockets: Set<WebSocket>, pending: object[], presenceDirty: boolean}
let seq = 0;

function room(roomId) {
  let r = rooms.get(roomId);
  if (r === undefined) {
    r = { sockets: new Set(), pending: [], presenceDirty: false, presenceAt: 0 };
    rooms.set(roomId, r);
  }
  return r;
}

function sendEvents(ws, events) {
  ws.send(JSON.stringify({ events }));
}

function onChat(ws, r, roomId, msg) {
  const text = String(msg.text ?? '').split(/\s+/).filter(Boolean).join(' ');
  if (!text || text.length > MAX_CHAT_LENGTH) {
    sendEvents(ws, [{ type: 'error', code: 'chat_text_invalid', message: 'A message has 1 to 200 characters', ref: msg.ref ?? null }]);
    return;
  }
  seq += 1;
  r.pending.push({
    type: 'chat',
    id: seq,
    room_id: roomId,
    show_id: null,
    user_id: ws.userId,
    display_name: ws.displayName,
    text,
    created_at: new Date().toISOString(),
    eid: String(seq),
  });
}

function onMessage(ws, r, roomId, data) {
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    msg = null;
  }
  if (msg === null || typeof msg !== 'object' || !('op' in msg)) {
    sendEvents(ws, [{ type: 'error', code: 'bad_frame', message: "Frames must be JSON objects with an 'op' field" }]);
  } else if (msg.op === 'chat') {
    onChat(ws, r, roomId, msg);
  } else if (msg.op === 'ping') {
    sendEvents(ws, [{ type: 'pong', ref: msg.ref ?? null }]);
  } else {
    sendEvents(ws, [{ type: 'error', code: 'unknown_op', message: 'Unknown op', ref: msg.ref ?? null }]);
  }
}

function join(ws, roomId, userId) {
  const r = room(roomId);
  ws.userId = userId;
  ws.displayName = `viewer-${userId}`;
  sendEvents(ws, [{ type: 'hello', room_id: roomId, me: null, state: {}, chat: [], resumed: false }]);
  r.sockets.add(ws);
  r.presenceDirty = true;
  ws.on('message', (data) => onMessage(ws, r, roomId, data));
  ws.on('close', () => {
    r.sockets.delete(ws);
    r.presenceDirty = true;
  });
  ws.on('error', () => {});
}

function tick() {
  const now = Date.now();
  for (const [roomId, r] of rooms) {
    if (r.presenceDirty && now - r.presenceAt >= presenceMs) {
      r.presenceDirty = false;
      r.presenceAt = now;
      r.pending.push({ type: 'presence', online: r.sockets.size });
    }
    if (r.pending.length === 0) continue;
    // Encode once; a Buffer (not a string) so ws does not re-encode UTF-8 per socket.
    const frame = Buffer.from(JSON.stringify({ events: r.pending }));
    r.pending = [];
    for (const ws of r.sockets) {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: false });
    }
    if (r.sockets.size === 0) rooms.delete(roomId);
  }
}

let nextUser = 0;
const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end('ok');
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_INBOUND_BYTES });
server.on('upgrade', (req, socket, head) => {
  const match = /^\/ws\/rooms\/(\d+)(\?|$)/.exec(req.url);
  if (match === null) {
    socket.destroy();
    return;
  }
  nextUser += 1;
  const userId = nextUser;
  wss.handleUpgrade(req, socket, head, (ws) => join(ws, Number(match[1]), userId));
});
setInterval(tick, tickMs);
server.listen(port, host, () => console.log(`ws_batched listening on ${host}:${port} tick=${tickMs}ms`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
