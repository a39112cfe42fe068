/* livecircle room page: live shopping (直播带货). Pinned product cards with their opening
 * countdown, flash-sale banners (限时秒杀), coupon drops, and the checkout sheet: choose a SKU and
 * quantity, pick a coupon, place the order (one Idempotency-Key per attempt, reused on retry),
 * pay in the sandbox and see the outcome. Imported by room.js, which owns the socket and passes
 * the room events product_pin, product_unpin, flash_sale, flash_stock and coupon_drop.
 *
 * Every countdown runs on the server's clock (kit.serverClock, synced from each server_now), so
 * every viewer's card opens at the same instant. Funnel steps: "impression" when a card is
 * shown, "click" when its checkout opens, "add" when a SKU or quantity is chosen.
 *
 * The shelf (小黄车) lists every product the show sells at its price there, pinned or not; its
 * buy button opens the same checkout (a pinned product's goes through its card, countdown and
 * funnel included). Signed-in viewers also see the member-only coupons there and claim them. */

import { duration, el, format, getJson, newKey, postJson, serverClock, yuan } from "./kit.js";
import { askConsent, needsConsent } from "./consent.js";

const TICK_MS = 250;
const PAY_POLL_MS = 300;
const PAY_POLL_LIMIT_MS = 15000;
const ENDED_BANNER_MS = 10000;       // an ended sale stays on screen this long
const RELOAD_THROTTLE_MS = 2000;
const DROP_SHOW_MS = 60000;           // an unclaimed coupon drop stays this long
const CLAIMED_SHOW_MS = 6000;
const VIEWER_KEY = "lc_viewer";

