/* Host console, live shopping for the room's current show: attach products at live prices, pin
 * and unpin cards (countdown 0/5/10/20/30 s, at most 3 at once), start and end flash sales, drop
 * coupons, and read the show's funnel and orders. Everything goes through the JSON API; the page
 * only brings the catalogue and the droppable coupons (config), which hosts cannot list there. */

import { duration, el, format, getJson, postJson, sendJson, serverClock, yuan } from "./kit.js";

const REFRESH_MS = 10000;
const TICK_MS = 500;

const config = JSON.parse(document.getElementById("shop-console-config").textContent);
const text = config.messages;
const t = (key, values) => format(text[key] || key, values);
const $ = (id) => document.getElementById(id);
const base = "/api/v1/shows/" + config.showId;
const clock = serverClock();
const console_ = { products: [], pins: [], sales: [], funnel: null, orders: [] };
window.lcShopConsole = console_;  // for tests and debugging

function say(id, message, kind) {
  const node = $(id);
  node.textContent = message || "";
  node.className = kind || "muted";
  node.classList.toggle("hidden", !message);
}

function refusal(body) { return body.detail || text.error; }

/** "69.00" → 6900; "" → null; anything else → NaN. */
function cents(value) {
  const clean = String(value).trim().replace(/^¥/, "");
  if (!clean) { return null; }
  if (!/^\d+(\.\d{1,2})?$/.test(clean)) { return NaN; }
  return Math.round(Number(clean) * 100);
}

function productName(productId) {
  const found = console_.products.find((p) => p.product_id === productId)
    || config.products.find((p) => p.id === productId);
  return found ? found.name : t("product", { id: productId });
}

function offerName(skuId) {
  for (const product of console_.products) {
    const offer = product.offers.find((o) => o.sku_id === skuId);
    if (offer) { return product.name + " · " + offer.name; }
  }
  return "#" + skuId;
}

/* ---------- products in the show, pinning ---------- */

function offerLine(offer) {
  const line = el("div", "offer-line");
  line.dataset.skuId = String(offer.sku_id);
  line.appendChild(el("span", "", offer.name + " "));
  line.appendChild(el("strong", "amount", yuan(offer.price_cents)));
  if (offer.live_price) {
    line.append(" ", el("span", "live-badge", text.live_price), " ", el("s", "muted", yuan(offer.list_price_cents)));
  }
  line.append(" ", el("span", "muted small", t("stock", { stock: offer.stock })));
  return line;
}

function renderProducts() {
  const body = $("show-products").querySelector("tbody");
  body.textContent = "";
  const pinned = new Set(console_.pins.map((pin) => pin.product_id));
  console_.products.forEach((product) => {
    const tr = el("tr");
    tr.dataset.productId = String(product.product_id);
    const offers = el("td");
    product.offers.forEach((offer) => offers.appendChild(offerLine(offer)));
    const actions = el("div", "show-product-actions");
    const pin = el("button", "btn small pin-product", pinned.has(product.product_id) ? text.pinned : text.pin);
    pin.type = "button";
    pin.disabled = pinned.has(product.product_id);
    const remove = el("button", "btn small ghost detach-product", text.remove);
    remove.type = "button";
    actions.append(pin, remove);
    const cell = el("td");
    cell.appendChild(actions);
    tr.append(el("td", "", product.name), offers, cell);
    body.appendChild(tr);
  });
  $("show-products-empty").classList.toggle("hidden", console_.products.length > 0);
  fillFlashSkus();
}

async function pin(productId) {
  const countdown = Number($("pin-countdown").value);
  const answer = await postJson(base + "/pins", { product_id: productId, countdown_s: countdown })
    .catch(() => ({ ok: false, body: {} }));
  if (answer.ok) {
    say("pin-message", "");
  } else if (answer.body.code === "too_many_pins") {
    say("pin-message", text.too_many_pins, "alert");
  } else if (answer.body.code === "not_on_sale") {
    say("pin-message", text.not_on_sale, "alert");
  } else {
    say("pin-message", refusal(answer.body), "alert");
  }
  await loadPins();
}

