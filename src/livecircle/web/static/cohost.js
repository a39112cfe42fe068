/* livecircle room page: the co-host (连麦) panel. A viewer applies, sees their place in line,
 * cancels or steps down, and answers the host's invitation; everyone sees the line and the seats.
 * State comes from GET /api/v1/rooms/{id}/cohost (the line) and .../cohost/me (mine), then from
 * the room events cohost_queue (the ordered line) and cohost_update (one request changed).
 * Mounted by tools.js; the strings come translated from room_cohost.html. */

import { el, format, getJson, postJson } from "./kit.js";

const ACTIVE = ["applied", "invited", "accepted"];
const SHOWN_IN_LINE = 5;

export function mountCohost(ctx) {
  const panel = document.getElementById("cohost-panel");
  const configNode = document.getElementById("cohost-config");
  if (!panel || !configNode) { return { handlers: {}, reload() {} }; }
  const text = JSON.parse(configNode.textContent).messages;
  const t = (key, values) => format(text[key] || key, values);
  const $ = (id) => document.getElementById(id);
  const base = "/api/v1/rooms/" + ctx.roomId + "/cohost";
  const state = { snapshot: null, mine: null, notice: "", cooldownUntil: 0, timer: null };
  window.lcCohost = state;  // for tests and debugging

  function myId() {
    const me = ctx.me();
    return me ? me.id : null;
  }

  function myPosition() {
    const id = myId();
    const seat = state.snapshot && id !== null ? state.snapshot.queue.find((s) => s.user_id === id) : null;
    return seat ? seat.position : (state.mine ? state.mine.position : null);
  }

  function cooldownLeft() {
    return Math.max(0, Math.ceil((state.cooldownUntil - Date.now()) / 1000));
  }

  function statusText(status) {
    if (state.notice) { return state.notice; }
    if (status === "applied") {
      const position = myPosition();
      return position ? t("applied", { position: position }) : t("applied_waiting");
    }
    const line = text[status] ? t(status) : t("none");
    const left = cooldownLeft();
    return left && !ACTIVE.includes(status) ? line + " " + t("retry", { seconds: left }) : line;
  }

  function renderMine() {
    const status = state.mine ? state.mine.status : "none";
    panel.dataset.status = status;
    const position = status === "applied" ? myPosition() : null;
    panel.dataset.position = position ? String(position) : "";
    $("cohost-status").textContent = statusText(status);
    $("cohost-invite").classList.toggle("hidden", status !== "invited");
    const apply = $("cohost-apply");
    const cancel = $("cohost-cancel");
    if (!apply || !cancel) { return; }
    apply.classList.toggle("hidden", ACTIVE.includes(status));
    apply.disabled = cooldownLeft() > 0;
    cancel.classList.toggle("hidden", status !== "applied" && status !== "accepted");
    cancel.textContent = status === "accepted" ? t("step_down") : t("leave_queue");
  }

  function seatLine(seat) {
    const item = el("li", seat.user_id === myId() ? "cohost-seat mine" : "cohost-seat");
    item.dataset.userId = String(seat.user_id);
    item.appendChild(el("span", "cohost-name", seat.display_name));
    if (seat.tier && seat.tier !== "follower") {
      item.appendChild(el("span", "cohost-tier " + seat.tier, t("tier_" + seat.tier)));
    }
    if (seat.user_id === myId()) { item.appendChild(el("span", "muted", " " + t("you"))); }
    return item;
  }

  function renderLine() {
    const snap = state.snapshot;
    const list = $("cohost-queue");
    list.replaceChildren();
    if (!snap || snap.show_id === null) { $("cohost-seats").textContent = ""; return; }
    $("cohost-seats").textContent = t("seats", { count: snap.cohosts.length, max: snap.max_cohosts })
      + (snap.queue.length ? " · " + t("waiting", { count: snap.queue.length }) : "");
    snap.queue.slice(0, SHOWN_IN_LINE).forEach((seat) => list.appendChild(seatLine(seat)));
  }

  function render() {
    renderLine();
    renderMine();
  }

  function tickCooldown() {
    clearTimeout(state.timer);
    if (cooldownLeft() > 0) {
      state.timer = setTimeout(() => { renderMine(); tickCooldown(); }, 1000);
    }
  }

  function takeMine(mine) {
    if (!mine) { return; }
    state.mine = mine;
    state.notice = "";
    state.cooldownUntil = mine.retry_after ? Date.now() + mine.retry_after * 1000 : 0;
    tickCooldown();
    renderMine();
  }

  function loadMine() {
    if (!ctx.signedIn) { return Promise.resolve(); }
    return getJson(base + "/me").then(takeMine);
  }

  function loadLine() {
    return getJson(base).then((snapshot) => {
      if (snapshot) { state.snapshot = snapshot; render(); }
    });
  }

  function refusal(answer) {
    const body = answer.body || {};
    if (body.code === "cohost_cooldown" && body.retry_after) {
      state.cooldownUntil = Date.now() + body.retry_after * 1000;
      tickCooldown();
      return t("cohost_cooldown", { seconds: body.retry_after });
    }
    return text[body.code] ? t(body.code) : (body.detail || t("error"));
  }

  function act(path, button) {
    if (button) { button.disabled = true; }
    return postJson(base + path).then((answer) => {
      if (button) { button.disabled = false; }
      if (answer.ok) { takeMine(answer.body); loadLine(); return; }
      state.notice = refusal(answer);
      renderMine();
      setTimeout(() => { state.notice = ""; renderMine(); }, 4000);
    });
  }

  const apply = $("cohost-apply");
  if (apply) { apply.addEventListener("click", () => act("/apply", apply)); }
  const cancel = $("cohost-cancel");
  if (cancel) { cancel.addEventListener("click", () => act("/cancel", cancel)); }
  $("cohost-invite-accept").addEventListener("click", (e) => act("/invitation/accept", e.currentTarget));
  $("cohost-invite-decline").addEventListener("click", (e) => act("/invitation/decline", e.currentTarget));

  return {
    handlers: {
      cohost_queue(event) {
        state.snapshot = event;
        render();
      },
      cohost_update(event) {
        if (event.user_id !== myId()) { return; }
        // Mine changed: show it at once, then ask for the details (position, cooldown).
        state.mine = Object.assign({}, state.mine || {}, { status: event.status, request_id: event.request_id });
        state.notice = "";
        renderMine();
        loadMine();
      }
    },
    reload() {
      loadLine();
      loadMine();
    }
  };
}
