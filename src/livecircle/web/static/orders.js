/* My orders: every order with its state, amounts and live-price badge; an unpaid order can be
 * paid (POST /orders/{id}/payments; with the sandbox provider this page plays its checkout by
 * POSTing the outcome to the pay URL; the order turns "paid" when the provider's signed callback
 * has come, so the page polls it) or cancelled.
 * Below, my coupons, and the member-only coupons on offer with a claim button (GET
 * /coupon-templates/claimable; claiming is POST /coupon-templates/{id}/claim). Product names
 * come with the page (config.names). */

import { el, format, getJson, postJson, yuan } from "./kit.js";
import { askConsent, needsConsent } from "./consent.js";

const POLL_MS = 300;
const POLL_LIMIT_MS = 15000;

const config = JSON.parse(document.getElementById("orders-config").textContent);
const text = config.messages;
const t = (key, values) => format(text[key] || key, values);
const $ = (id) => document.getElementById(id);
const page = { orders: [], coupons: [], claimable: [], paying: null };
window.lcOrders = page;  // for tests and debugging

const lang = () => document.documentElement.lang || undefined;
const when = (iso) => new Date(iso).toLocaleString(lang());

function say(message, kind) {
  const node = $("orders-message");
  node.textContent = message || "";
  node.className = kind || "muted";
  node.classList.toggle("hidden", !message);
}

/* ---------- orders ---------- */

function productCell(order) {
  const product = config.names[String(order.product_id)];
  const sku = product ? product.skus[String(order.sku_id)] : null;
  const cell = el("td", "", product ? product.name + (sku ? " · " + sku : "") : t("product", { id: order.product_id }));
  if (order.flash_sale_id) { cell.append(" ", el("span", "flash-badge", text.flash_sale)); }
  return cell;
}

function amountCell(order) {
  const cell = el("td", "amount");
  cell.dataset.total = String(order.total_cents);
  cell.appendChild(el("strong", "order-total", yuan(order.total_cents)));
  if (order.live_price) { cell.append(" ", el("span", "live-badge", text.live_price)); }
  if (order.discount_cents) { cell.appendChild(el("div", "muted small", t("discount", { amount: yuan(order.discount_cents) }))); }
  return cell;
}

function statusCell(order) {
  const cell = el("td");
  cell.appendChild(el("span", "order-status " + order.status, text["status_" + order.status] || order.status));
  if (order.cancel_reason && text["reason_" + order.cancel_reason]) {
    cell.appendChild(el("div", "muted small", text["reason_" + order.cancel_reason]));
  }
  if (order.status === "created") {
    cell.appendChild(el("div", "muted small", t("pay_before", { time: when(order.expires_at) })));
  }
  return cell;
}

function actionsCell(order) {
  const cell = el("td");
  if (order.status !== "created") { return cell; }
  const actions = el("div", "order-actions");
  const pay = el("button", "btn small order-pay", text.pay);
  pay.type = "button";
  actions.appendChild(pay);
  const cancel = el("button", "btn small ghost order-cancel", text.cancel);
  cancel.type = "button";
  actions.appendChild(cancel);
  cell.appendChild(actions);
  return cell;
}

function renderOrders(rows) {
  const body = $("order-table").querySelector("tbody");
  body.textContent = "";
  rows.forEach((order) => {
    const tr = el("tr");
    tr.dataset.orderId = String(order.id);
    tr.dataset.status = order.status;
    const created = el("td", "", when(order.created_at));
    created.title = order.created_at;
    tr.append(el("td", "", "#" + order.id), created, productCell(order), el("td", "", "×" + order.quantity),
      amountCell(order), statusCell(order), actionsCell(order));
    body.appendChild(tr);
  });
  $("orders-empty").classList.toggle("hidden", rows.length > 0);
}

