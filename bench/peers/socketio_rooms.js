'use strict';
// Peer for `python -m bench.fanout`: a socket.io 4 room broadcast as people write it:
// io.to(room).emit() for every chat message, no batching. WebSocket transport only
// (clients connect to /socket.io/?EIO=4&transport=websocket&room=ID).
//
// Events: server -> client "hello" on connect, "chat" per message (the same fields as
// livecircle's chat event); client -> server "chat" {text}.
//
// env: PORT (required), HOST (default 127.0.0.1)

const http = require('node:http');
const { Server } = require('socket.io');

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT);
const MAX_CHAT_LENGTH = 200;

let seq = 0;
let nextUser = 0;

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/socket.io/')) return; // answered by socket.io
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end('ok');
});
const io = new Server(server, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  maxHttpBufferSize: 8 * 1024,
});

io.on('connection', (socket) => {
  const roomId = Number(socket.handshake.query.room || 1);
  const room = `room:${roomId}`;
  nextUser += 1;
  const userId = nextUser;
  const displayName = `viewer-${userId}`;
  socket.join(room);
  socket.emit('hello', { type: 'hello', room_id: roomId, me: null, state: {}, chat: [], resumed: false });
  socket.on('chat', (msg) => {
    const text = String(msg?.text ?? '').split(/\s+/).filter(Boolean).join(' ');
    if (!text || text.length > MAX_CHAT_LENGTH) {
      socket.emit('error_event', { type: 'error', code: 'chat_text_invalid' });
      return;
    }
    seq += 1;
    io.to(room).emit('chat', {
      type: 'chat',
      id: seq,
      room_id: roomId,
      show_id: null,
      user_id: userId,
      display_name: displayName,
      text,
      created_at: new Date().toISOString(),
      eid: String(seq),
    });
  });
});

server.listen(port, host, () => console.log(`socketio_rooms listening on ${host}:${port}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
