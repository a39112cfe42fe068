/* livecircle room page: the gift panel, gift effects and the contribution ranking (贡献榜).
 * Imported by room.js, which owns the socket. Protocol: the socket op `gift` {gift_id, count, key, ref}
 * answers `gift_sent` (or `error` with the same ref); every viewer gets the room event `gift`.
 * REST fallback: POST /api/v1/rooms/{id}/gifts with the same Idempotency-Key, so a retry never pays twice. */

import { el, getJson, newKey, postJson } from "./kit.js";

const COUNTS = [1, 10, 66, 188, 520];           // the API takes 1–999 per send
const SOCKET_ANSWER_MS = 8000;                   // then the same key goes over REST (idempotent)
const RANK_THROTTLE_MS = 2000;                   // at most one ranking reload per this, on gift events
const MAX_FLOATS = 6;                            // floating effects on screen at once; older ones go
const MAX_QUEUED = 5;                            // banners / fullscreen effects waiting their turn
const FLOAT_MS = 5000;
const BANNER_MS = 4000;
const FULLSCREEN_MS = 2600;

/** ctx: {roomId, signedIn, isOwner, t(key, values), trySend(payload) -> bool (false: the socket is down)} */
export function mountGifts(ctx) {
  const $ = (id) => document.getElementById(id);
  const t = ctx.t;
  const button = $("gift-button");
  const panel = $("gift-panel");
  const list = $("gift-list");
  const counts = $("gift-counts");
  const sendButton = $("gift-send");
  const balanceEl = $("gift-balance");
  const messageEl = $("gift-message");
  const layer = $("gift-layer");
  const rankList = $("contributors");
  const rankEmpty = $("contributors-empty");

  const gifts = { catalogue: [], selected: null, count: 1, wallet: null, pending: new Map(), refs: 0, shown: 0 };
  window.lcGifts = gifts;  // for tests and debugging

  /* ---------- panel ---------- */

  function open() {
    panel.classList.remove("hidden");
    button.setAttribute("aria-expanded", "true");
    if (!ctx.signedIn) { return; }
    loadWallet();
    if (!gifts.catalogue.length) { loadCatalogue(); }
  }

  function close() {
    panel.classList.add("hidden");
    button.setAttribute("aria-expanded", "false");
  }

  button.addEventListener("click", () => (panel.classList.contains("hidden") ? open() : close()));
  $("gift-close").addEventListener("click", close);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") { close(); } });

  function currencyLabel(currency) { return currency === "point" ? t("gift_points") : t("gift_coins"); }

  function loadCatalogue() {
    return getJson("/api/v1/gifts").then((rows) => {
      gifts.catalogue = rows || [];
      list.textContent = "";
      gifts.catalogue.forEach((gift) => list.appendChild(renderGift(gift)));
      if (gifts.catalogue.length) { select(gifts.catalogue[0]); }
    });
  }

  function renderGift(gift) {
    const item = el("button", "gift-item");
    item.type = "button";
    item.dataset.giftId = String(gift.id);
    item.setAttribute("aria-pressed", "false");
    item.appendChild(el("span", "gift-icon", gift.icon));
    item.appendChild(el("span", "gift-name", gift.name));
    item.appendChild(el("span", "gift-price", gift.price + " " + currencyLabel(gift.currency)));
    return item;
  }

  function select(gift) {
    gifts.selected = gift;
    list.querySelectorAll(".gift-item").forEach((item) => {
      item.setAttribute("aria-pressed", String(item.dataset.giftId === String(gift.id)));
    });
    sendButton.disabled = false;
  }

  if (list) {
    list.addEventListener("click", (event) => {
      const item = event.target.closest(".gift-item");
      const gift = item && gifts.catalogue.find((g) => String(g.id) === item.dataset.giftId);
      if (gift) { select(gift); }
    });
  }

  if (counts) {
    COUNTS.forEach((n) => {
      const choice = el("button", "gift-count", "×" + n);
      choice.type = "button";
      choice.dataset.count = String(n);
      choice.setAttribute("aria-pressed", String(n === gifts.count));
      counts.appendChild(choice);
    });
    counts.addEventListener("click", (event) => {
      const choice = event.target.closest(".gift-count");
      if (!choice) { return; }
      gifts.count = Number(choice.dataset.count);
      counts.querySelectorAll(".gift-count").forEach((c) => c.setAttribute("aria-pressed", String(c === choice)));
    });
  }

  /* ---------- wallet figures ---------- */

  function loadWallet() {
    return getJson("/api/v1/wallet").then((wallet) => { if (wallet) { gifts.wallet = wallet; showBalance(); } });
  }

  function showBalance() {
    const w = gifts.wallet;
    if (!w || !balanceEl) { return; }
    balanceEl.textContent = t("gift_balance", { coins: w.coins, points: w.points });
    balanceEl.dataset.coins = String(w.coins);
    balanceEl.dataset.points = String(w.points);
  }

  /* ---------- sending ---------- */

  function say(message, kind, link) {
    messageEl.textContent = "";
    messageEl.className = "gift-message " + (kind || "");
    messageEl.appendChild(el("span", "", message));
    if (link) {
      const a = el("a", "gift-topup", link.label);
      a.href = link.href;
      messageEl.append(" ", a);
    }
    messageEl.classList.toggle("hidden", !message);
  }

  function send() {
    const gift = gifts.selected;
    if (!gift || sendButton.disabled) { return; }
    if (ctx.isOwner) { say(t("gift_own_room"), "error"); return; }
    const sending = { gift: gift, count: gifts.count, key: newKey(), ref: "g" + (++gifts.refs), timer: null };
    gifts.pending.set(sending.ref, sending);
    sendButton.disabled = true;
    say(t("gift_sending"), "muted");
    const payload = { op: "gift", gift_id: gift.id, count: sending.count, key: sending.key, ref: sending.ref };
    if (ctx.trySend(payload)) {
      sending.timer = setTimeout(() => viaRest(sending), SOCKET_ANSWER_MS);
    } else {
      viaRest(sending);
    }
  }

  function viaRest(sending) {
    if (!gifts.pending.has(sending.ref)) { return; }
    const body = { gift_id: sending.gift.id, count: sending.count };
    postJson("/api/v1/rooms/" + ctx.roomId + "/gifts", body, { "idempotency-key": sending.key })
      .then((answer) => {
        if (answer.ok) { sent(sending.ref, answer.body); return; }
        // The socket's copy of this send is still being processed: ask again for its answer.
        if (answer.body.code === "idempotency_in_progress") { sending.timer = setTimeout(() => viaRest(sending), 1000); return; }
        refused(sending.ref, answer.body);
      })
      .catch(() => refused(sending.ref, { code: "network" }));
  }

  function settle(ref) {
    const sending = gifts.pending.get(ref);
    if (!sending) { return null; }
    clearTimeout(sending.timer);
    gifts.pending.delete(ref);
    sendButton.disabled = !gifts.selected;
    return sending;
  }

  function sent(ref, result) {
    if (!settle(ref)) { return; }
    if (gifts.wallet) {
      gifts.wallet[result.currency === "point" ? "points" : "coins"] = result.balance;
      if (result.currency === "coin") { gifts.wallet.spent_today = result.spent_today; }
      showBalance();
    } else {
      loadWallet();
    }
    const done = t("gift_sent", { name: result.gift.name, count: result.count });
    if (result.reminder) {
      // Once a day, when today's tipping passes the reminder threshold (the server decides).
      const values = { spent: result.reminder.spent_today, threshold: result.reminder.threshold };
      say(done + " " + t("gift_reminder", values), "warn");
    } else {
      say(done, "ok");
    }
  }

  const TOPUP = { href: "/wallet#topup" };

  function refused(ref, error) {
    const sending = settle(ref);
    if (!sending) { return; }
    const code = error.code || "error";
    if (code === "insufficient_balance") {
      const label = sending.gift.currency === "point" ? "gift_no_points" : "gift_no_coins";
      say(t(label), "error", sending.gift.currency === "coin" ? { href: TOPUP.href, label: t("gift_topup") } : null);
    } else if (code === "spend_cap_reached") {
      say(t("gift_cap_reached", { cap: error.cap === undefined ? "" : error.cap }), "error");
    } else if (code === "gift_too_large") {
      say(t("gift_too_large", { limit: error.limit === undefined ? "" : error.limit }), "error");
    } else if (code === "minor_cannot_pay" || code === "gift_not_found" || code === "unauthenticated") {
      say(t("gift_" + code), "error");
    } else {
      say(error.detail || error.message || t("error"), "error");
    }
  }

  if (sendButton) { sendButton.addEventListener("click", send); }

  /* ---------- effects: float, banner, fullscreen ---------- */

  const combos = new Map();    // "user:gift" -> the float on screen, updated while the combo runs
  const queue = [];            // banner and fullscreen effects wait for each other
  let playing = false;

  function describe(event, className) {
    const node = el("div", "gift-effect " + className);
    node.dataset.userId = String(event.user_id);
    node.dataset.giftId = String(event.gift.id);
    node.appendChild(el("span", "gift-effect-icon", event.gift.icon));
    const words = el("span", "gift-effect-text");
    words.appendChild(el("span", "gift-effect-name", event.display_name));
    words.appendChild(el("span", "gift-effect-verb", t("gift_verb")));
    words.appendChild(el("span", "gift-effect-gift", event.gift.name));
    node.appendChild(words);
    node.appendChild(el("span", "gift-effect-combo", "x" + (event.combo || event.count)));
    return node;
  }

  function floatEffect(event) {
    const key = event.user_id + ":" + event.gift.id;
    const running = combos.get(key);
    if (running && running.node.isConnected) {
      running.node.querySelector(".gift-effect-combo").textContent = "x" + (event.combo || event.count);
      running.node.classList.remove("bump");
      void running.node.offsetWidth;  // restart the bump animation
      running.node.classList.add("bump");
      clearTimeout(running.timer);
      running.timer = setTimeout(() => drop(key, running.node), FLOAT_MS);
      return;
    }
    const floats = layer.querySelectorAll(".gift-effect.float");
    if (floats.length >= MAX_FLOATS) { floats[0].remove(); }
    const node = describe(event, "float");
    node.style.bottom = (12 + (layer.querySelectorAll(".gift-effect.float").length % 3) * 56) + "px";
    layer.appendChild(node);
    const entry = { node: node, timer: setTimeout(() => drop(key, node), FLOAT_MS) };
    combos.set(key, entry);
  }

  function drop(key, node) {
    const entry = combos.get(key);
    if (entry && entry.node === node) { combos.delete(key); }
    node.classList.add("leaving");
    setTimeout(() => node.remove(), 400);
  }

  function bigEffect(event) {
    if (queue.length >= MAX_QUEUED) { queue.shift(); }
    queue.push(event);
    if (!playing) { next(); }
  }

  function next() {
    const event = queue.shift();
    if (!event) { playing = false; return; }
    playing = true;
    const fullscreen = event.gift.effect === "fullscreen";
    const node = describe(event, fullscreen ? "fullscreen" : "banner");
    (fullscreen ? document.body : layer).appendChild(node);
    setTimeout(() => { node.remove(); next(); }, fullscreen ? FULLSCREEN_MS : BANNER_MS);
  }

  function onGift(event) {
    gifts.shown += 1;
    if (event.gift.effect === "banner" || event.gift.effect === "fullscreen") { bigEffect(event); } else { floatEffect(event); }
    scheduleRanking();
  }

  /* ---------- contribution ranking of the current show ---------- */

  let showId = null;
  let rankTimer = null;
  let rankLoaded = 0;

  function setState(state) {
    const next = state && state.show ? state.show.id : null;
    if (next === showId && rankLoaded) { return; }
    showId = next;
    loadRanking();
  }

  function scheduleRanking() {
    if (rankTimer) { return; }
    const wait = Math.max(0, rankLoaded + RANK_THROTTLE_MS - Date.now());
    rankTimer = setTimeout(() => { rankTimer = null; loadRanking(); }, Math.max(wait, 300));
  }

  function loadRanking() {
    rankLoaded = Date.now();
    const query = "?limit=10" + (showId ? "&show_id=" + showId : "");
    return getJson("/api/v1/rooms/" + ctx.roomId + "/contributors" + query)
      .then((rows) => { if (rows) { renderRanking(rows); } })
      .catch(() => {});
  }

  function renderRanking(rows) {
    rankList.textContent = "";
    rows.forEach((row) => {
      const li = el("li", "rank-row rank-" + row.rank);
      li.dataset.userId = String(row.user_id);
      li.appendChild(el("span", "rank-no", String(row.rank)));
      li.appendChild(el("span", "rank-name", row.display_name));
      li.appendChild(el("span", "rank-total", t("rank_total", { total: row.total })));
      rankList.appendChild(li);
    });
    rankEmpty.classList.toggle("hidden", rows.length > 0);
  }

  return {
    setState: setState,
    onGift: onGift,
    onSent: (event) => sent(event.ref, event),
    /** An error frame for one of our refs: handled here (true) or not ours (false). */
    onError: (event) => {
      if (!event.ref || !gifts.pending.has(event.ref)) { return false; }
      refused(event.ref, event);
      return true;
    }
  };
}