/** ctx: {roomId, signedIn} */
export function mountShop(ctx) {
  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($("shop-config").textContent);
  const text = config.messages;
  const t = (key, values) => format(text[key] || key, values);
  const clock = serverClock();
  const cardsEl = $("shop-cards");
  const salesEl = $("flash-sales");

  const shop = {
    showId: config.showId,
    cards: new Map(),        // pin_id -> card
    sales: new Map(),        // sale_id -> sale
    offers: new Map(),       // sku_id -> {product_id, product, sku, price_cents, list_price_cents, live_price}
    coupons: [],             // my coupons
    seen: new Set(),         // pins whose impression was sent
    loadedAt: 0,
    clock: clock
  };
  window.lcShop = shop;  // for tests and debugging

  const sheet = {            // the checkout sheet
    el: $("checkout"),
    mode: null,              // "card" | "flash"
    card: null,
    sale: null,
    skuId: null,
    quantity: 1,
    couponId: null,
    key: null,               // this attempt's Idempotency-Key: new when the choice changes
    added: false,            // the "add" funnel step was sent
    order: null,
    phase: "choose"          // choose | placing | placed | paying | paid
  };
  shop.sheet = sheet;
  const shelf = { el: $("shelf"), button: $("shelf-button"), list: $("shelf-list"), products: [], claimable: [] };
  shop.shelf = shelf;        // the shelf (小黄车): every product of the show, member coupons
  const skusEl = $("checkout-skus");
  const qtyInput = $("checkout-qty");
  const couponSelect = $("checkout-coupon");
  const submitButton = $("checkout-submit");
  const messageEl = $("checkout-message");

  /* ---------- loading ---------- */

  function setState(state) {
    const live = state && state.mode === "live" && state.show ? state.show.id : null;
    if (live && live !== shop.showId) {
      shop.showId = live;
      clearAll();
      reload(true);
    } else if (!shop.loadedAt) {
      reload(true);
    }
  }

  function clearAll() {
    shop.cards.clear();
    shop.sales.clear();
    cardsEl.textContent = "";
    salesEl.textContent = "";
    shelfProducts([]);
  }

  async function reload(force) {
    if (!shop.showId || (!force && Date.now() - shop.loadedAt < RELOAD_THROTTLE_MS)) { return; }
    shop.loadedAt = Date.now();
    const base = "/api/v1/shows/" + shop.showId;
    const [products, pins, sales] = await Promise.all([
      getJson(base + "/products").catch(() => null),
      getJson(base + "/pins").catch(() => null),
      getJson(base + "/flash-sales").catch(() => null)
    ]);
    if (products) { learnProducts(products); shelfProducts(products); }
    if (pins) {
      const current = new Set(pins.map((card) => card.pin_id));
      [...shop.cards.keys()].forEach((id) => { if (!current.has(id)) { removeCard(id); } });
      pins.forEach(showCard);
    }
    // Sales that ended before this page saw them are history, not banners.
    (sales || []).filter((sale) => sale.state !== "ended" || shop.sales.has(sale.sale_id)).forEach(showSale);
    if (ctx.signedIn) { loadCoupons(); }
  }

  function learnProducts(products) {
    products.forEach((product) => product.offers.forEach((offer) => {
      shop.offers.set(offer.sku_id, Object.assign({ product_id: product.product_id, product: product.name }, offer));
    }));
  }

  function loadCoupons() {
    return getJson("/api/v1/coupons").then((rows) => { shop.coupons = rows || []; }).catch(() => {});
  }

  /* ---------- funnel ---------- */

  function viewerId() {
    try {
      let id = localStorage.getItem(VIEWER_KEY);
      if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
        id = newKey().replace(/[^A-Za-z0-9_-]/g, "");
        localStorage.setItem(VIEWER_KEY, id);
      }
      return id;
    } catch (e) {
      return null;  // storage refused: anonymous steps are not counted
    }
  }

  function funnel(kind, pinId, skuId) {
    if (!pinId) { return; }
    const body = { kind: kind, pin_id: pinId };
    if (skuId) { body.sku_id = skuId; }
    if (!ctx.signedIn) {
      const viewer = viewerId();
      if (!viewer) { return; }
      body.viewer = viewer;
    }
    postJson("/api/v1/funnel", body).catch(() => {});
  }

  /* ---------- pinned cards ---------- */

  function showCard(card) {
    clock.sync(card.server_now);
    const fresh = !shop.cards.has(card.pin_id);
    shop.cards.set(card.pin_id, card);
    (card.skus || []).forEach((sku) => {
      const known = shop.offers.get(sku.sku_id) || {};
      shop.offers.set(sku.sku_id, Object.assign(known, { product_id: card.product_id, product: card.name }, sku));
    });
    const node = renderCard(card);
    const old = cardsEl.querySelector('[data-pin-id="' + card.pin_id + '"]');
    if (old) { old.replaceWith(node); } else { cardsEl.prepend(node); }
    if (fresh) { node.classList.add("pop"); }
    tickCard(node, card);
    if (!shop.seen.has(card.pin_id)) {
      shop.seen.add(card.pin_id);
      funnel("impression", card.pin_id);
    }
  }

  function cheapest(card) {
    const skus = card.skus || [];
    return skus.reduce((best, sku) => (!best || sku.price_cents < best.price_cents ? sku : best), null);
  }

  function renderCard(card) {
    const node = el("article", "shop-card");
    node.dataset.pinId = String(card.pin_id);
    node.dataset.productId = String(card.product_id);
    const image = el("div", "shop-card-image");
    if (card.image_url) {
      const img = el("img");
      img.src = card.image_url;
      img.alt = "";
      image.appendChild(img);
    } else {
      image.textContent = "🛍";
    }
    const body = el("div", "shop-card-body");
    body.appendChild(el("h3", "shop-card-name", card.name));
    const best = cheapest(card);
    if (best) { body.appendChild(priceLine(best)); }
    const actions = el("div", "shop-card-actions");
    const countdown = el("span", "shop-countdown");
    const buy = el("button", "btn small shop-buy", text.buy);
    buy.type = "button";
    buy.disabled = true;
    actions.append(countdown, buy);
    if (card.external_url) {
      const link = el("a", "small shop-external", text.external);
      link.href = card.external_url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      actions.appendChild(link);
    }
    body.appendChild(actions);
    node.append(image, body);
    return node;
  }

  function priceLine(offer) {
    const line = el("div", "shop-price");
    line.appendChild(el("strong", "shop-price-now", yuan(offer.price_cents)));
    if (offer.live_price) {
      line.appendChild(el("span", "live-badge", text.live_price));
      line.appendChild(el("s", "shop-price-list muted", yuan(offer.list_price_cents)));
    }
    return line;
  }

  function soldOut(card) { return !(card.skus || []).some((sku) => sku.in_stock); }

  function tickCard(node, card) {
    const left = (Date.parse(card.opens_at) - clock.now()) / 1000;
    const countdown = node.querySelector(".shop-countdown");
    const buy = node.querySelector(".shop-buy");
    if (left > 0) {
      countdown.textContent = t("opens_in", { seconds: Math.ceil(left) });
      countdown.classList.remove("hidden");
      buy.disabled = true;
      node.dataset.open = "false";
    } else {
      countdown.textContent = "";
      countdown.classList.add("hidden");
      buy.disabled = soldOut(card);
      buy.textContent = soldOut(card) ? text.sold_out : text.buy;
      node.dataset.open = "true";
    }
  }

  function removeCard(pinId) {
    shop.cards.delete(pinId);
    const node = cardsEl.querySelector('[data-pin-id="' + pinId + '"]');
    if (node) { node.remove(); }
    if (sheet.mode === "card" && sheet.card && sheet.card.pin_id === pinId && !sheet.order) {
      say(text.card_gone, "error");
      submitButton.disabled = true;
    }
  }

  cardsEl.addEventListener("click", (event) => {
    const buy = event.target.closest(".shop-buy");
    const node = buy && buy.closest(".shop-card");
    const card = node && shop.cards.get(Number(node.dataset.pinId));
    if (card && !buy.disabled) { openCard(card); }
  });

  /* ---------- flash sales ---------- */

  function showSale(sale) {
    clock.sync(sale.server_now);
    shop.sales.set(sale.sale_id, sale);
    let node = salesEl.querySelector('[data-sale-id="' + sale.sale_id + '"]');
    if (!node) {
      node = renderSale(sale);
      salesEl.prepend(node);
    }
    tickSale(node, sale);
    if (!shop.offers.has(sale.sku_id)) { reloadProducts(); }
    if (sheet.mode === "flash" && sheet.sale.sale_id === sale.sale_id) {
      sheet.sale = sale;  // e.g. the host ended it early
      refreshSheet();
    }
  }

  function reloadProducts() {
    if (!shop.showId) { return; }
    getJson("/api/v1/shows/" + shop.showId + "/products").then((products) => {
      if (!products) { return; }
      learnProducts(products);
      shop.sales.forEach((sale) => {
        const node = salesEl.querySelector('[data-sale-id="' + sale.sale_id + '"]');
        if (node) { describeSale(node, sale); }
      });
    }).catch(() => {});
  }

  function saleState(sale) {
    const now = clock.now();
    if (sale.state === "ended" || now >= Date.parse(sale.ends_at)) { return "ended"; }
    if (now < Date.parse(sale.starts_at)) { return "upcoming"; }
    return sale.stock_left > 0 ? "open" : "sold_out";
  }

  function renderSale(sale) {
    const node = el("div", "flash-sale");
    node.dataset.saleId = String(sale.sale_id);
    node.appendChild(el("span", "flash-tag", "⚡ " + text.flash_sale));
    node.appendChild(el("span", "flash-name"));
    const price = el("span", "flash-price");
    price.appendChild(el("strong", "flash-price-now", yuan(sale.price_cents)));
    price.appendChild(el("s", "flash-price-list muted"));
    node.appendChild(price);
    node.appendChild(el("span", "flash-countdown"));
    node.appendChild(el("span", "flash-stock"));
    node.appendChild(el("span", "flash-limit muted small", t("per_user", { limit: sale.per_user_limit })));
    const buy = el("button", "btn small flash-buy", text.grab);
    buy.type = "button";
    node.appendChild(buy);
    describeSale(node, sale);
    return node;
  }

  function describeSale(node, sale) {
    const offer = shop.offers.get(sale.sku_id);
    node.querySelector(".flash-name").textContent = offer ? offer.product + " · " + offer.name : "";
    node.querySelector(".flash-price-list").textContent = offer ? yuan(offer.list_price_cents) : "";
  }

  function tickSale(node, sale) {
    const state = saleState(sale);
    const now = clock.now();
    node.dataset.state = state;
    const countdown = node.querySelector(".flash-countdown");
    if (state === "upcoming") {
      countdown.textContent = t("starts_in", { time: duration((Date.parse(sale.starts_at) - now) / 1000) });
    } else if (state === "ended") {
      countdown.textContent = text.sale_ended;
    } else {
      countdown.textContent = t("ends_in", { time: duration((Date.parse(sale.ends_at) - now) / 1000) });
    }
    const stock = node.querySelector(".flash-stock");
    stock.textContent = t("stock_left", { left: sale.stock_left, total: sale.stock_total });
    stock.dataset.left = String(sale.stock_left);
    const buy = node.querySelector(".flash-buy");
    buy.disabled = state !== "open";
    buy.textContent = { upcoming: text.soon, open: text.grab, sold_out: text.sold_out_flash, ended: text.sale_ended }[state];
    if (state === "ended") {
      sale.endedSeen = sale.endedSeen || Date.now();
      if (Date.now() - sale.endedSeen > ENDED_BANNER_MS) {
        shop.sales.delete(sale.sale_id);
        node.remove();
      }
    }
  }

  function onStock(event) {
    const sale = shop.sales.get(event.sale_id);
    if (!sale) { return; }
    sale.stock_left = event.stock_left;
    const node = salesEl.querySelector('[data-sale-id="' + sale.sale_id + '"]');
    if (node) { tickSale(node, sale); }
    if (sheet.mode === "flash" && sheet.sale && sheet.sale.sale_id === sale.sale_id && sheet.phase === "choose") {
      if (saleState(sale) === "sold_out") { say(text.err_flash_sold_out, "error"); }
      refreshSheet();
    }
  }

  salesEl.addEventListener("click", (event) => {
    const buy = event.target.closest(".flash-buy");
    const node = buy && buy.closest(".flash-sale");
    const sale = node && shop.sales.get(Number(node.dataset.saleId));
    if (sale && !buy.disabled) { openSale(sale); }
  });

  /* ---------- one timer for every countdown ---------- */

  setInterval(() => {
    cardsEl.querySelectorAll(".shop-card").forEach((node) => {
      const card = shop.cards.get(Number(node.dataset.pinId));
      if (card) { tickCard(node, card); }
    });
    salesEl.querySelectorAll(".flash-sale").forEach((node) => {
      const sale = shop.sales.get(Number(node.dataset.saleId));
      if (sale) { tickSale(node, sale); }
    });
    if (sheet.order && sheet.phase === "placed") { showDeadline(); }
    if (!shelf.el.classList.contains("hidden")) { tickShelf(); }
  }, TICK_MS);

  /* ---------- coupon drops ---------- */

  const drop = { el: $("coupon-drop"), coupon: null, showId: null, timer: null };

  function couponValue(coupon) {
    if (coupon.kind === "percent") {
      const rate = String((100 - coupon.percent_off) / 10);
      return t("coupon_percent", { percent: coupon.percent_off + "%", rate: rate });
    }
    return t("coupon_fixed", { amount: yuan(coupon.amount_off_cents) });
  }

  function couponRule(coupon) {
    return coupon.min_spend_cents > 0 ? t("coupon_min_spend", { amount: yuan(coupon.min_spend_cents) }) : text.coupon_no_min;
  }

  function onCouponDrop(event) {
    if (shop.showId && event.show_id !== shop.showId) { return; }
    const coupon = event.coupon;
    drop.coupon = coupon;
    drop.showId = event.show_id;
    drop.el.dataset.templateId = String(coupon.template_id);
    $("coupon-drop-name").textContent = coupon.name;
    $("coupon-drop-value").textContent = couponValue(coupon);
    $("coupon-drop-rule").textContent = couponRule(coupon);
    $("coupon-drop-left").textContent = coupon.left === null ? "" : t("coupons_left", { left: coupon.left });
    dropMessage("", "");
    clearTimeout(drop.timer);
    drop.timer = setTimeout(hideDrop, DROP_SHOW_MS);
    const claim = $("coupon-claim");
    if (claim) { claim.disabled = false; claim.classList.remove("hidden"); }
    drop.el.classList.remove("hidden");
    drop.el.classList.remove("pop");
    void drop.el.offsetWidth;  // restart the pop animation
    drop.el.classList.add("pop");
  }

  function dropMessage(message, kind) {
    const node = $("coupon-drop-message");
    node.textContent = message;
    node.className = "coupon-drop-message " + (kind || "");
    node.classList.toggle("hidden", !message);
  }

  const CLAIM_ERRORS = {
    coupons_gone: "claim_gone",
    coupon_limit_reached: "claim_limit",
    coupon_not_claimable: "claim_not_claimable",
    coupon_not_applicable: "claim_closed",
    coupon_not_found: "claim_closed"
  };

  async function claim() {
    const coupon = drop.coupon;
    if (!coupon) { return; }
    const button = $("coupon-claim");
    button.disabled = true;
    const answer = await postJson("/api/v1/coupon-templates/" + coupon.template_id + "/claim", { show_id: drop.showId })
      .catch(() => ({ ok: false, body: { code: "network" } }));
    if (answer.ok) {
      button.classList.add("hidden");
      dropMessage(text.claimed, "ok");
      clearTimeout(drop.timer);
      drop.timer = setTimeout(hideDrop, CLAIMED_SHOW_MS);
      await loadCoupons();
      if (!sheet.el.classList.contains("hidden")) { refreshSheet(); }
      return;
    }
    const code = answer.body.code;
    if (code === "coupon_limit_reached") { button.classList.add("hidden"); }
    dropMessage(CLAIM_ERRORS[code] ? text[CLAIM_ERRORS[code]] : answer.body.detail || text.error, "error");
    button.disabled = code !== "network";
  }

  function hideDrop() {
    clearTimeout(drop.timer);
    drop.el.classList.add("hidden");
  }

  if ($("coupon-claim")) { $("coupon-claim").addEventListener("click", claim); }
  $("coupon-drop-close").addEventListener("click", hideDrop);

  /* ---------- the checkout sheet ---------- */

  function say(message, kind, link) {
    messageEl.textContent = "";
    messageEl.className = "checkout-message " + (kind || "");
    messageEl.appendChild(el("span", "", message));
    if (link) {
      const a = el("a", "", link.label);
      a.href = link.href;
      messageEl.append(" ", a);
    }
    messageEl.classList.toggle("hidden", !message);
  }

  function reset(mode) {
    Object.assign(sheet, {
      mode: mode, card: null, sale: null, skuId: null, quantity: 1, couponId: null,
      key: newKey(), added: false, order: null, phase: "choose"
    });
    say("");
    $("checkout-order").classList.add("hidden");
    $("checkout-pay").classList.add("hidden");
    $("checkout-result").classList.add("hidden");
    $("checkout-result").className = "hidden";
  }

  function openCard(card) {
    reset("card");
    sheet.card = card;
    const available = (card.skus || []).filter((sku) => sku.in_stock);
    sheet.skuId = available.length === 1 ? available[0].sku_id : null;
    funnel("click", card.pin_id);
    openSheet(card.name);
  }

  function openSale(sale) {
    reset("flash");
    sheet.sale = sale;
    sheet.skuId = sale.sku_id;
    const offer = shop.offers.get(sale.sku_id);
    openSheet(offer ? offer.product : text.flash_sale);
  }

  function openSheet(title) {
    $("checkout-title").textContent = title;
    sheet.el.classList.remove("hidden");
    refreshSheet();
    submitButton.focus();
  }

  function closeSheet() {
    sheet.el.classList.add("hidden");
    sheet.mode = null;
  }

  function skuChoices() {
    if (sheet.mode === "flash") {
      const sale = sheet.sale;
      const offer = shop.offers.get(sale.sku_id) || {};
      return [{ sku_id: sale.sku_id, name: offer.name || "", price_cents: sale.price_cents,
        list_price_cents: offer.list_price_cents || sale.price_cents, live_price: true, in_stock: sale.stock_left > 0 }];
    }
    return sheet.card ? sheet.card.skus || [] : [];
  }

  function chosen() { return skuChoices().find((sku) => sku.sku_id === sheet.skuId) || null; }

  function maxQuantity() { return sheet.mode === "flash" ? sheet.sale.per_user_limit : config.maxQuantity; }

  function applicable(coupon, subtotal, productId) {
    if (coupon.state !== "available") { return false; }
    if (coupon.expires_at && Date.parse(coupon.expires_at) <= clock.now()) { return false; }
    if (coupon.product_id !== null && coupon.product_id !== productId) { return false; }
    return subtotal >= coupon.min_spend_cents;
  }

  function discountOf(coupon, subtotal) {
    if (!coupon) { return 0; }
    if (coupon.kind === "fixed") { return Math.min(coupon.amount_off_cents, subtotal); }
    return Math.floor((subtotal * coupon.percent_off) / 100);
  }

  function renderSkus() {
    skusEl.textContent = "";
    skuChoices().forEach((sku) => {
      const option = el("button", "sku-option");
      option.type = "button";
      option.dataset.skuId = String(sku.sku_id);
      option.setAttribute("aria-pressed", String(sku.sku_id === sheet.skuId));
      option.disabled = !sku.in_stock || sheet.phase !== "choose";
      option.appendChild(el("span", "sku-name", sku.name));
      option.appendChild(priceLine(sku));
      if (!sku.in_stock) { option.appendChild(el("span", "muted small", text.sold_out)); }
      skusEl.appendChild(option);
    });
  }

  function renderCoupons(subtotal, productId) {
    if (sheet.order) { couponSelect.disabled = true; return; }  // the order's coupon stays shown
    const keep = sheet.couponId;
    couponSelect.textContent = "";
    const none = el("option", "", sheet.mode === "flash" ? text.coupon_flash : text.coupon_none);
    none.value = "";
    couponSelect.appendChild(none);
    if (sheet.mode === "flash" || !ctx.signedIn) {
      couponSelect.disabled = true;
      sheet.couponId = null;
      return;
    }
    shop.coupons.filter((c) => c.state === "available").forEach((coupon) => {
      const usable = applicable(coupon, subtotal, productId);
      const option = el("option", "", coupon.name + " · " + couponValue(coupon) + " · " + couponRule(coupon));
      option.value = String(coupon.id);
      option.disabled = !usable;
      couponSelect.appendChild(option);
    });
    const still = shop.coupons.find((c) => c.id === keep);
    sheet.couponId = still && applicable(still, subtotal, productId) ? keep : null;
    couponSelect.value = sheet.couponId ? String(sheet.couponId) : "";
    couponSelect.disabled = sheet.phase !== "choose";
  }

  function refreshSheet() {
    if (!sheet.mode) { return; }
    const sku = chosen();
    const choosing = sheet.phase === "choose";
    sheet.quantity = Math.min(Math.max(1, sheet.quantity), maxQuantity());
    qtyInput.value = String(sheet.quantity);
    qtyInput.max = String(maxQuantity());
    [qtyInput, $("qty-minus"), $("qty-plus")].forEach((node) => { node.disabled = !choosing; });
    $("checkout-flash").classList.toggle("hidden", sheet.mode !== "flash");
    if (sheet.mode === "flash") { $("checkout-flash").textContent = t("flash_note", { limit: sheet.sale.per_user_limit }); }
    renderSkus();
    const order = sheet.order;
    const unit = sku ? sku.price_cents : 0;
    const subtotal = order ? order.subtotal_cents : unit * sheet.quantity;
    const productId = sku ? (shop.offers.get(sku.sku_id) || {}).product_id : null;
    renderCoupons(subtotal, productId);
    const coupon = shop.coupons.find((c) => c.id === sheet.couponId) || null;
    const discount = order ? order.discount_cents : discountOf(coupon, subtotal);
    $("checkout-subtotal").textContent = sku || order ? yuan(subtotal) : "–";
    $("checkout-discount").textContent = discount ? "−" + yuan(discount) : yuan(0);
    $("checkout-discount").dataset.cents = String(discount);
    $("checkout-total").textContent = sku || order ? yuan(subtotal - discount) : "–";
    $("checkout-total").dataset.cents = String(subtotal - discount);
    const closed = sheet.mode === "card" && sheet.card && !shop.cards.has(sheet.card.pin_id);
    const saleGone = sheet.mode === "flash" && saleState(sheet.sale) !== "open";
    submitButton.classList.toggle("hidden", !choosing);
    $("checkout-signin").classList.toggle("hidden", ctx.signedIn || !choosing);
    if (!ctx.signedIn) { submitButton.classList.add("hidden"); }
    submitButton.disabled = !sku || closed || saleGone || !choosing;
  }

  function changed() {
    sheet.key = newKey();  // another choice is another attempt
    if (!sheet.added && sheet.mode === "card" && sheet.skuId) {
      sheet.added = true;
      funnel("add", sheet.card.pin_id, sheet.skuId);
    }
    say("");
    refreshSheet();
  }

  skusEl.addEventListener("click", (event) => {
    const option = event.target.closest(".sku-option");
    if (!option || option.disabled) { return; }
    sheet.skuId = Number(option.dataset.skuId);
    changed();
  });
  $("qty-minus").addEventListener("click", () => { sheet.quantity -= 1; changed(); });
  $("qty-plus").addEventListener("click", () => { sheet.quantity += 1; changed(); });
  qtyInput.addEventListener("change", () => { sheet.quantity = Math.floor(Number(qtyInput.value)) || 1; changed(); });
  couponSelect.addEventListener("change", () => {
    sheet.couponId = couponSelect.value ? Number(couponSelect.value) : null;
    sheet.key = newKey();
    refreshSheet();
  });
  $("checkout-close").addEventListener("click", closeSheet);
  sheet.el.addEventListener("click", (event) => { if (event.target === sheet.el) { closeSheet(); } });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") { return; }
    if (sheet.mode) { closeSheet(); } else { closeShelf(); }
  });

  /* ---------- placing the order ---------- */

  const ORDER_ERRORS = {
    sold_out: "err_sold_out",
    purchase_limit_reached: "err_limit",
    sale_not_open: "err_sale_not_open",
    card_not_open: "err_card_not_open",
    not_on_sale: "err_not_on_sale",
    coupon_not_applicable: "err_coupon",
    coupon_not_found: "err_coupon_missing",
    order_state_conflict: "err_state",
    network: "err_network"
  };

  function orderBody() {
    const body = { sku_id: sheet.skuId, quantity: sheet.quantity, show_id: shop.showId };
    if (sheet.mode === "card") { body.pin_id = sheet.card.pin_id; }
    if (sheet.mode === "flash") { body.flash_sale_id = sheet.sale.sale_id; body.show_id = sheet.sale.show_id || shop.showId; }
    if (sheet.couponId) { body.coupon_id = sheet.couponId; }
    if (!body.show_id) { delete body.show_id; }
    return body;
  }

  async function submit() {
    if (submitButton.disabled || sheet.phase !== "choose") { return; }
    if (sheet.mode === "card" && !sheet.added) { sheet.added = true; funnel("add", sheet.card.pin_id, sheet.skuId); }
    sheet.phase = "placing";
    refreshSheet();
    say(text.placing, "muted");
    const answer = await placeOrder(orderBody(), sheet.key);
    if (answer.ok) { placed(answer.body); return; }
    sheet.phase = "choose";
    refused(answer.body, answer.status);
    refreshSheet();
  }

  /** POST /orders under this attempt's key; the same key again while the first is in flight. */
  async function placeOrder(body, key) {
    for (let tries = 0; tries < 5; tries += 1) {
      const answer = await postJson("/api/v1/orders", body, { "idempotency-key": key })
        .catch(() => ({ ok: false, status: 0, body: { code: "network" } }));
      if (answer.body.code !== "idempotency_in_progress") { return answer; }
      await new Promise((resolve) => setTimeout(resolve, 800));
    }
    return { ok: false, status: 409, body: { code: "network" } };
  }

  function refused(body, status) {
    const code = body.code || "error";
    if (code === "unauthenticated" || status === 401) {
      say(text.err_signin, "error", { href: "/login?next=/rooms/" + ctx.roomId, label: text.sign_in });
      return;
    }
    let message = ORDER_ERRORS[code] ? text[ORDER_ERRORS[code]] : body.detail || text.error;
    if (code === "purchase_limit_reached" && sheet.sale) { message = t("err_limit", { limit: sheet.sale.per_user_limit }); }
    if (code === "sold_out" && sheet.mode === "flash") {
      message = text.err_flash_sold_out;
      onStock({ sale_id: sheet.sale.sale_id, stock_left: 0 });
    }
    if (code === "sale_not_open" && sheet.sale) { sheet.sale.state = "ended"; }
    say(message, "error");
  }

  function placed(order) {
    sheet.order = order;
    sheet.phase = "placed";
    if (sheet.couponId) { loadCoupons(); }  // that coupon is used now
    say("");
    const summary = $("checkout-order");
    summary.textContent = "";
    summary.dataset.orderId = String(order.id);
    summary.appendChild(el("span", "", t("order_created", { id: order.id, total: yuan(order.total_cents) })));
    if (order.live_price) { summary.append(" ", el("span", "live-badge", text.live_price)); }
    summary.appendChild(el("span", "checkout-deadline muted small"));
    summary.classList.remove("hidden");
    showDeadline();
    $("checkout-pay").classList.remove("hidden");
    payButtons(true);
    refreshSheet();
  }

  function showDeadline() {
    const node = $("checkout-order").querySelector(".checkout-deadline");
    if (!node || !sheet.order) { return; }
    node.textContent = " " + t("pay_within", { time: duration((Date.parse(sheet.order.expires_at) - clock.now()) / 1000) });
  }

  /* ---------- paying in the sandbox ---------- */

  function payButtons(enabled) {
    $("checkout-pay-success").disabled = !enabled;
    $("checkout-pay-fail").disabled = !enabled;
  }

  function result(message, kind) {
    const node = $("checkout-result");
    node.textContent = "";
    node.className = "checkout-result alert " + (kind || "");
    node.appendChild(el("span", "", message));
    const link = el("a", "", text.my_orders);
    link.href = "/orders";
    node.append(" ", link);
  }

  async function pay(outcome) {
    const order = sheet.order;
    if (!order) { return; }
    payButtons(false);
    sheet.phase = "paying";
    say(text.paying, "muted");
    const start = () => postJson("/api/v1/orders/" + order.id + "/payments", {})
      .catch(() => ({ ok: false, body: { code: "network" } }));
    let started = await start();
    if (!started.ok && needsConsent(started.body) && await askConsent(started.body.purpose)) {
      started = await start();  // the separate payment consent is given: pay again
    }
    if (!started.ok) { payFailed(started.body); return; }
    if (started.body.provider !== "sandbox") { location.href = started.body.pay_url; return; }  // a real checkout
    // The pay URL is absolute (the provider's base URL); the page calls it on its own origin.
    const path = new URL(started.body.pay_url, location.href).pathname;
    const sent = await postJson(path, { outcome: outcome }).catch(() => ({ ok: false, body: { code: "network" } }));
    if (!sent.ok) { payFailed(sent.body); return; }
    const settled = await settle(order.id, outcome === "success");
    say("");
    if (settled && settled.status === "paid") {
      sheet.phase = "paid";
      $("checkout-pay").classList.add("hidden");
      $("checkout-order").classList.add("hidden");
      result(t("paid", { id: order.id, total: yuan(order.total_cents) }), "ok");
    } else if (outcome === "failure") {
      sheet.phase = "placed";
      result(text.pay_failed, "");
      setTimeout(() => payButtons(true), 1000);  // the failure's callback settles first
    } else {
      sheet.phase = "placed";
      result(text.pay_slow, "");
      payButtons(true);
    }
  }

  function payFailed(body) {
    sheet.phase = "placed";
    say(ORDER_ERRORS[body.code] ? text[ORDER_ERRORS[body.code]] : body.detail || text.error, "error");
    payButtons(true);
  }

  /** Poll the order until it is paid (success) or, for a failure, a short while to be sure. */
  async function settle(orderId, success) {
    const until = Date.now() + (success ? PAY_POLL_LIMIT_MS : 1200);
    let order = null;
    while (Date.now() < until) {
      order = await getJson("/api/v1/orders/" + orderId).catch(() => null);
      if (order && order.status !== "created") { return order; }
      await new Promise((resolve) => setTimeout(resolve, PAY_POLL_MS));
    }
    return order;
  }

  submitButton.addEventListener("click", submit);
  $("checkout-pay-success").addEventListener("click", () => pay("success"));
  $("checkout-pay-fail").addEventListener("click", () => pay("failure"));

  /* ---------- the shelf (小黄车) ---------- */

  function shelfProducts(products) {
    shelf.products = products;
    shelf.button.classList.toggle("hidden", !shop.showId);
    $("shelf-count").textContent = products.length ? String(products.length) : "";
    if (!shelf.el.classList.contains("hidden")) { renderShelf(); }
  }

  function openShelf() {
    shelf.el.classList.remove("hidden");
    shelf.button.setAttribute("aria-expanded", "true");
    renderShelf();
    reload(true);  // what the host attached since, at today's prices and stock
    if (ctx.signedIn) { loadClaimable(); }
  }

  function closeShelf() {
    shelf.el.classList.add("hidden");
    shelf.button.setAttribute("aria-expanded", "false");
  }

  function pinnedCard(productId) {
    return [...shop.cards.values()].find((card) => card.product_id === productId) || null;
  }

  function renderShelf() {
    shelf.list.textContent = "";
    shelf.products.forEach((product) => shelf.list.appendChild(shelfItem(product)));
    $("shelf-empty").classList.toggle("hidden", shelf.products.length > 0);
    tickShelf();
  }

  function shelfItem(product) {
    const node = el("li", "shelf-item");
    node.dataset.productId = String(product.product_id);
    const image = el("div", "shop-card-image");
    if (product.image_url) {
      const img = el("img");
      img.src = product.image_url;
      img.alt = "";
      image.appendChild(img);
    } else {
      image.textContent = "🛍";
    }
    const body = el("div", "shop-card-body");
    const name = el("h3", "shop-card-name", product.name);
    name.appendChild(el("span", "live-badge shelf-on-screen hidden", text.shelf_on_screen));
    body.appendChild(name);
    const best = product.offers.reduce((low, offer) => (!low || offer.price_cents < low.price_cents ? offer : low), null);
    if (best) { body.appendChild(priceLine(best)); }
    const stock = product.offers.reduce((sum, offer) => sum + offer.stock, 0);
    body.appendChild(el("span", "muted small shelf-stock", t("shelf_stock", { stock: stock })));
    const actions = el("div", "shop-card-actions");
    const buy = el("button", "btn small shelf-buy", text.buy);
    buy.type = "button";
    actions.appendChild(buy);
    if (product.external_url) {
      const link = el("a", "small shop-external", text.external);
      link.href = product.external_url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      actions.appendChild(link);
    }
    body.appendChild(actions);
    node.append(image, body);
    return node;
  }

  /** A pinned product sells through its card: closed until the card's countdown ends. */
  function tickShelf() {
    shelf.list.querySelectorAll(".shelf-item").forEach((node) => {
      const product = shelf.products.find((p) => String(p.product_id) === node.dataset.productId);
      if (!product) { return; }
      const card = pinnedCard(product.product_id);
      const buy = node.querySelector(".shelf-buy");
      node.querySelector(".shelf-on-screen").classList.toggle("hidden", !card);
      const inStock = product.offers.some((offer) => offer.stock > 0);
      const wait = card ? (Date.parse(card.opens_at) - clock.now()) / 1000 : 0;
      buy.disabled = !inStock || wait > 0;
      buy.textContent = !inStock ? text.sold_out : wait > 0 ? t("opens_in", { seconds: Math.ceil(wait) }) : text.buy;
    });
  }

  function buyFromShelf(product) {
    const card = pinnedCard(product.product_id);
    closeShelf();
    if (card) { openCard(card); return; }
    reset("shelf");
    const skus = product.offers.map((offer) => ({
      sku_id: offer.sku_id, name: offer.name, price_cents: offer.price_cents,
      list_price_cents: offer.list_price_cents, live_price: offer.live_price, in_stock: offer.stock > 0
    }));
    sheet.card = { product_id: product.product_id, name: product.name, skus: skus };
    const available = skus.filter((sku) => sku.in_stock);
    sheet.skuId = available.length === 1 ? available[0].sku_id : null;
    openSheet(product.name);
  }

  shelf.list.addEventListener("click", (event) => {
    const buy = event.target.closest(".shelf-buy");
    const node = buy && buy.closest(".shelf-item");
    const product = node && shelf.products.find((p) => String(p.product_id) === node.dataset.productId);
    if (product && !buy.disabled) { buyFromShelf(product); }
  });
  shelf.button.addEventListener("click", () => {
    if (shelf.el.classList.contains("hidden")) { openShelf(); } else { closeShelf(); }
  });
  $("shelf-close").addEventListener("click", closeShelf);
  shelf.el.addEventListener("click", (event) => { if (event.target === shelf.el) { closeShelf(); } });
  shelfProducts([]);

  /* ---------- member-only coupons, on the shelf ---------- */

  async function loadClaimable() {
    const rows = await getJson("/api/v1/coupon-templates/claimable").catch(() => null);
    shelf.claimable = rows || [];
    renderClaimable();
  }

  function claimLabel(template) {
    if (template.held >= template.per_user) { return text.shelf_claimed; }
    if (template.total !== null && template.issued >= template.total) { return text.shelf_all_claimed; }
    return template.eligible ? text.shelf_claim : text.shelf_members_only;
  }

  function renderClaimable() {
    const list = $("shelf-coupon-list");
    list.textContent = "";
    shelf.claimable.forEach((template) => {
      const item = el("li", "shelf-coupon");
      item.dataset.templateId = String(template.id);
      const about = el("span", "shelf-coupon-body");
      about.append(el("strong", "shelf-coupon-name", template.name), " · ",
        el("span", "shelf-coupon-value", couponValue(template)), " ",
        el("span", "muted small", couponRule(template) + (template.product_id ? " · " + text.shelf_one_product : "")));
      const button = el("button", "btn small shelf-claim", claimLabel(template));
      button.type = "button";
      button.disabled = claimLabel(template) !== text.shelf_claim;
      item.append(about, button);
      list.appendChild(item);
    });
    $("shelf-coupons").classList.toggle("hidden", shelf.claimable.length === 0);
  }

  function shelfMessage(message, kind) {
    const node = $("shelf-coupon-message");
    node.textContent = message;
    node.className = "checkout-message " + (kind || "");
    node.classList.toggle("hidden", !message);
  }

  async function claimMember(templateId, button) {
    button.disabled = true;
    const answer = await postJson("/api/v1/coupon-templates/" + templateId + "/claim", { show_id: shop.showId })
      .catch(() => ({ ok: false, body: { code: "network" } }));
    if (answer.ok) {
      shelfMessage(text.claimed, "ok");
    } else {
      const code = answer.body.code;
      shelfMessage(CLAIM_ERRORS[code] ? text[CLAIM_ERRORS[code]] : answer.body.detail || text.error, "error");
    }
    await Promise.all([loadCoupons(), loadClaimable()]);
  }

  $("shelf-coupon-list").addEventListener("click", (event) => {
    const button = event.target.closest(".shelf-claim");
    const item = button && button.closest(".shelf-coupon");
    if (item && !button.disabled) { claimMember(Number(item.dataset.templateId), button); }
  });

  return {
    setState: setState,
    reload: () => reload(false),
    onPin: (event) => showCard(event.card),
    onUnpin: (event) => removeCard(event.pin_id),
    onSale: (event) => showSale(event.sale),
    onStock: onStock,
    onCouponDrop: onCouponDrop
  };
}
