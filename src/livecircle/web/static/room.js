/* livecircle room page: player (hls.js), realtime socket, chat and danmaku.
 * Protocol: docs/realtime.md. No build step; plain ES2017 in an IIFE. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("room-config").textContent);
  var roomId = config.roomId;
  var text = config.messages;
  var video = document.getElementById("player");
  var statusEl = document.getElementById("show-status");
  var overlay = document.getElementById("player-overlay");
  var onlineEl = document.getElementById("online-count");
  var chatList = document.getElementById("chat-list");
  var chatForm = document.getElementById("chat-form");
  var chatInput = document.getElementById("chat-input");
  var chatSend = document.getElementById("chat-send");
  var notice = document.getElementById("chat-notice");
  var layer = document.getElementById("danmaku-layer");
  var danmakuToggle = document.getElementById("danmaku-toggle");
  var titleEl = document.getElementById("show-title");

  var MAX_CHAT_LINES = 200;
  var sid = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2);

  /* ---------- player ---------- */

  var player = { hls: null, video: video, errors: [], recovered: 0, url: null, mode: null };
  window.lcPlayer = player;
  window.lcLatency = function () {
    var hls = player.hls;
    var pdt = hls && hls.playingDate ? (Date.now() - hls.playingDate.getTime()) / 1000 : null;
    return { latency: hls ? hls.latency : null, pdt: pdt, mode: player.mode };
  };

  function setStatus(mode, label) {
    statusEl.dataset.mode = mode;
    statusEl.className = "status " + mode;
    statusEl.textContent = statusEl.dataset["label" + mode.charAt(0).toUpperCase() + mode.slice(1)] || label || mode;
  }

  function stopPlayer() {
    if (player.hls) { player.hls.destroy(); player.hls = null; }
    video.removeAttribute("src");
    player.url = null;
  }

  function play(url, mode) {
    if (player.url === url) { return; }
    stopPlayer();
    player.url = url;
    player.mode = mode;
    overlay.classList.add("hidden");
    var source = mode === "live" ? url + (url.indexOf("?") < 0 ? "?" : "&") + "sid=" + encodeURIComponent(sid) : url;
    if (window.Hls && Hls.isSupported()) {
      var hls = new Hls({ manifestLoadingMaxRetry: 6, levelLoadingMaxRetry: 6, fragLoadingMaxRetry: 6 });
      var failures = 0;
      hls.on(Hls.Events.FRAG_BUFFERED, function () { failures = 0; });
      hls.on(Hls.Events.ERROR, function (_event, data) {
        if (!data.fatal) { return; }
        failures += 1;
        if (failures > 8) {
          player.errors.push(data.type + ":" + data.details);
          return;
        }
        player.recovered += 1;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
        } else {
          // The first segments of a new live show may not exist yet: retry.
          setTimeout(function () { if (player.hls === hls) { hls.loadSource(source); hls.startLoad(); } }, 1000);
        }
      });
      hls.loadSource(source);
      hls.attachMedia(video);
      player.hls = hls;
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = source;
    } else {
      player.errors.push("hls_unsupported");
    }
    var started = video.play();
    if (started && started.catch) { started.catch(function () { /* autoplay refused: controls remain */ }); }
  }

  function applyState(state) {
    config.state = state;
    if (titleEl) { titleEl.textContent = state.show ? state.show.title : ""; }
    if (state.mode === "live" || state.mode === "replay") {
      setStatus(state.mode);
      play(state.playback_url, state.mode);
      if (state.mode === "replay") { replayChat.load(state.show.id); } else { replayChat.stop(); }
    } else {
      setStatus("offline");
      stopPlayer();
      replayChat.stop();
      overlay.classList.remove("hidden");
    }
  }

  function refreshState() {
    return fetch("/api/v1/rooms/" + roomId + "/state", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) { if (state) { applyState(state); } return state; })
      .catch(function () { return null; });
  }

  /* ---------- chat list ---------- */

  function badgeFor(message) {
    if (message.badge) { return message.badge; }
    return null;
  }

  function addChatLine(message) {
    var li = document.createElement("li");
    li.className = "chat-line";
    li.dataset.id = message.id;
    var badge = badgeFor(message);
    if (badge) {
      var b = document.createElement("span");
      b.className = "chat-badge " + badge;
      b.textContent = badge;
      li.appendChild(b);
    }
    var name = document.createElement("span");
    name.className = "chat-name";
    name.textContent = message.display_name;
    var body = document.createElement("span");
    body.className = "chat-text";
    body.textContent = message.text;
    li.appendChild(name);
    li.appendChild(body);
    var atBottom = chatList.scrollHeight - chatList.scrollTop - chatList.clientHeight < 40;
    chatList.appendChild(li);
    while (chatList.children.length > MAX_CHAT_LINES) { chatList.removeChild(chatList.firstChild); }
    if (atBottom) { chatList.scrollTop = chatList.scrollHeight; }
  }

  function resetChat(messages) {
    chatList.textContent = "";
    messages.forEach(addChatLine);
  }

  /* ---------- danmaku: lanes; when every lane is busy a message is dropped, never queued ---------- */

  var danmaku = {
    lanes: [],
    active: 0,
    dropped: 0,
    maxActive: 80,
    durationMs: 8000,
    shoot: function (message, own) {
      if (!danmakuToggle || !danmakuToggle.checked || document.hidden) { return false; }
      var height = layer.clientHeight || 360;
      var laneCount = Math.max(1, Math.floor((height * 0.75) / 30));
      var now = performance.now();
      var lane = -1;
      for (var i = 0; i < laneCount; i++) {
        if (!(this.lanes[i] > now)) { lane = i; break; }
      }
      if (lane < 0 || this.active >= this.maxActive) { this.dropped += 1; return false; }
      var item = document.createElement("span");
      item.className = "danmaku" + (own ? " own" : "");
      item.textContent = message.text;
      item.style.top = (lane * 30 + 6) + "px";
      layer.appendChild(item);
      var width = layer.clientWidth || 640;
      var itemWidth = item.offsetWidth;
      var speed = (width + itemWidth) / this.durationMs;
      // The lane is free again once this item's tail has left the right edge (plus a gap).
      this.lanes[lane] = now + (itemWidth + 24) / speed;
      this.active += 1;
      var self = this;
      var animation = item.animate(
        [{ transform: "translateX(" + width + "px)" }, { transform: "translateX(" + (-itemWidth) + "px)" }],
        { duration: this.durationMs, easing: "linear" }
      );
      animation.onfinish = function () { item.remove(); self.active -= 1; };
      return true;
    }
  };
  window.lcDanmaku = danmaku;

  /* ---------- replay: chat replays beside the recording ---------- */

  var replayChat = {
    showId: null,
    lines: [],
    next: 0,
    load: function (showId) {
      if (this.showId === showId) { return; }
      this.showId = showId;
      this.lines = [];
      this.next = 0;
      var self = this;
      var started = config.state.show && config.state.show.started_at ? Date.parse(config.state.show.started_at) : null;
      fetch("/api/v1/shows/" + showId + "/chat?limit=1000", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (rows) {
          if (self.showId !== showId) { return; }
          var origin = started || (rows.length ? Date.parse(rows[0].created_at) : 0);
          self.lines = rows.map(function (row) {
            return { at: (Date.parse(row.created_at) - origin) / 1000, message: row };
          });
          resetChat([]);
        });
    },
    stop: function () { this.showId = null; this.lines = []; this.next = 0; },
    tick: function () {
      if (this.showId === null) { return; }
      var t = video.currentTime;
      if (this.next > 0 && this.lines[this.next - 1] && this.lines[this.next - 1].at > t + 1) {
        // The viewer sought backwards: start over from there.
        this.next = 0;
        resetChat([]);
      }
      while (this.next < this.lines.length && this.lines[this.next].at <= t) {
        var line = this.lines[this.next];
        addChatLine(line.message);
        if (t - line.at < 2) { danmaku.shoot(line.message, false); }
        this.next += 1;
      }
    }
  };
  video.addEventListener("timeupdate", function () { replayChat.tick(); });

  /* ---------- notices ---------- */

  var noticeTimer = null;
  function showNotice(message) {
    notice.textContent = message;
    notice.classList.remove("hidden");
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { notice.classList.add("hidden"); }, 6000);
  }

  function explain(error) {
    var template = text[error.code] || error.message || text.error;
    var seconds = error.retry_after !== undefined ? Math.ceil(error.retry_after) : "";
    return template.replace("%(seconds)s", seconds);
  }

  /* ---------- socket ---------- */

  var socket = null;
  var lastEid = "";
  var backoff = 500;
  var me = null;
  var refs = 0;
  var pendingRefs = {};
  var pingTimer = null;

  var handlers = {
    hello: function (event) {
      me = event.me;
      if (!event.resumed) {
        resetChat(event.state.mode === "replay" ? [] : event.chat);
      }
      applyState(event.state);
    },
    chat: function (event) {
      if (player.mode === "replay") { return; }
      addChatLine(event);
      danmaku.shoot(event, me && event.user_id === me.id);
    },
    presence: function (event) { onlineEl.textContent = String(event.online); },
    show: function (event) {
      if (event.status === "live") {
        refreshState();
      } else if (event.status === "reconnecting") {
        setStatus("reconnecting");
      } else if (event.status === "ended") {
        setStatus("ended");
        waitForReplay();
      }
    },
    replay: function () { refreshState(); },
    error: function (event) {
      if (event.ref && pendingRefs[event.ref]) {
        chatInput.value = chatInput.value || pendingRefs[event.ref];
        delete pendingRefs[event.ref];
      }
      showNotice(explain(event));
    },
    pong: function () {}
  };

  var replayPoll = null;
  function waitForReplay() {
    // The replay event normally arrives; polling covers a socket that was down at that moment.
    clearInterval(replayPoll);
    replayPoll = setInterval(function () {
      refreshState().then(function (state) {
        if (state && state.mode !== "offline" && statusEl.dataset.mode !== "ended") { clearInterval(replayPoll); }
      });
    }, 3000);
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + "/ws/rooms/" + roomId + (lastEid ? "?last_event_id=" + encodeURIComponent(lastEid) : "");
    socket = new WebSocket(url);
    socket.onopen = function () {
      backoff = 500;
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { send({ op: "ping", ref: "p" + (++refs) }); }, 25000);
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      (frame.events || []).forEach(function (event) {
        if (event.eid) { lastEid = event.eid; }
        var handler = handlers[event.type];
        if (handler) { handler(event); }
      });
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      if (event.code === 4404 || event.code === 4400) { return; }
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  function send(payload) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(payload));
      return true;
    }
    return false;
  }

  chatForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = chatInput.value.trim();
    if (!value || chatInput.disabled) { return; }
    var ref = "c" + (++refs);
    if (!send({ op: "chat", text: value, ref: ref })) {
      showNotice(text.disconnected);
      return;
    }
    pendingRefs[ref] = value;
    setTimeout(function () { delete pendingRefs[ref]; }, 10000);
    chatInput.value = "";
    chatInput.focus();
  });

  if (chatSend && chatInput.disabled) { chatSend.disabled = true; }
  applyState(config.state);
  connect();
})();
