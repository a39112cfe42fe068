/* Points & level page: the daily check-in and streak freezes, the points balance and today's
 * earnings against each rule's cap, level/tier/badges, and the points store with my redemptions.
 * Everything comes from the JSON API; each write (a freeze, a redemption) sends a fresh
 * Idempotency-Key per click, and every answer reloads the figures it changed. */

import { el, format, getJson, newKey, postJson } from "./kit.js";

const config = JSON.parse(document.getElementById("points-config").textContent);
const text = config.messages;
const t = (key, values) => format(text[key] || key, values);
const $ = (id) => document.getElementById(id);
const state = { checkin: null, points: null, level: null, items: [], redemptions: [] };
window.lcPoints = state;  // for tests and debugging

const lang = () => document.documentElement.lang || undefined;
function number(n) { return Number(n).toLocaleString(lang()); }
// API days are UTC dates ("2026-11-26"): shown as that date, whatever the local zone.
function day(iso) { return new Date(iso + "T00:00:00Z").toLocaleDateString(lang(), { timeZone: "UTC" }); }

function say(id, message, kind) {
  const node = $(id);
  node.textContent = message || "";
  node.className = kind || "muted";
  node.classList.toggle("hidden", !message);
}

/* ---------- check-in ---------- */

function showCheckIn(c) {
  state.checkin = c;
  const button = $("checkin-button");
  button.disabled = c.checked_in_today;
  button.textContent = c.checked_in_today ? text.checked_in : button.dataset.label;
  $("checkin-today").textContent = t(c.checked_in_today ? "today_paid" : "today_pays", { points: number(c.today_points) });
  $("checkin-streak").textContent = t("days", { days: number(c.streak) });
  $("checkin-streak").dataset.streak = String(c.streak);
  $("checkin-best").textContent = t("days", { days: number(c.best_streak) });
  $("checkin-freezes").textContent = t("freezes", { held: c.freezes, max: c.freeze_max });
  $("checkin-freezes").dataset.freezes = String(c.freezes);
  $("checkin").setAttribute("aria-busy", "false");
}

async function checkIn() {
  $("checkin-button").disabled = true;
  const answer = await postJson("/api/v1/checkin", {}).catch(() => ({ ok: false, body: {} }));
  if (!answer.ok) {
    say("checkin-message", answer.body.detail || text.error, "alert");
    $("checkin-button").disabled = false;
    return;
  }
  say("checkin-message", t("checkin_done", { points: number(answer.body.points) }), "alert ok");
  await load();
}

function freezeRefusal(body) {
  if (body.code === "freeze_limit_reached") {
    return t("freeze_limit_reached", { max: body.freeze_max ?? (state.checkin || {}).freeze_max });
  }
  if (body.code === "insufficient_balance") { return t("freeze_insufficient_balance", { price: number(config.freeze_price) }); }
  return body.detail || text.error;
}

async function buyFreeze() {
  $("freeze-buy").disabled = true;
  const answer = await postJson("/api/v1/checkin/freezes", {}, { "idempotency-key": newKey() })
    .catch(() => ({ ok: false, body: {} }));
  $("freeze-buy").disabled = false;
  if (answer.ok) {
    say("freeze-message", t("freeze_bought", { held: answer.body.freezes }), "alert ok");
  } else {
    say("freeze-message", freezeRefusal(answer.body), "alert");
  }
  await load();
}

/* ---------- points ---------- */

function todayRow(rule) {
  const tr = el("tr");
  tr.dataset.rule = rule.rule;
  const cell = el("td", "amount");
  const values = { earned: number(rule.earned), cap: number(rule.daily_cap) };
  cell.append(el("span", "", t(rule.daily_cap === null ? "earned_no_cap" : "earned_of_cap", values)));
  if (rule.daily_cap) {
    const meter = el("span", "meter");
    const bar = el("span");
    bar.style.width = Math.min(100, (100 * rule.earned) / rule.daily_cap) + "%";
    meter.appendChild(bar);
    cell.appendChild(meter);
  }
  tr.append(el("td", "", text["rule_" + rule.rule] || rule.rule), cell);
  return tr;
}

function showPoints(p) {
  state.points = p;
  $("points-balance").textContent = number(p.balance);
  $("points-balance").dataset.balance = String(p.balance);
  const body = $("points-today").querySelector("tbody");
  body.textContent = "";
  p.today.forEach((rule) => body.appendChild(todayRow(rule)));
  const list = $("points-expiring").querySelector("ul");
  list.textContent = "";
  p.expiring.forEach((e) => list.appendChild(el("li", "", t("expiring", { points: number(e.points), day: day(e.day) }))));
  $("points-expiring").classList.toggle("hidden", p.expiring.length === 0);
  $("points").setAttribute("aria-busy", "false");
}

/* ---------- level, tier, badges ---------- */

function showXp(l) {
  const top = l.next_level_xp === null;
  $("level-xp").textContent = top ? t("xp_top", { xp: number(l.xp) }) : t("xp", { xp: number(l.xp), next: number(l.next_level_xp) });
  const share = top ? 1 : (l.xp - l.level_xp) / (l.next_level_xp - l.level_xp);
  $("level-meter").style.width = Math.max(0, Math.min(100, 100 * share)) + "%";
  $("level-next").textContent = top ? "" : t("xp_left", { left: number(l.next_level_xp - l.xp), level: l.level + 1 });
}

