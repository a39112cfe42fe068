/* The show's run-of-show panel (templates/runofshow_panel.html): reads the script every
 * refresh_ms, counts timed steps down against the server's clock every second, shows each
 * condition's live value against its threshold, and fires or skips a waiting step. */

import { duration, el, format, getJson, postJson, sendJson, serverClock } from "./kit.js";

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("script-config").textContent);
const text = JSON.parse($("script-messages").textContent);
const clock = serverClock();
const OPEN = new Set(["pending", "scheduled"]);
const base = "/api/v1/shows/" + config.show_id + "/script";
let steps = [];

function minutes(seconds) {
  return String(Math.round((seconds / 60) * 10) / 10);
}

function shown(value) {
  if (value === null || value === undefined) return "–";
  return Math.abs(value) < 1 && value !== 0 ? value.toFixed(3) : String(Math.round(value * 100) / 100);
}

function when(step) {
  if (step.kind === "timed") return format(text.at, { minutes: minutes(step.offset_s) });
  let condition = step.metric + " " + step.comparator + " " + shown(step.threshold);
  if (step.hold_s) condition += " " + format(text.hold_for, { seconds: step.hold_s });
  if (step.offset_s) condition += " · " + format(text.not_before, { minutes: minutes(step.offset_s) });
  return condition;
}

function now(step) {
  if (!OPEN.has(step.status)) return outcome(step);
  if (step.status === "pending") return text.waiting_live;
  if (step.kind === "timed") {
    const left = (Date.parse(step.due_at) - clock.now()) / 1000;
    return left > 0 ? format(text.in, { time: duration(left) }) : text.due;
  }
  let seen = shown(step.seen_value) + " / " + step.comparator + " " + shown(step.threshold);
  if (step.holding_since && step.hold_s) {
    const held = Math.floor((clock.now() - Date.parse(step.holding_since)) / 1000);
    seen += " · " + format(text.held, { seconds: Math.min(held, step.hold_s), hold: step.hold_s });
  }
  return seen;
}

function outcome(step) {
  const at = step.fired_at ? new Date(step.fired_at).toLocaleTimeString() : "";
  if (step.status === "failed" || step.status === "missed") return at + " " + (step.note || "");
  if (step.fired_by === "condition") return at + " " + format(text.by_condition, { value: shown(step.seen_value) });
  if (step.fired_by === "host") return at + " " + text.by_host;
  if (step.fired_by === "timer") return at + " " + text.by_timer;
  return at;
}

function button(label, className, handler) {
  const node = el("button", "btn small " + className, label);
  node.type = "button";
  node.addEventListener("click", handler);
  return node;
}

function act(step, verb, node) {
  node.disabled = true;
  const request = verb === "remove" ? sendJson("DELETE", base + "/steps/" + step.id) : postJson(base + "/steps/" + step.id + "/" + verb, {});
  request.then((reply) => {
    if (!reply.ok) $("script-status").textContent = reply.body.detail || text.error;
    refresh();
  });
}

function row(step) {
  const tr = el("tr");
  tr.dataset.stepId = String(step.id);
  tr.dataset.status = step.status;
  const name = el("td", "", step.label || text.actions[step.action] || step.action);
  if (step.label) name.append(el("span", "muted small", " · " + (text.actions[step.action] || step.action)));
  if (step.action === "cue" && step.params.text) name.append(el("div", "small", "“" + step.params.text + "”"));
  const state = el("td");
  state.append(el("span", "badge step-" + step.status, text.states[step.status] || step.status));
  const buttons = el("td", "row");
  if (OPEN.has(step.status)) {
    if (config.show_live) buttons.append(button(text.fire, "step-fire", (e) => act(step, "fire", e.target)));
    buttons.append(button(text.skip, "ghost step-skip", (e) => act(step, "skip", e.target)));
    if (config.editable) buttons.append(button(text.remove, "ghost step-remove", (e) => act(step, "remove", e.target)));
  }
  tr.append(name, el("td", "small", when(step)), el("td", "small step-now", now(step)), state, buttons);
  return tr;
}

function draw() {
  $("script-steps").querySelector("tbody").replaceChildren(...steps.map(row));
  $("script-empty").classList.toggle("hidden", steps.length > 0);
}

function tick() {
  document.querySelectorAll("#script-steps tr[data-step-id]").forEach((tr) => {
    const step = steps.find((s) => String(s.id) === tr.dataset.stepId);
    const cell = tr.querySelector(".step-now");
    if (step && cell) cell.textContent = now(step);
  });
}

export function refresh() {
  return getJson(base).then((script) => {
    if (!script) {
      $("script-status").textContent = text.error;
      return;
    }
    clock.sync(script.server_now);
    config.show_live = script.show_status === "live";
    steps = script.steps;
    draw();
    $("script-status").textContent = format(text.updated, { time: new Date().toLocaleTimeString() });
  });
}

document.addEventListener("script:changed", () => refresh());
refresh();
setInterval(refresh, config.refresh_ms);
setInterval(tick, 1000);
