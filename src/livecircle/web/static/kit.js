/* Small helpers shared by the page modules (gifts.js, wallet.js). */

/** The CSRF double-submit value: cookie-authenticated API writes send it as X-CSRF-Token. */
export function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("lc_csrf="));
  if (cookie) { return decodeURIComponent(cookie.slice("lc_csrf=".length)); }
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
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
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: Object.assign({ "content-type": "application/json", "x-csrf-token": csrfToken() }, headers || {}),
    body: JSON.stringify(body)
  }).then((r) => r.json().catch(() => ({})).then((data) => ({ ok: r.ok, status: r.status, body: data })));
}

export function getJson(url) {
  return fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null));
}