async function detach(productId) {
  const answer = await sendJson("DELETE", base + "/products/" + productId).catch(() => ({ ok: false, body: {} }));
  say("pin-message", answer.ok ? t("removed", { name: productName(productId) }) : refusal(answer.body), answer.ok ? "alert ok" : "alert");
  await loadProducts();
}

$("show-products").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  const row = button && button.closest("tr");
  if (!row) { return; }
  const productId = Number(row.dataset.productId);
  if (button.classList.contains("pin-product")) { button.disabled = true; pin(productId); }
  if (button.classList.contains("detach-product")) { detach(productId); }
});

/* ---------- pinned cards ---------- */

function renderPins() {
  const list = $("pinned-cards");
  list.textContent = "";
  console_.pins.forEach((card) => {
    const li = el("li", "pinned-card");
    li.dataset.pinId = String(card.pin_id);
    li.appendChild(el("strong", "", card.name));
    li.appendChild(el("span", "muted small pinned-card-state"));
    const unpin = el("button", "btn small ghost unpin-card", text.unpin);
    unpin.type = "button";
    li.appendChild(unpin);
    list.appendChild(li);
  });
  $("pinned-empty").classList.toggle("hidden", console_.pins.length > 0);
  $("pin-count").textContent = t("pin_count", { count: console_.pins.length });
  tick();
}

async function loadPins() {
  const pins = await getJson(base + "/pins").catch(() => null);
  if (!pins) { return; }
  pins.forEach((card) => clock.sync(card.server_now));
  console_.pins = pins;
  renderPins();
  renderProducts();
}

$("pinned-cards").addEventListener("click", async (event) => {
  const button = event.target.closest(".unpin-card");
  const li = button && button.closest("li");
  if (!li) { return; }
  button.disabled = true;
  const answer = await sendJson("DELETE", base + "/pins/" + li.dataset.pinId).catch(() => ({ ok: false, body: {} }));
  say("pin-message", answer.ok ? "" : refusal(answer.body), "alert");
  await loadPins();
});

/* ---------- attaching products at live prices ---------- */

function renderAttachPrices() {
  const select = $("attach-product");
  if (!select) { return; }
  const product = config.products.find((p) => String(p.id) === select.value);
  const body = $("attach-prices").querySelector("tbody");
  body.textContent = "";
  (product ? product.skus : []).forEach((sku) => {
    const tr = el("tr");
    const input = el("input", "attach-live-price");
    input.dataset.skuId = String(sku.id);
    input.inputMode = "decimal";
    input.size = 8;
    input.placeholder = (sku.price_cents / 100).toFixed(2);
    input.setAttribute("aria-label", sku.name);
    const cell = el("td");
    cell.appendChild(input);
    tr.append(el("td", "", sku.name), el("td", "amount", yuan(sku.price_cents)), cell);
    body.appendChild(tr);
  });
}

async function attach(event) {
  event.preventDefault();
  const productId = Number($("attach-product").value);
  const prices = [];
  for (const input of document.querySelectorAll(".attach-live-price")) {
    const value = cents(input.value);
    if (Number.isNaN(value)) { say("attach-message", text.live_price_invalid, "alert"); return; }
    prices.push({ sku_id: Number(input.dataset.skuId), live_price_cents: value });
  }
  $("attach-submit").disabled = true;
  const answer = await sendJson("PUT", base + "/products", { product_id: productId, prices: prices })
    .catch(() => ({ ok: false, body: {} }));
  $("attach-submit").disabled = false;
  const name = (config.products.find((p) => p.id === productId) || {}).name;
  say("attach-message", answer.ok ? t("attached", { name: name }) : refusal(answer.body), answer.ok ? "alert ok" : "alert");
  await loadProducts();
}

if ($("attach-form")) {
  $("attach-product").addEventListener("change", renderAttachPrices);
  $("attach-form").addEventListener("submit", attach);
  renderAttachPrices();
}

async function loadProducts() {
  const products = await getJson(base + "/products").catch(() => null);
  if (!products) { return; }
  console_.products = products;
  renderProducts();
}

/* ---------- flash sales ---------- */