function chips(id, rows, render) {
  const list = $(id);
  list.textContent = "";
  rows.forEach((row) => list.appendChild(render(row)));
  $(id + "-empty").classList.toggle("hidden", rows.length > 0);
}

function showLevel(l) {
  state.level = l;
  $("level-number").textContent = t("level", { level: l.level });
  $("level-number").dataset.level = String(l.level);
  showXp(l);
  $("tier-name").textContent = text["tier_" + l.tier] || l.tier;
  $("tier-name").dataset.tier = l.tier;
  const until = $("premium-until");
  until.textContent = l.premium_until ? t("premium_until", { date: new Date(l.premium_until).toLocaleDateString(lang()) }) : "";
  until.classList.toggle("hidden", !l.premium_until);
  chips("privileges", l.privileges, (code) => {
    const chip = el("li", "chip", text["privilege_" + code] || code);
    chip.dataset.privilege = code;
    return chip;
  });
  chips("badges", l.badges, (badge) => {
    const chip = el("li", "chip");
    chip.dataset.badge = badge.code;
    chip.title = new Date(badge.awarded_at).toLocaleString(lang());
    chip.append(el("span", "chip-icon", badge.icon), el("span", "chip-name", badge.name));
    return chip;
  });
  $("level").setAttribute("aria-busy", "false");
}

/* ---------- the points store ---------- */

function redeemedCount(itemId) { return state.redemptions.filter((r) => r.item_id === itemId).length; }

function itemCard(item) {
  const card = el("li", "store-item");
  card.dataset.itemId = String(item.id);
  const head = el("div", "store-head");
  head.append(el("strong", "store-name", item.name), el("span", "badge", text["kind_" + item.kind] || item.kind));
  const stock = el("span", "store-stock", t("stock", { stock: number(item.stock) }));
  stock.dataset.stock = String(item.stock);
  const limit = item.per_user_limit === null
    ? text.no_limit
    : t("limit", { limit: item.per_user_limit, mine: redeemedCount(item.id) });
  const button = el("button", "btn small store-redeem", item.stock > 0 ? text.redeem : text.sold_out);
  button.type = "button";
  button.disabled = item.stock < 1;
  button.addEventListener("click", () => redeem(item, button));
  card.append(
    head,
    el("p", "store-desc muted small", item.description),
    el("span", "store-cost amount", t("cost", { cost: number(item.cost) })),
    stock,
    el("span", "store-limit muted small", limit),
    button
  );
  return card;
}

function showStore(items) {
  state.items = items;
  const list = $("store-items");
  list.textContent = "";
  items.forEach((item) => list.appendChild(itemCard(item)));
  $("store-empty").classList.toggle("hidden", items.length > 0);
}

function redemptionRow(r) {
  const item = state.items.find((i) => i.id === r.item_id);
  const tr = el("tr");
  tr.dataset.itemId = String(r.item_id);
  const when = el("td", "", new Date(r.created_at).toLocaleString(lang()));
  when.title = r.created_at;
  tr.append(
    when,
    el("td", "", item ? item.name : t("item", { id: r.item_id })),
    el("td", "", text["kind_" + r.kind] || r.kind),
    el("td", "amount minus", "−" + number(r.cost) + " " + text.points)
  );
  return tr;
}

function showRedemptions(rows) {
  state.redemptions = rows;
  const body = $("redemptions").querySelector("tbody");
  body.textContent = "";
  rows.forEach((r) => body.appendChild(redemptionRow(r)));
  $("redemptions-empty").classList.toggle("hidden", rows.length > 0);
}

function redeemRefusal(item, body) {
  const values = { name: item.name, cost: number(item.cost), limit: body.per_user_limit ?? item.per_user_limit };
  if (["out_of_stock", "redeem_limit_reached", "insufficient_balance"].includes(body.code)) {
    return t(body.code, values);
  }
  return body.detail || text.error;
}

async function redeem(item, button) {
  button.disabled = true;
  const url = "/api/v1/points/store/" + item.id + "/redeem";
  const answer = await postJson(url, {}, { "idempotency-key": newKey() }).catch(() => ({ ok: false, body: {} }));
  if (answer.ok) {
    say("store-message", t("redeemed", { name: item.name, cost: number(item.cost) }), "alert ok");
  } else {
    say("store-message", redeemRefusal(item, answer.body), "alert");
  }
  await load();  // balance, stock and my redemptions (also after a refusal: the stock may have moved)
}

async function load() {
  const [checkin, points, level, items, redemptions] = await Promise.all([
    getJson("/api/v1/checkin"),
    getJson("/api/v1/points"),
    getJson("/api/v1/me/level"),
    getJson("/api/v1/points/store"),
    getJson("/api/v1/points/redemptions")
  ]);
  if (checkin) { showCheckIn(checkin); }
  if (points) { showPoints(points); }
  if (level) { showLevel(level); }
  if (redemptions) { state.redemptions = redemptions; }
  if (items) { showStore(items); }
  if (redemptions) { showRedemptions(redemptions); }
  $("store").setAttribute("aria-busy", "false");
}

$("checkin-button").dataset.label = $("checkin-button").textContent;
$("checkin-button").addEventListener("click", checkIn);
$("freeze-buy").addEventListener("click", buyFreeze);
load();
