/* Live dashboard of a show: reads /api/v1/shows/{id}/dashboard every refresh_ms, fills each
 * figure tile (its definition sits under it), and lists the alerts with their one-click
 * suggested action and an acknowledge button. */

import { el, format, getJson, postJson, yuan } from "./kit.js";

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("dashboard-config").textContent);
const text = JSON.parse($("dashboard-messages").textContent);
const MONEY = new Set(["gmv_cents", "paid_cents"]);
const RATES = new Set(["interaction_rate", "click_to_order", "payment_success"]);

function show(name, value) {
  const node = $("figure-" + name);
  if (!node) return;
  if (value === null || value === undefined) node.textContent = "–";
  else if (MONEY.has(name)) node.textContent = yuan(value);
  else if (RATES.has(name)) node.textContent = (value * 100).toFixed(1) + " %";
  else node.textContent = String(value);
}

function alertRow(alert) {
  const row = el("li", "alert-row");
  row.dataset.alertId = String(alert.id);
  const value = alert.value <= 1 && alert.metric.includes("rate") ? (alert.value * 100).toFixed(1) + " %" : alert.value;
  row.append(el("span", "", format(text.raised, { metric: alert.metric, value, comparator: alert.comparator, threshold: alert.threshold })));
  if (alert.acked_at) {
    row.append(el("span", "muted", " · " + text.acked));
    return row;
  }
  if (alert.action) {
    const act = el("button", "btn small", text.act + ": " + (text[alert.action] || alert.action));
    act.addEventListener("click", () => answer(alert.id, "act", act));
    row.append(" ", act);
  }
  const ack = el("button", "btn small ghost", text.ack);
  ack.addEventListener("click", () => answer(alert.id, "ack", ack));
  row.append(" ", ack);
  return row;
}

function answer(id, verb, button) {
  button.disabled = true;
  postJson("/api/v1/alerts/" + id + "/" + verb, {}).then((reply) => {
    button.textContent = reply.ok ? text.done : reply.body.detail || text.error;
    refresh();
  });
}

function refresh() {
  getJson("/api/v1/shows/" + config.show_id + "/dashboard").then((board) => {
    if (!board) {
      $("dashboard-status").textContent = text.error;
      return;
    }
    Object.entries(board.figures).forEach(([name, value]) => show(name, value));
    $("alerts").replaceChildren(...board.alerts.map(alertRow));
    $("alerts-empty").classList.toggle("hidden", board.alerts.length > 0);
    $("dashboard-status").textContent = format(text.updated, { time: new Date().toLocaleTimeString() });
  });
}

refresh();
setInterval(refresh, config.refresh_ms);