function fillFlashSkus() {
  const select = $("flash-sku");
  const keep = select.value;
  select.textContent = "";
  console_.products.forEach((product) => product.offers.forEach((offer) => {
    const option = el("option", "", product.name + " · " + offer.name + " (" + t("stock", { stock: offer.stock }) + ")");
    option.value = String(offer.sku_id);
    select.appendChild(option);
  }));
  if (keep) { select.value = keep; }
  $("flash-submit").disabled = !select.options.length;
}

function saleState(sale) {
  const now = clock.now();
  if (sale.state === "ended" || now >= Date.parse(sale.ends_at)) { return "ended"; }
  if (now < Date.parse(sale.starts_at)) { return "upcoming"; }
  return sale.stock_left > 0 ? "open" : "sold_out";
}

function saleStatus(sale) {
  const state = saleState(sale);
  const now = clock.now();
  if (state === "upcoming") { return t("state_upcoming", { time: duration((Date.parse(sale.starts_at) - now) / 1000) }); }
  if (state === "open") { return t("state_open", { time: duration((Date.parse(sale.ends_at) - now) / 1000) }); }
  return text["state_" + state];
}

function renderSales() {
  const body = $("flash-table").querySelector("tbody");
  body.textContent = "";
  console_.sales.slice().reverse().forEach((sale) => {
    const tr = el("tr");
    tr.dataset.saleId = String(sale.sale_id);
    const actions = el("td");
    if (saleState(sale) !== "ended") {
      const end = el("button", "btn small danger end-sale", text.end);
      end.type = "button";
      actions.appendChild(end);
    }
    tr.append(el("td", "", offerName(sale.sku_id)), el("td", "amount", yuan(sale.price_cents)),
      el("td", "flash-left", sale.stock_left + " / " + sale.stock_total), el("td", "flash-status", saleStatus(sale)), actions);
    tr.dataset.state = saleState(sale);
    body.appendChild(tr);
  });
}

async function loadSales() {
  const sales = await getJson(base + "/flash-sales").catch(() => null);
  if (!sales) { return; }
  sales.forEach((sale) => clock.sync(sale.server_now));
  console_.sales = sales;
  renderSales();
}

function flashBody() {
  const body = {
    sku_id: Number($("flash-sku").value),
    price_cents: cents($("flash-price").value),
    stock: Number($("flash-stock").value),
    per_user_limit: Number($("flash-limit").value),
    duration_s: Number($("flash-duration").value)
  };
  const delay = Number($("flash-start").value);
  if (delay > 0) { body.starts_at = new Date(clock.now() + delay * 1000).toISOString(); }
  return body;
}

async function startSale(event) {
  event.preventDefault();
  const body = flashBody();
  if (body.price_cents === null || Number.isNaN(body.price_cents)) { say("flash-message", text.flash_invalid, "alert"); return; }
  $("flash-submit").disabled = true;
  const answer = await postJson(base + "/flash-sales", body).catch(() => ({ ok: false, body: {} }));
  $("flash-submit").disabled = false;
  if (answer.ok) {
    clock.sync(answer.body.server_now);
    const wait = (Date.parse(answer.body.starts_at) - clock.now()) / 1000;
    say("flash-message", wait > 1 ? t("flash_scheduled", { time: duration(wait) }) : text.flash_started, "alert ok");
  } else if (answer.body.code === "sold_out") {
    say("flash-message", t("flash_sold_out", { stock: answer.body.stock }), "alert");
  } else if (answer.status === 422 || answer.body.code === "bad_request") {
    say("flash-message", text.flash_invalid, "alert");
  } else {
    say("flash-message", refusal(answer.body), "alert");
  }
  await Promise.all([loadSales(), loadProducts()]);
}

$("flash-form").addEventListener("submit", startSale);
$("flash-table").addEventListener("click", async (event) => {
  const button = event.target.closest(".end-sale");
  const row = button && button.closest("tr");
  if (!row) { return; }
  button.disabled = true;
  const answer = await postJson("/api/v1/flash-sales/" + row.dataset.saleId + "/end", {}).catch(() => ({ ok: false, body: {} }));
  say("flash-message", answer.ok ? text.flash_ended : refusal(answer.body), answer.ok ? "alert ok" : "alert");
  await Promise.all([loadSales(), loadProducts()]);
});

