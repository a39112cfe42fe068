/* Small helpers shared by the page modules (gifts.js, wallet.js, shop.js, orders.js, console_shop.js). */

/** The CSRF double-submit value: cookie-authenticated API writes send it as X-CSRF-Token. The
 * page's meta tag first (the cookie is named __Host-lc_csrf behind HTTPS), else the cookie. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) { return meta.content; }
  const cookie = document.cookie.split("; ").find((part) => /^(__Host-)?lc_csrf=/.test(part));
  return cookie ? decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1)) : "";
}

/** A fresh idempotency key (one per user action; a retry of that action reuses it). */
export function newKey() {
  if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
  return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2);
}

/** "%(name)s" placeholders filled from values (the catalogs' python-format). */
export function format(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (_m, name) =>
    values && values[name] !== undefined ? String(values[name]) : "");
}

export function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (content !== undefined) { node.textContent = content; }
  return node;
}

/** JSON write to the API with the CSRF header; resolves {ok, status, body}. */
export function postJson(url, body, headers) {
  return sendJson("POST", url, body, headers);
}

/** Any write (POST, PUT, PATCH, DELETE); a 204 answers body {}. */
export function sendJson(method, url, body, headers) {
  return fetch(url, {
    method: method,
    credentials: "same-origin",
    headers: Object.assign({ "content-type": "application/json", "x-csrf-token": csrfToken() }, headers || {}),
    body: body === undefined ? undefined : JSON.stringify(body)
  }).then((r) => r.json().catch(() => ({})).then((data) => ({ ok: r.ok, status: r.status, body: data })));
}

/** Integer cents as yuan with two decimals: 6900 → "¥69.00". */
export function yuan(cents) {
  return "¥" + (Number(cents) / 100).toFixed(2);
}

/** The server's clock as this page sees it: sync() with each answer's server_now, so every
 * viewer counts down to the same instant whatever their own clock says. */
export function serverClock() {
  let offset = 0;
  return {
    sync(iso) {
      const at = Date.parse(iso);
      if (!Number.isNaN(at)) { offset = at - Date.now(); }
    },
    now() { return Date.now() + offset; },
    get offset() { return offset; }
  };
}

/** Seconds as "m:ss" (or "h:mm:ss"). */
export function duration(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
}

export function getJson(url) {
  return fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null));
}