async function loadOrders() {
  const rows = await getJson("/api/v1/orders").catch(() => null);
  if (rows) {
    page.orders = rows;
    renderOrders(rows);
  }
  $("orders").setAttribute("aria-busy", "false");
}

/* ---------- coupons ---------- */

function couponValue(coupon) {
  if (coupon.kind === "percent") {
    return t("coupon_percent", { percent: coupon.percent_off + "%", rate: String((100 - coupon.percent_off) / 10) });
  }
  return t("coupon_fixed", { amount: yuan(coupon.amount_off_cents) });
}

function renderCoupons(rows) {
  const body = $("coupon-table").querySelector("tbody");
  body.textContent = "";
  rows.forEach((coupon) => {
    const tr = el("tr");
    tr.dataset.couponId = String(coupon.id);
    tr.dataset.state = coupon.state;
    const rule = coupon.min_spend_cents ? t("coupon_min_spend", { amount: yuan(coupon.min_spend_cents) }) : text.coupon_no_min;
    const state = el("td");
    state.appendChild(el("span", "coupon-state " + coupon.state, text["coupon_" + coupon.state] || coupon.state));
    tr.append(
      el("td", "", coupon.name),
      el("td", "amount", couponValue(coupon)),
      el("td", "", rule),
      el("td", "", text["source_" + coupon.source] || coupon.source),
      el("td", "", coupon.expires_at ? when(coupon.expires_at) : text.no_expiry),
      state
    );
    body.appendChild(tr);
  });
  $("coupons-empty").classList.toggle("hidden", rows.length > 0);
}

async function loadCoupons() {
  const rows = await getJson("/api/v1/coupons").catch(() => null);
  if (rows) {
    page.coupons = rows;
    renderCoupons(rows);
  }
  $("coupons").setAttribute("aria-busy", "false");
}

/* ---------- member-only coupons to claim ---------- */

const CLAIM_ERRORS = {
  coupons_gone: "claim_gone",
  coupon_limit_reached: "claim_limit",
  coupon_not_claimable: "claim_not_claimable",
  coupon_not_applicable: "claim_closed",
  coupon_not_found: "claim_closed"
};

function claimLabel(template) {
  if (template.held >= template.per_user) { return text.claimed; }
  if (template.total !== null && template.issued >= template.total) { return text.all_claimed; }
  return template.eligible ? text.claim : text.members_only;
}

function renderClaimable(rows) {
  const list = $("claimable-list");
  list.textContent = "";
  rows.forEach((template) => {
    const item = el("li", "claimable-coupon");
    item.dataset.templateId = String(template.id);
    const rule = template.min_spend_cents ? t("coupon_min_spend", { amount: yuan(template.min_spend_cents) }) : text.coupon_no_min;
    const about = el("span", "claimable-body");
    about.append(el("strong", "", template.name), " · ", el("span", "claimable-value", couponValue(template)), " ",
      el("span", "muted small", rule + (template.product_id ? " · " + text.one_product : "")));
    const button = el("button", "btn small claimable-claim", claimLabel(template));
    button.type = "button";
    button.disabled = claimLabel(template) !== text.claim;
    item.append(about, button);
    list.appendChild(item);
  });
  $("claimable").classList.toggle("hidden", rows.length === 0);
}

async function loadClaimable() {
  const rows = await getJson("/api/v1/coupon-templates/claimable").catch(() => null);
  if (rows) {
    page.claimable = rows;
    renderClaimable(rows);
  }
}

function claimMessage(message, kind) {
  const node = $("claimable-message");
  node.textContent = message;
  node.className = kind || "muted";
  node.classList.toggle("hidden", !message);
}

async function claim(templateId, button) {
  button.disabled = true;
  const answer = await postJson("/api/v1/coupon-templates/" + templateId + "/claim", {})
    .catch(() => ({ ok: false, body: { code: "network" } }));
  const code = answer.body.code;
  if (answer.ok) {
    claimMessage(text.claim_ok, "alert ok");
  } else {
    claimMessage(CLAIM_ERRORS[code] ? text[CLAIM_ERRORS[code]] : answer.body.detail || text.error, "alert");
  }
  await Promise.all([loadCoupons(), loadClaimable()]);
}

