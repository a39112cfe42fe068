/* Wallet page: balances, today's tipping against the cap, history (local time), and top-ups.
 * A top-up: POST /api/v1/wallet/topups (Idempotency-Key) answers a pending top-up and a pay_url;
 * with the sandbox provider this page plays the checkout (POST <pay_url> {outcome}) and polls
 * GET /api/v1/wallet/topups/{id} until the provider's callback has settled it. */

import { el, format, getJson, newKey, postJson } from "./kit.js";
import { askConsent, needsConsent } from "./consent.js";

const POLL_MS = 300;
const POLL_LIMIT_MS = 15000;

const config = JSON.parse(document.getElementById("wallet-config").textContent);
const text = config.messages;
const t = (key, values) => format(text[key] || key, values);
const $ = (id) => document.getElementById(id);
const wallet = { figures: null, gifts: new Map(), rooms: new Map(), topup: null };
window.lcWallet = wallet;  // for tests and debugging

function number(n) { return Number(n).toLocaleString(document.documentElement.lang || undefined); }

function showFigures(w) {
  wallet.figures = w;
  $("wallet-coins").textContent = number(w.coins);
  $("wallet-points").textContent = number(w.points);
  $("wallet-earned").textContent = number(w.earned_coins);
  if (w.earned_coins > 0) { $("wallet-earned-box").classList.remove("hidden"); }
  $("wallet-today").textContent = t("today", { spent: number(w.spent_today), cap: number(w.daily_cap) });
  $("wallet-today-meter").style.width = Math.min(100, (100 * w.spent_today) / w.daily_cap) + "%";
  $("wallet-reminder").textContent = t("reminder", { threshold: number(w.daily_reminder) });
  $("wallet").setAttribute("aria-busy", "false");
}

/* ---------- history ---------- */

function kindLabel(row) {
  if (row.kind === "gift") { return text["kind_gift_" + row.account] || text.kind_gift_wallet; }
  return text["kind_" + row.kind] || row.kind;  // kinds added later show their code until translated
}

function details(row) {
  const [what, id] = (row.subject || "").split(":");
  if (what === "gift" && wallet.gifts.has(id)) {
    const gift = wallet.gifts.get(id);
    return gift.icon + " " + gift.name;
  }
  if (what === "topup") { return t("topup_detail", { id: id }); }
  return row.subject || "";
}

function amountCell(row) {
  const sign = row.amount > 0 ? "+" : "−";
  const unit = row.currency === "point" ? text.points : text.coins;
  const cell = el("td", "amount " + (row.amount > 0 ? "plus" : "minus"), sign + number(Math.abs(row.amount)) + " " + unit);
  cell.dataset.amount = String(row.amount);
  return cell;
}

function roomCell(row) {
  const cell = el("td");
  if (row.room_id === null) { return cell; }
  const link = el("a", "", wallet.rooms.get(row.room_id) || t("room", { id: row.room_id }));
  link.href = "/rooms/" + row.room_id;
  cell.appendChild(link);
  return cell;
}

function renderHistory(rows) {
  const body = $("history").querySelector("tbody");
  body.textContent = "";
  rows.forEach((row) => {
    const tr = el("tr");
    tr.dataset.kind = row.kind;
    const when = el("td", "", new Date(row.created_at).toLocaleString(document.documentElement.lang || undefined));
    when.title = row.created_at;
    tr.append(when, el("td", "", kindLabel(row)), el("td", "", details(row)), amountCell(row), roomCell(row));
    body.appendChild(tr);
  });
  $("history-empty").classList.toggle("hidden", rows.length > 0);
}

async function loadRoomTitles(rows) {
  const ids = [...new Set(rows.map((r) => r.room_id).filter((id) => id !== null && !wallet.rooms.has(id)))];
  await Promise.all(ids.slice(0, 20).map(async (id) => {
    const room = await getJson("/api/v1/rooms/" + id).catch(() => null);
    if (room) { wallet.rooms.set(id, room.title); }
  }));
}

async function load() {
  const [figures, rows, gifts] = await Promise.all([
    getJson("/api/v1/wallet"),
    getJson("/api/v1/wallet/history?limit=100"),
    wallet.gifts.size ? null : getJson("/api/v1/gifts")
  ]);
  (gifts || []).forEach((gift) => wallet.gifts.set(String(gift.id), gift));
  if (figures) { showFigures(figures); }
  if (rows) {
    await loadRoomTitles(rows);
    renderHistory(rows);
  }
}

/* ---------- top-ups ---------- */

function status(message, kind) {
  const node = $("topup-status");
  node.textContent = message;
  node.className = kind || "muted";
  node.classList.toggle("hidden", !message);
}

function refusal(body) {
  if (body.code === "minor_cannot_pay") { return text.minor_cannot_pay; }
  return body.detail || text.error;
}

async function startTopup(event) {
  event.preventDefault();
  const coins = Number($("topup-coins").value);
  if (!Number.isInteger(coins) || coins < 1) { return; }
  $("topup-start").disabled = true;
  const start = (key) => postJson("/api/v1/wallet/topups", { coins: coins }, { "idempotency-key": key })
    .catch(() => ({ ok: false, body: {} }));
  const key = newKey();
  let answer = await start(key);
  if (!answer.ok && needsConsent(answer.body) && await askConsent(answer.body.purpose)) {
    answer = await start(key);  // the separate payment consent is given: the same top-up again
  }
  $("topup-start").disabled = false;
  if (!answer.ok) { status(refusal(answer.body), "alert"); return; }
  const topup = answer.body;
  wallet.topup = topup;
  status(t("topup_pending", { id: topup.id, coins: number(topup.coins), yuan: (topup.amount_cents / 100).toFixed(2) }));
  if (topup.provider === "sandbox") {
    $("sandbox").classList.remove("hidden");
  } else if (topup.pay_url) {
    const link = el("a", "btn small", text.topup_open);
    link.href = topup.pay_url;
    $("topup-status").append(" ", link);
  }
}

async function payInSandbox(outcome) {
  const topup = wallet.topup;
  if (!topup) { return; }
  $("sandbox").classList.add("hidden");
  // The pay URL is absolute (the provider's base URL); the page calls it on its own origin.
  const path = new URL(topup.pay_url, location.href).pathname;
  const answer = await postJson(path, { outcome: outcome }).catch(() => ({ ok: false, body: {} }));
  if (!answer.ok) { status(refusal(answer.body), "alert"); return; }
  const settled = await settle(topup.id);
  if (settled && settled.status === "paid") {
    status(t("topup_paid", { coins: number(settled.coins) }), "alert ok");
  } else if (settled && settled.status === "failed") {
    status(text.topup_failed, "alert");
  } else {
    status(text.topup_slow);
  }
  wallet.topup = null;
  await load();
}

async function settle(id) {
  const until = Date.now() + POLL_LIMIT_MS;
  while (Date.now() < until) {
    const topup = await getJson("/api/v1/wallet/topups/" + id).catch(() => null);
    if (topup && topup.status !== "pending") { return topup; }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return null;
}

$("topup-form").addEventListener("submit", startTopup);
document.querySelectorAll("[data-coins]").forEach((button) => {
  button.addEventListener("click", () => { $("topup-coins").value = button.dataset.coins; });
});
$("sandbox-pay").addEventListener("click", () => payInSandbox("success"));
$("sandbox-fail").addEventListener("click", () => payInSandbox("failure"));
load();