/* ---------- coupon drops ---------- */

if ($("drop-form")) {
  $("drop-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("drop-submit").disabled = true;
    const answer = await postJson(base + "/coupon-drops", { template_id: Number($("drop-template").value) })
      .catch(() => ({ ok: false, body: {} }));
    $("drop-submit").disabled = false;
    if (answer.ok) {
      say("drop-message", text.dropped, "alert ok");
    } else {
      say("drop-message", answer.body.code === "coupon_not_applicable" ? text.drop_refused : refusal(answer.body), "alert");
    }
  });
}

/* ---------- funnel and orders ---------- */

function percent(ratio) { return ratio === null || ratio === undefined ? "–" : (ratio * 100).toFixed(1) + "%"; }

function renderFunnel(funnel) {
  document.querySelectorAll(".funnel-step").forEach((node) => {
    const count = funnel.steps[node.dataset.step];
    node.querySelector("strong").textContent = String(count === undefined ? "–" : count);
    node.dataset.count = String(count);
  });
  $("funnel-click-to-order").querySelector("strong").textContent = percent(funnel.click_to_order);
  $("funnel-payment-success").querySelector("strong").textContent = percent(funnel.payment_success);
  $("funnel-settled").textContent = t("settled", { count: funnel.payments_settled });
  const list = $("funnel-definitions");
  list.textContent = "";
  Object.keys(funnel.definitions).forEach((key) => {
    list.appendChild(el("dt", "", text["label_" + key] || key));
    list.appendChild(el("dd", "", text["def_" + key] || funnel.definitions[key]));  // the API's words until translated
  });
}

function renderOrders(orders) {
  const body = $("show-orders").querySelector("tbody");
  body.textContent = "";
  orders.slice(0, 20).forEach((order) => {
    const tr = el("tr");
    tr.dataset.orderId = String(order.id);
    const amount = el("td", "amount", yuan(order.total_cents));
    if (order.live_price) { amount.append(" ", el("span", "live-badge", text.live_price)); }
    tr.append(el("td", "", "#" + order.id), el("td", "", new Date(order.created_at).toLocaleTimeString(document.documentElement.lang || undefined)),
      el("td", "", productName(order.product_id) + " ×" + order.quantity), amount,
      el("td", "", text["status_" + order.status] || order.status));
    body.appendChild(tr);
  });
  $("show-orders-empty").classList.toggle("hidden", orders.length > 0);
}

async function loadFigures() {
  const [funnel, orders] = await Promise.all([
    getJson(base + "/funnel").catch(() => null),
    getJson(base + "/orders").catch(() => null)
  ]);
  if (funnel) { console_.funnel = funnel; renderFunnel(funnel); }
  if (orders) { console_.orders = orders; renderOrders(orders); }
}

$("funnel-refresh").addEventListener("click", loadFigures);

/* ---------- countdowns and refresh ---------- */

function tick() {
  document.querySelectorAll("#pinned-cards .pinned-card").forEach((li) => {
    const card = console_.pins.find((p) => String(p.pin_id) === li.dataset.pinId);
    if (!card) { return; }
    const left = (Date.parse(card.opens_at) - clock.now()) / 1000;
    li.querySelector(".pinned-card-state").textContent = left > 0 ? t("opens_in", { seconds: Math.ceil(left) }) : text.open;
  });
  document.querySelectorAll("#flash-table tr[data-sale-id]").forEach((tr) => {
    const sale = console_.sales.find((s) => String(s.sale_id) === tr.dataset.saleId);
    if (sale) { tr.querySelector(".flash-status").textContent = saleStatus(sale); }
  });
}

async function loadAll() {
  await loadProducts();
  await Promise.all([loadPins(), loadSales(), loadFigures()]);
}

setInterval(tick, TICK_MS);
setInterval(() => { if (!document.hidden) { loadFigures(); loadSales(); } }, REFRESH_MS);
loadAll();