$("claimable-list").addEventListener("click", (event) => {
  const button = event.target.closest(".claimable-claim");
  const item = button && button.closest(".claimable-coupon");
  if (item && !button.disabled) { claim(Number(item.dataset.templateId), button); }
});

/* ---------- paying and cancelling ---------- */

function openSandbox(order) {
  page.paying = order;
  $("order-sandbox-title").textContent = t("sandbox_title", { id: order.id, total: yuan(order.total_cents) });
  $("order-sandbox").classList.remove("hidden");
  buttons(true);
}

function closeSandbox() {
  page.paying = null;
  $("order-sandbox").classList.add("hidden");
}

function buttons(enabled) {
  $("order-pay-success").disabled = !enabled;
  $("order-pay-fail").disabled = !enabled;
}

function refusal(body) {
  return body.code === "order_state_conflict" ? text.err_state : body.detail || text.error;
}

async function pay(outcome) {
  const order = page.paying;
  if (!order) { return; }
  buttons(false);
  say(text.paying);
  const start = () => postJson("/api/v1/orders/" + order.id + "/payments", {}).catch(() => ({ ok: false, body: {} }));
  let started = await start();
  if (!started.ok && needsConsent(started.body) && await askConsent(started.body.purpose)) {
    started = await start();  // the separate payment consent is given: pay again
  }
  if (!started.ok) { say(refusal(started.body), "alert"); buttons(true); return; }
  if (started.body.provider !== "sandbox") { location.href = started.body.pay_url; return; }  // a real checkout
  // The pay URL is absolute (the provider's base URL); the page calls it on its own origin.
  const path = new URL(started.body.pay_url, location.href).pathname;
  const sent = await postJson(path, { outcome: outcome }).catch(() => ({ ok: false, body: {} }));
  if (!sent.ok) { say(refusal(sent.body), "alert"); buttons(true); return; }
  const settled = await settle(order.id, outcome === "success");
  if (settled && settled.status === "paid") {
    closeSandbox();
    say(t("paid", { id: order.id }), "alert ok");
  } else if (outcome === "failure") {
    say(text.pay_failed, "alert");
    setTimeout(() => buttons(true), 1000);  // the failure's callback settles first
  } else {
    say(text.pay_slow);
    buttons(true);
  }
  await loadOrders();
}

async function settle(id, success) {
  const until = Date.now() + (success ? POLL_LIMIT_MS : 1200);
  let order = null;
  while (Date.now() < until) {
    order = await getJson("/api/v1/orders/" + id).catch(() => null);
    if (order && order.status !== "created") { return order; }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return order;
}

async function cancel(order, button) {
  button.disabled = true;
  const answer = await postJson("/api/v1/orders/" + order.id + "/cancel", {}).catch(() => ({ ok: false, body: {} }));
  if (answer.ok) {
    if (page.paying && page.paying.id === order.id) { closeSandbox(); }
    say(t("cancelled", { id: order.id }), "alert ok");
  } else {
    say(refusal(answer.body), "alert");
  }
  await Promise.all([loadOrders(), loadCoupons()]);
}

$("order-table").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  const row = button && button.closest("tr");
  const order = row && page.orders.find((o) => String(o.id) === row.dataset.orderId);
  if (!order) { return; }
  if (button.classList.contains("order-pay")) { openSandbox(order); }
  if (button.classList.contains("order-cancel")) { cancel(order, button); }
});
$("order-pay-success").addEventListener("click", () => pay("success"));
$("order-pay-fail").addEventListener("click", () => pay("failure"));
$("order-pay-close").addEventListener("click", closeSandbox);
loadOrders();
loadCoupons();
loadClaimable();
