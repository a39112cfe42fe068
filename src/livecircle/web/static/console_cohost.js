/* Host console, the co-host (连麦) queue of the live show: the scored line with accept/reject,
 * the co-hosts on stage with remove, open invitations with withdraw, invite by user id.
 * Reads GET /api/v1/rooms/{id}/cohost/queue and reloads whenever the room's socket says
 * cohost_queue or cohost_update (and every REFRESH_MS as a fallback). */

import { duration, el, format, getJson, postJson } from "./kit.js";

const REFRESH_MS = 15000;
const PING_MS = 25000;

const config = JSON.parse(document.getElementById("cohost-console-config").textContent);
const text = config.messages;
const t = (key, values) => format(text[key] || key, values);
const $ = (id) => document.getElementById(id);
const base = "/api/v1/rooms/" + config.roomId + "/cohost";
const board = { data: null, loadedAt: 0, socketOpen: false };
window.lcCohostConsole = board;  // for tests and debugging

function say(message, kind) {
  const node = $("cohost-console-message");
  node.textContent = message || "";
  node.className = kind || "muted";
  node.classList.toggle("hidden", !message);
}

function refusal(body) {
  return text[body.code] ? t(body.code) : (body.detail || text.error);
}

function tierName(tier) { return t("tier_" + tier); }

function button(label, className, onClick) {
  const node = el("button", "btn small " + className, label);
  node.type = "button";
  node.addEventListener("click", () => onClick(node));
  return node;
}

function decide(request, decision) {
  return (node) => {
    node.disabled = true;
    postJson(base + "/requests/" + request.id + "/" + decision).then((answer) => {
      node.disabled = false;
      if (!answer.ok) { say(refusal(answer.body), "error"); }
      load();
    });
  };
}

/** Seconds waited now, from the server's figure at load time. */
function waitedNow(entry) {
  return entry.waited_s + (Date.now() - board.loadedAt) / 1000;
}

function queueRow(entry) {
  const row = el("tr", "cohost-entry");
  row.dataset.requestId = String(entry.id);
  row.dataset.userId = String(entry.user_id);
  row.appendChild(el("td", "cohost-position", String(entry.position)));
  row.appendChild(el("td", "cohost-name", entry.display_name + " · " + entry.user_id));
  row.appendChild(el("td", "cohost-tier " + entry.tier, tierName(entry.tier)));
  row.appendChild(el("td", "cohost-waited", duration(waitedNow(entry))));
  row.appendChild(el("td", "cohost-score", String(Math.round(entry.score + (waitedNow(entry) - entry.waited_s)))));
  const actions = el("td", "row");
  actions.appendChild(button(text.accept, "cohost-accept", decide(entry, "accept")));
  actions.appendChild(button(text.reject, "ghost cohost-reject", decide(entry, "reject")));
  row.appendChild(actions);
  return row;
}

function stageRow(request) {
  const row = el("tr", "cohost-cohost");
  row.dataset.requestId = String(request.id);
  row.dataset.userId = String(request.user_id);
  row.appendChild(el("td", "cohost-name", request.display_name + " · " + request.user_id));
  row.appendChild(el("td", "cohost-tier " + request.tier, tierName(request.tier)));
  const actions = el("td");
  actions.appendChild(button(text.remove, "danger cohost-remove", decide(request, "remove")));
  row.appendChild(actions);
  return row;
}

function invitedItem(request) {
  const item = el("li", "row cohost-invitation");
  item.dataset.requestId = String(request.id);
  item.appendChild(el("span", "", t("invited_user", { name: request.display_name, id: request.user_id })));
  item.appendChild(button(text.withdraw, "ghost cohost-withdraw", decide(request, "remove")));
  return item;
}

function render() {
  const data = board.data;
  if (!data) { return; }
  const live = data.show_id !== null;
  $("cohost-console-state").textContent = live
    ? t("live", { count: data.cohosts.length, max: data.max_cohosts, waiting: data.queue.length })
    : text.not_live;
  $("cohost-queue-table").tBodies[0].replaceChildren(...data.queue.map(queueRow));
  $("cohost-queue-empty").classList.toggle("hidden", data.queue.length > 0);
  $("cohost-stage-table").tBodies[0].replaceChildren(...data.cohosts.map(stageRow));
  $("cohost-stage-empty").classList.toggle("hidden", data.cohosts.length > 0);
  $("cohost-stage-count").textContent = live ? data.cohosts.length + "/" + data.max_cohosts : "";
  $("cohost-invited").replaceChildren(...data.invited.map(invitedItem));
}

function tick() {
  if (!board.data) { return; }
  document.querySelectorAll("#cohost-queue-table tr.cohost-entry").forEach((row) => {
    const entry = board.data.queue.find((e) => String(e.id) === row.dataset.requestId);
    if (!entry) { return; }
    row.querySelector(".cohost-waited").textContent = duration(waitedNow(entry));
    row.querySelector(".cohost-score").textContent = String(Math.round(entry.score + (waitedNow(entry) - entry.waited_s)));
  });
}

let loading = null;
let again = false;

/** One load at a time; a change announced meanwhile loads once more afterwards. */
function load() {
  if (loading) { again = true; return loading; }
  loading = getJson(base + "/queue").then((data) => {
    if (data) { board.data = data; board.loadedAt = Date.now(); render(); }
  }).finally(() => {
    loading = null;
    if (again) { again = false; load(); }
  });
  return loading;
}

function listen(delay) {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/ws/rooms/" + config.roomId);
  let ping = null;
  socket.addEventListener("open", () => {
    board.socketOpen = true;
    delay = 1000;
    ping = setInterval(() => socket.send(JSON.stringify({ op: "ping" })), PING_MS);
  });
  socket.addEventListener("message", (message) => {
    let frame;
    try { frame = JSON.parse(message.data); } catch (_e) { return; }
    const events = frame.events || [];
    if (events.some((e) => e.type === "cohost_queue" || e.type === "cohost_update" || e.type === "hello")) {
      load();
    }
  });
  socket.addEventListener("close", () => {
    board.socketOpen = false;
    clearInterval(ping);
    setTimeout(() => listen(Math.min(delay * 2, 10000)), delay);
  });
}

$("cohost-invite-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("cohost-invite-user");
  const userId = Number(input.value);
  if (!Number.isInteger(userId) || userId < 1) { input.focus(); return; }
  $("cohost-invite-submit").disabled = true;
  postJson(base + "/invite", { user_id: userId }).then((answer) => {
    $("cohost-invite-submit").disabled = false;
    if (answer.ok) {
      input.value = "";
      say(t("invited_ok", { name: answer.body.display_name }), "ok");
    } else {
      say(refusal(answer.body), "error");
    }
    load();
  });
});

load();
listen(1000);
setInterval(load, REFRESH_MS);
setInterval(tick, 1000);
