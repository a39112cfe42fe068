/* livecircle room page: player (hls.js), realtime socket, chat, danmaku, likes and moderation;
 * gifts and the contribution ranking live in gifts.js, live shopping (cards, flash sales, coupon
 * drops, checkout) in shop.js, shared helpers in kit.js. Protocol: docs/realtime.md.
 * No build step: an ES module (for the import), the rest plain ES2017 in an IIFE. */
import { mountGifts } from "./gifts.js";
import { mountShop } from "./shop.js";
import { mountTools } from "./tools.js";
import { el, format, newKey } from "./kit.js";

(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("room-config").textContent);
  var roomId = config.roomId;
  var text = config.messages;
  var $ = function (id) { return document.getElementById(id); };
  var video = $("player");
  var statusEl = $("show-status");
  var overlay = $("player-overlay");
  var onlineEl = $("online-count");
  var chatList = $("chat-list");
  var chatForm = $("chat-form");
  var chatInput = $("chat-input");
  var chatSend = $("chat-send");
  var notice = $("chat-notice");
  var layer = $("danmaku-layer");
  var danmakuToggle = $("danmaku-toggle");
  var titleEl = $("show-title");
  var pinnedEl = $("pinned");
  var menuEl = $("chat-menu");
  var replyBar = $("reply-bar");
  var replyLabel = $("reply-label");
  var replyCancel = $("reply-cancel");
  var policyEl = $("chat-policy");
  var toastEl = $("toast");
  var likeButton = $("like-button");
  var likeCountEl = $("like-count");
  var emojiButton = $("emoji-button");
  var emojiPanel = $("emoji-panel");

  var MAX_CHAT_LINES = 200;
  var SHOTS_PER_FRAME = 3;        // danmaku started per animation frame; the rest of the frame's lines are dropped
  var LIKE_BATCH_MS = 300;
  var LIKE_BATCH_MAX = 100;
  var SUMMARY_WINDOW_MS = 1000;   // chat_summary events within this window update one line
  var EMOJI = ["👍", "❤️", "😂", "🎉", "🔥", "👏", "😍", "🤣", "🙏", "💯", "😭", "🥰",
    "😎", "🤔", "👀", "🌹", "🎁", "✨", "💪", "🙌", "😅", "😁", "🥳", "💖"];
  var sid = newKey();
  var signedIn = !!config.signedIn;
  var canModerate = !!(config.canModerate || config.canManage);
  var me = null;
  var session = { connected: false, me: null };  // for tests and debugging: the socket has said hello
  window.lcRoom = session;

  function t(key, values) { return format(text[key] || key, values); }

  function clock(iso) {
    var date = new Date(iso);
    return date.toLocaleTimeString(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit" });
  }

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
      var hls = new Hls({
        manifestLoadingMaxRetry: 6,
        levelLoadingMaxRetry: 6,
        fragLoadingMaxRetry: 6,
        // Live: stay about 3 segments behind the edge and catch up after a stall (speed up
        // to 1.25x, or jump when more than 6 segments behind) instead of keeping the delay.
        liveSyncDurationCount: 3,
        liveMaxLatencyDurationCount: 6,
        maxLiveSyncPlaybackRate: 1.25
      });
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
    gifts.setState(state);
    shop.setState(state);
    if (titleEl) { titleEl.textContent = state.show ? state.show.title : ""; }
    likeButton.disabled = state.mode !== "live";  // the server only counts likes for a live show
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

  /* ---------- chat lines ----------
   * Incoming lines are queued and written once per animation frame as one DocumentFragment;
   * the list keeps the last MAX_CHAT_LINES. `known` maps the ids of lines on the page (and
   * the pinned one) to their events, for replies, menus and quotes. */

  var known = new Map();
  var inbox = [];            // {line: event} | {summary: aggregate} | {node: li}, waiting for the next frame
  var shots = [];            // danmaku candidates for the next frame
  var frameRequested = false;
  var frameTimer = null;
  var summary = null;        // the chat_summary aggregate being shown (updated for SUMMARY_WINDOW_MS)

  function badgeLabel(badge) { return text["badge_" + badge] || badge; }

  function quoteOf(message) {
    if (message.reply_to) { return message.reply_to; }
    var original = message.reply_to_id ? known.get(String(message.reply_to_id)) : null;
    return original ? { id: original.id, display_name: original.display_name, text: original.text } : null;
  }

  function mentionsMe(message) {
    return !!(me && message.mentions && message.mentions.indexOf(me.id) >= 0 && message.user_id !== me.id);
  }

  function renderLine(message) {
    var li = el("li", "chat-line");
    li.dataset.id = String(message.id);
    li.dataset.userId = String(message.user_id);
    if (message.kind === "auto_reply") { li.classList.add("auto"); }
    if (me && message.user_id === me.id) { li.classList.add("own"); }
    if (mentionsMe(message)) { li.classList.add("mention"); }
    var quote = quoteOf(message);
    if (quote) {
      var q = el("div", "chat-quote", "↪ " + quote.display_name + ": " + quote.text);
      q.dataset.quoteId = String(quote.id);
      li.appendChild(q);
    }
    if (message.badge) { li.appendChild(el("span", "chat-badge " + message.badge, badgeLabel(message.badge))); }
    li.appendChild(el("span", "chat-name", message.display_name));
    li.appendChild(el("span", "chat-text", message.text));
    if (signedIn) {
      var actions = el("span", "chat-actions");
      var reply = el("button", "chat-reply", text.reply);
      reply.type = "button";
      actions.appendChild(reply);
      var more = el("button", "chat-more", "⋯");
      more.type = "button";
      more.title = text.more;
      more.setAttribute("aria-label", text.more);
      more.setAttribute("aria-haspopup", "menu");
      actions.appendChild(more);
      li.appendChild(actions);
    }
    return li;
  }

  function renderSummary(aggregate) {
    var top = Array.from(aggregate.top.entries())
      .sort(function (a, b) { return b[1] - a[1]; })
      .slice(0, 3)
      .map(function (entry) { return (entry[0].length > 12 ? entry[0].slice(0, 12) + "…" : entry[0]) + " ×" + entry[1]; });
    aggregate.li.textContent = t("summary", { count: aggregate.count, top: top.join(", ") });
  }

  function schedule() {
    if (frameRequested) { return; }
    frameRequested = true;
    // Hidden tabs get no animation frames (and shoot nothing); a starved page still gets its
    // lines within 100 ms. Whichever of the two comes first flushes.
    if (!document.hidden) { requestAnimationFrame(flush); }
    frameTimer = setTimeout(flush, document.hidden ? 250 : 100);
  }

  function forget(items) {
    items.forEach(function (item) {
      if (item.summary) { item.summary.queued = false; }
      if (item.line && !(pinned && pinned.id === item.line.id)) { known.delete(String(item.line.id)); }
    });
  }

  function enqueue(item) {
    inbox.push(item);
    // A hidden tab may go a while without a frame: keep only what the list could show.
    if (inbox.length > MAX_CHAT_LINES * 2) { forget(inbox.splice(0, inbox.length - MAX_CHAT_LINES)); }
    schedule();
  }

  function addChatLine(message) {
    known.set(String(message.id), message);
    enqueue({ line: message });
  }

  function addSummary(event) {
    var now = performance.now();
    if (!summary || now - summary.started > SUMMARY_WINDOW_MS) {
      summary = { started: now, count: 0, top: new Map(), li: el("li", "chat-summary"), queued: false };
    }
    summary.count += event.folded;
    (event.top || []).forEach(function (item) {
      summary.top.set(item.text, (summary.top.get(item.text) || 0) + item.count);
    });
    if (!summary.queued) { summary.queued = true; enqueue({ summary: summary }); }
  }

  function flush() {
    if (!frameRequested) { return; }
    frameRequested = false;
    clearTimeout(frameTimer);
    var batch = inbox;
    inbox = [];
    if (batch.length > MAX_CHAT_LINES) { forget(batch.splice(0, batch.length - MAX_CHAT_LINES)); }
    if (batch.length) { writeLines(batch); }
    shootQueued();
  }

  function writeLines(batch) {
    var atBottom = chatList.scrollHeight - chatList.scrollTop - chatList.clientHeight < 40;
    var fragment = document.createDocumentFragment();
    batch.forEach(function (item) {
      if (item.summary) {
        item.summary.queued = false;
        renderSummary(item.summary);
        fragment.appendChild(item.summary.li);  // moves it to the end while the window lasts
      } else if (item.node) {
        fragment.appendChild(item.node);
      } else {
        fragment.appendChild(renderLine(item.line));
      }
    });
    chatList.appendChild(fragment);
    var excess = chatList.children.length - MAX_CHAT_LINES;
    for (var i = 0; i < excess; i++) {
      var first = chatList.firstElementChild;
      if (first.dataset.id && !(pinned && String(pinned.id) === first.dataset.id)) { known.delete(first.dataset.id); }
      chatList.removeChild(first);
    }
    if (atBottom) { chatList.scrollTop = chatList.scrollHeight; }
  }

  function resetChat(messages) {
    chatList.textContent = "";
    inbox = [];
    summary = null;
    known.clear();
    if (pinned) { known.set(String(pinned.id), pinned); }
    messages.forEach(addChatLine);
  }

  function removeLine(id) {
    id = String(id);
    inbox = inbox.filter(function (item) { return !(item.line && String(item.line.id) === id); });
    shots = shots.filter(function (shot) { return String(shot.message.id) !== id; });
    var li = chatList.querySelector('li[data-id="' + id + '"]');
    if (li) { li.remove(); }
    chatList.querySelectorAll('.chat-quote[data-quote-id="' + id + '"]').forEach(function (q) {
      q.textContent = "↪ " + text.quote_removed;
    });
    danmaku.remove(id);
    known.delete(id);
    if (pinned && String(pinned.id) === id) { setPinned(null); }
    if (replyTarget && String(replyTarget.id) === id) { setReplyTarget(null); }
    if (menuFor === id) { closeMenu(); }
  }

  /* ---------- danmaku: lanes; when every lane is busy a message is dropped, never queued ---------- */

  var danmaku = {
    lanes: [],
    live: new Map(),
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
      var item = el("span", "danmaku" + (own ? " own" : "") + (message.badge ? " " + message.badge : ""), message.text);
      item.dataset.id = String(message.id);
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
      var key = item.dataset.id;
      this.live.set(key, { item: item, animation: animation });
      animation.onfinish = function () { self.forget(key, item); };
      return true;
    },
    forget: function (key, item) {
      var entry = this.live.get(key);
      if (!entry || entry.item !== item) { return; }
      this.live.delete(key);
      item.remove();
      this.active -= 1;
    },
    remove: function (key) {
      var entry = this.live.get(key);
      if (!entry) { return; }
      entry.animation.cancel();
      this.forget(key, entry.item);
    }
  };
  window.lcDanmaku = danmaku;

  function queueShot(message, own) {
    shots.push({ message: message, own: own });
    schedule();
  }

  function shootQueued() {
    if (!shots.length) { return; }
    var batch = shots;
    shots = [];
    // Own and priority lines (host, moderators, assistant) go first; past the per-frame budget
    // the rest are dropped so that danmaku never lags behind the chat.
    batch.sort(function (a, b) { return rank(b) - rank(a); });
    var started = 0;
    for (var i = 0; i < batch.length; i++) {
      if (started >= SHOTS_PER_FRAME) { danmaku.dropped += batch.length - i; break; }
      if (danmaku.shoot(batch[i].message, batch[i].own)) { started += 1; }
    }
  }

  function rank(shot) { return (shot.own ? 2 : 0) + (shot.message.pri || shot.message.badge ? 1 : 0); }

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
      var now = video.currentTime;
      // The recording may start a moment after the show did (the encoder's first keyframe),
      // so lines from the last second(s) can lie past its end: they show as it ends.
      var last = isFinite(video.duration) && video.duration > 0 ? video.duration - 1 : Infinity;
      if (this.next > 0 && Math.min(this.lines[this.next - 1].at, last) > now + 1) {
        // The viewer sought backwards: start over from there.
        this.next = 0;
        resetChat([]);
      }
      while (this.next < this.lines.length && Math.min(this.lines[this.next].at, last) <= now) {
        var line = this.lines[this.next];
        addChatLine(line.message);
        if (now - line.at < 2) { queueShot(line.message, false); }
        this.next += 1;
      }
    }
  };
  video.addEventListener("timeupdate", function () { replayChat.tick(); });
  video.addEventListener("ended", function () { replayChat.tick(); });

  /* ---------- notices and toasts ---------- */

  var noticeTimer = null;
  var stickyNotice = "";    // a standing state (muted, banned) that transient notices fall back to

  function showNotice(message) {
    notice.textContent = message;
    notice.classList.remove("hidden");
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () {
      if (stickyNotice) { notice.textContent = stickyNotice; } else { notice.classList.add("hidden"); }
    }, 6000);
  }

  function setStickyNotice(message) {
    stickyNotice = message;
    clearTimeout(noticeTimer);
    notice.textContent = message;
    notice.classList.toggle("hidden", !message);
  }

  var toastTimer = null;
  function toast(message) {
    toastEl.textContent = message;
    toastEl.classList.remove("hidden");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toastEl.classList.add("hidden"); }, 4000);
  }

  function explain(error) {
    var key = error.code;
    if (key === "chat_restricted" && error.mode) { key = "chat_restricted_" + error.mode; }
    if (!text[key]) { return error.message || text.error; }
    var seconds = error.retry_after !== undefined ? Math.ceil(error.retry_after) : "";
    return t(key, { seconds: seconds, minutes: seconds === "" ? "" : Math.max(1, Math.ceil(seconds / 60)) });
  }

  /* ---------- chat input: locks (mute, ban), reply target, policy line ---------- */

  var locks = { mute: 0, ban: false };
  var muteTimer = null;

  function refreshInput() {
    if (!signedIn) { return; }
    var locked = locks.ban || locks.mute > Date.now();
    chatInput.disabled = locked;
    chatSend.disabled = locked;
    if (emojiButton) { emojiButton.disabled = locked; }
    if (locked) { closeEmoji(); }
  }

  function muteUntil(untilMs) {
    locks.mute = untilMs;
    clearTimeout(muteTimer);
    var wait = untilMs - Date.now();
    if (wait > 0 && wait < 2147483647) {
      muteTimer = setTimeout(function () { unlock("mute"); }, wait + 250);
    }
    if (!locks.ban) { setStickyNotice(t("muted_until", { time: clock(untilMs) })); }
    refreshInput();
  }

  function unlock(kind) {
    if (kind === "mute") { locks.mute = 0; clearTimeout(muteTimer); } else { locks.ban = false; }
    if (locks.ban) { return refreshInput(); }
    if (locks.mute > Date.now()) { setStickyNotice(t("muted_until", { time: clock(locks.mute) })); } else {
      setStickyNotice("");
      showNotice(text.unmuted);
    }
    refreshInput();
  }

  var replyTarget = null;

  function setReplyTarget(message) {
    replyTarget = message;
    replyBar.classList.toggle("hidden", !message);
    if (!message) { return; }
    var snippet = message.text.length > 30 ? message.text.slice(0, 30) + "…" : message.text;
    replyLabel.textContent = t("replying_to", { name: message.display_name, text: snippet });
    if (!chatInput.disabled) { chatInput.focus(); }
  }

  function applyPolicy(policy) {
    var parts = [];
    if (policy.mode === "members") { parts.push(text.policy_members); }
    if (policy.mode === "followers") { parts.push(text.policy_followers); }
    if (policy.slow_mode_seconds > 0) { parts.push(t("policy_slow", { seconds: policy.slow_mode_seconds })); }
    if (policy.min_account_age_minutes > 0) {
      parts.push(t("policy_new_account", { minutes: policy.min_account_age_minutes }));
    }
    policyEl.textContent = parts.join(" · ");
    policyEl.classList.toggle("hidden", !parts.length);
  }

  /* ---------- pinned line ---------- */

  var pinned = null;

  function setPinned(message) {
    pinned = message;
    pinnedEl.textContent = "";
    pinnedEl.classList.toggle("hidden", !message);
    if (!message) { return; }
    known.set(String(message.id), message);
    pinnedEl.dataset.id = String(message.id);
    pinnedEl.appendChild(el("span", "pinned-label", "📌 " + text.pinned));
    if (message.badge) { pinnedEl.appendChild(el("span", "chat-badge " + message.badge, badgeLabel(message.badge))); }
    pinnedEl.appendChild(el("span", "chat-name", message.display_name));
    pinnedEl.appendChild(el("span", "chat-text", message.text));
    if (canModerate) {
      var unpin = el("button", "icon-button pinned-unpin", "×");
      unpin.type = "button";
      unpin.title = text.unpin;
      unpin.setAttribute("aria-label", text.unpin);
      pinnedEl.appendChild(unpin);
    }
  }

  pinnedEl.addEventListener("click", function (event) {
    if (event.target.closest(".pinned-unpin")) { send({ op: "pin", message_id: null, ref: nextRef("m") }); }
  });

  /* ---------- likes: taps are batched into one op per LIKE_BATCH_MS ---------- */

  var likes = { known: 0, optimistic: 0, pending: 0, timer: null, hearts: 0 };
  window.lcLikes = likes;

  function showLikes() {
    var total = Math.max(likes.known, likes.optimistic);
    likeCountEl.textContent = String(total);
    likeCountEl.dataset.total = String(total);
  }

  function setKnownLikes(total) {
    likes.known = Math.max(0, total | 0);
    likes.optimistic = Math.max(likes.optimistic, likes.known);
    showLikes();
  }

  function flushLikes() {
    likes.timer = null;
    if (!likes.pending) { return; }
    var count = Math.min(likes.pending, LIKE_BATCH_MAX);
    if (!send({ op: "like", count: count })) { likes.timer = setTimeout(flushLikes, 2000); return; }
    likes.pending -= count;
    if (likes.pending) { likes.timer = setTimeout(flushLikes, LIKE_BATCH_MS); }
  }

  function floatHeart() {
    if (likes.hearts >= 12 || !likeButton.animate) { return; }
    likes.hearts += 1;
    var heart = el("span", "float-heart", "❤");
    var drift = Math.round(Math.random() * 40 - 20);
    likeButton.parentNode.appendChild(heart);
    heart.animate(
      [{ transform: "translate(0, 0) scale(.8)", opacity: 1 },
        { transform: "translate(" + drift + "px, -90px) scale(1.4)", opacity: 0 }],
      { duration: 900, easing: "ease-out" }
    ).onfinish = function () { heart.remove(); likes.hearts -= 1; };
  }

  likeButton.addEventListener("click", function () {
    likes.optimistic = Math.max(likes.optimistic, likes.known) + 1;
    likes.pending = Math.min(likes.pending + 1, LIKE_BATCH_MAX * 3);
    showLikes();
    floatHeart();
    if (!likes.timer) { likes.timer = setTimeout(flushLikes, LIKE_BATCH_MS); }
  });

  /* ---------- line menu (reply, report; delete, mute, ban, pin for moderators) ---------- */

  var menuFor = null;

  function menuItems(message) {
    var items = [{ action: "reply", label: text.reply }];
    var mine = me && message.user_id === me.id;
    var sanctionable = !mine && message.badge !== "host" && message.kind !== "auto_reply";
    if (canModerate) {
      items.push({ action: "delete", label: text["delete"] });
      if (sanctionable) {
        items.push({ action: "mute", label: text.mute });
        items.push({ action: "ban", label: text.ban, danger: true });
      }
      var isPinned = pinned && String(pinned.id) === String(message.id);
      items.push(isPinned ? { action: "unpin", label: text.unpin } : { action: "pin", label: text.pin });
    }
    if (!mine) { items.push({ action: "report", label: text.report }); }
    return items;
  }

  function openMenu(li, anchor) {
    var message = known.get(li.dataset.id);
    if (!message) { return; }
    menuFor = li.dataset.id;
    menuEl.textContent = "";
    menuItems(message).forEach(function (item) {
      var button = el("button", "chat-menu-item" + (item.danger ? " danger" : ""), item.label);
      button.type = "button";
      button.setAttribute("role", "menuitem");
      button.dataset.action = item.action;
      menuEl.appendChild(button);
    });
    menuEl.classList.remove("hidden");
    var panel = menuEl.offsetParent || document.body;
    var box = anchor.getBoundingClientRect();
    var origin = panel.getBoundingClientRect();
    var top = box.bottom - origin.top + 2;
    if (top + menuEl.offsetHeight > panel.clientHeight) { top = box.top - origin.top - menuEl.offsetHeight - 2; }
    menuEl.style.top = Math.max(0, top) + "px";
    menuEl.style.right = Math.max(4, origin.right - box.right) + "px";
    menuEl.querySelector("button").focus();
  }

  function closeMenu() {
    menuFor = null;
    menuEl.classList.add("hidden");
  }

  var refs = 0;
  function nextRef(prefix) { return prefix + (++refs); }

  var actions = {
    reply: function (message) { setReplyTarget(message); },
    "delete": function (message) { send({ op: "delete", message_id: message.id, ref: nextRef("m") }); },
    mute: function (message) { send({ op: "mute", user_id: message.user_id, minutes: 10, ref: nextRef("m") }); },
    ban: function (message) {
      if (window.confirm(t("ban_confirm", { name: message.display_name }))) {
        send({ op: "ban", user_id: message.user_id, ref: nextRef("m") });
      }
    },
    pin: function (message) { send({ op: "pin", message_id: message.id, ref: nextRef("m") }); },
    unpin: function () { send({ op: "pin", message_id: null, ref: nextRef("m") }); },
    report: function (message) {
      var reason = window.prompt(text.report_prompt, text.report_reason);
      if (reason === null) { return; }
      send({ op: "report", message_id: message.id, reason: reason.trim() || text.report_reason, ref: nextRef("m") });
    }
  };

  menuEl.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) { return; }
    var message = known.get(menuFor);
    closeMenu();
    if (message && actions[button.dataset.action]) { actions[button.dataset.action](message); }
  });

  chatList.addEventListener("click", function (event) {
    var li = event.target.closest("li.chat-line");
    if (!li || !signedIn) { return; }
    if (event.target.closest(".chat-more")) {
      if (menuFor === li.dataset.id) { closeMenu(); } else { openMenu(li, event.target); }
      return;
    }
    var selection = window.getSelection && window.getSelection();
    if (selection && String(selection).length && !event.target.closest(".chat-reply")) { return; }
    var message = known.get(li.dataset.id);
    if (message) { setReplyTarget(message); }
  });

  document.addEventListener("click", function (event) {
    if (menuFor && !event.target.closest("#chat-menu, .chat-more")) { closeMenu(); }
    if (emojiPanel && !emojiPanel.classList.contains("hidden") && !event.target.closest("#emoji-panel, #emoji-button")) {
      closeEmoji();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    if (menuFor) { closeMenu(); } else if (emojiPanel && !emojiPanel.classList.contains("hidden")) { closeEmoji(); } else if (replyTarget) { setReplyTarget(null); }
  });
  chatList.addEventListener("scroll", function () { if (menuFor) { closeMenu(); } }, { passive: true });
  replyCancel.addEventListener("click", function () { setReplyTarget(null); });

  /* ---------- emoji ---------- */

  function closeEmoji() {
    if (!emojiPanel) { return; }
    emojiPanel.classList.add("hidden");
    emojiButton.setAttribute("aria-expanded", "false");
  }

  function insertAtCursor(value) {
    var start = chatInput.selectionStart === null ? chatInput.value.length : chatInput.selectionStart;
    var end = chatInput.selectionEnd === null ? start : chatInput.selectionEnd;
    var next = chatInput.value.slice(0, start) + value + chatInput.value.slice(end);
    if (next.length > chatInput.maxLength && chatInput.maxLength > 0) { return; }
    chatInput.value = next;
    chatInput.focus();
    chatInput.setSelectionRange(start + value.length, start + value.length);
  }

  if (emojiButton && emojiPanel) {
    EMOJI.forEach(function (emoji) {
      var button = el("button", "emoji", emoji);
      button.type = "button";
      emojiPanel.appendChild(button);
    });
    emojiButton.addEventListener("click", function () {
      var open = emojiPanel.classList.toggle("hidden") === false;
      emojiButton.setAttribute("aria-expanded", String(open));
    });
    // mousedown keeps the input's selection (the cursor) where it was.
    emojiPanel.addEventListener("mousedown", function (event) { event.preventDefault(); });
    emojiPanel.addEventListener("click", function (event) {
      var button = event.target.closest("button.emoji");
      if (button) { insertAtCursor(button.textContent); }
    });
  }

  /* ---------- socket ---------- */

  var socket = null;
  var lastEid = "";
  var backoff = 500;
  var pendingRefs = {};
  var pingTimer = null;

  function restorePending(ref) {
    var pending = ref && pendingRefs[ref];
    if (!pending) { return; }
    delete pendingRefs[ref];
    if (!chatInput.value) { chatInput.value = pending.text; }
    if (!replyTarget && pending.replyTo) { setReplyTarget(pending.replyTo); }
  }

  var handlers = {
    hello: function (event) {
      me = event.me;
      session.me = me;
      if (me && me.banned) { locks.ban = true; setStickyNotice(text.banned); refreshInput(); }
      if (me && me.muted_until) { muteUntil(Date.parse(me.muted_until)); }
      session.connected = true;
      if (!event.resumed) {
        likes.optimistic = 0;  // the snapshot's total stands (it may belong to a new show)
        if (event.pinned) { pinned = event.pinned; }
        resetChat(event.state.mode === "replay" ? [] : event.chat || []);
      }
      setPinned(event.pinned || null);
      setKnownLikes(event.likes || 0);
      if (!event.resumed) { shop.reload(); tools.reload(); }  // what came while the socket was down
      if (event.policy) { applyPolicy(event.policy); }
      applyState(event.state);
      if (event.state.mode !== "live") {
        // The room snapshot may be up to a second old on another node: look once more.
        setTimeout(refreshState, 1500);
      }
    },
    chat: function (event) {
      if (player.mode === "replay") { return; }
      addChatLine(event);
      var own = !!(me && event.user_id === me.id);
      queueShot(event, own);
      if (mentionsMe(event)) { toast(t("mentioned", { name: event.display_name })); }
    },
    chat_summary: function (event) {
      if (player.mode === "replay") { return; }
      addSummary(event);
    },
    chat_deleted: function (event) { removeLine(event.id); },
    pin: function (event) { setPinned(event.message || null); },
    policy: function (event) { applyPolicy(event); },
    likes: function (event) { setKnownLikes(event.total); },
    moderation: function (event) { moderated(event); },
    chat_held: function (event) {
      if (event.ref) { delete pendingRefs[event.ref]; }
      showNotice(text.held_for_review);
    },
    reported: function () { showNotice(text.reported); },
    presence: function (event) { onlineEl.textContent = String(event.online); },
    show: function (event) {
      if (event.status === "live") {
        if (!event.resumed) { likes.known = 0; likes.optimistic = 0; showLikes(); }  // a new show counts from zero
        refreshState();
      } else if (event.status === "reconnecting") {
        setStatus("reconnecting");
      } else if (event.status === "ended") {
        setStatus("ended");
        waitForReplay();
      }
    },
    replay: function () { refreshState(); },
    gift: function (event) { gifts.onGift(event); },
    gift_sent: function (event) { gifts.onSent(event); },
    product_pin: function (event) { shop.onPin(event); },
    product_unpin: function (event) { shop.onUnpin(event); },
    flash_sale: function (event) { shop.onSale(event); },
    flash_stock: function (event) { shop.onStock(event); },
    coupon_drop: function (event) { shop.onCouponDrop(event); },
    error: function (event) {
      if (gifts.onError(event)) { return; }
      restorePending(event.ref);
      if (event.code === "muted" && event.retry_after) {
        muteUntil(Date.now() + event.retry_after * 1000);
      } else if (event.code === "banned") {
        locks.ban = true;
        setStickyNotice(text.banned);
        refreshInput();
      }
      showNotice(explain(event));
    },
    pong: function () {}
  };

  function nameOf(userId) {
    var found = null;
    known.forEach(function (message) { if (message.user_id === userId && message.kind !== "auto_reply") { found = message.display_name; } });
    return found || "#" + userId;
  }

  var SANCTION_NOTES = { mute: "user_muted", ban: "user_banned", unmute: "user_unmuted", unban: "user_unbanned" };

  function moderated(event) {
    if (me && event.user_id === me.id) {
      if (event.action === "mute") { muteUntil(Date.parse(event.until)); }
      if (event.action === "ban") { locks.ban = true; setStickyNotice(text.banned); refreshInput(); }
      if (event.action === "unmute" || event.action === "unban") { unlock(event.action.slice(2)); }
      return;
    }
    var key = SANCTION_NOTES[event.action];
    if (!canModerate || !key) { return; }
    var values = { name: nameOf(event.user_id), time: event.until ? clock(event.until) : "" };
    enqueue({ node: el("li", "chat-system", t(key, values)) });
  }

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
      pingTimer = setInterval(function () { send({ op: "ping", ref: nextRef("p") }); }, 25000);
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      (frame.events || []).forEach(function (event) {
        if (event.eid) { lastEid = event.eid; }
        var handler = handlers[event.type];
        if (handler) { handler(event); } else { tools.handle(event); }
      });
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      session.connected = false;
      if (event.code === 4404 || event.code === 4400) { return; }
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  function trySend(payload) {
    if (!socket || socket.readyState !== WebSocket.OPEN) { return false; }
    socket.send(JSON.stringify(payload));
    return true;
  }

  function send(payload) {
    if (trySend(payload)) { return true; }
    showNotice(text.disconnected);
    return false;
  }

  chatForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = chatInput.value.trim();
    if (!value || chatInput.disabled) { return; }
    var ref = nextRef("c");
    var payload = { op: "chat", text: value, ref: ref };
    if (replyTarget) { payload.reply_to = replyTarget.id; }
    if (!send(payload)) { return; }
    pendingRefs[ref] = { text: value, replyTo: replyTarget };
    setTimeout(function () { delete pendingRefs[ref]; }, 10000);
    chatInput.value = "";
    setReplyTarget(null);
    closeEmoji();
    chatInput.focus();
  });

  if (chatSend && chatInput.disabled) { chatSend.disabled = true; }
  var gifts = mountGifts({
    roomId: roomId, signedIn: signedIn, isOwner: !!config.isOwner, t: t, trySend: trySend
  });
  var shop = mountShop({ roomId: roomId, signedIn: signedIn });
  var tools = mountTools({ roomId: roomId, signedIn: signedIn, me: function () { return me; } });
  applyState(config.state);
  connect();
})();
