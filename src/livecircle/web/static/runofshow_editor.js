/* The script page's editor (templates/console_show_script.html): the add-step form (what it
 * asks follows the chosen kind and action) posts a StepIn to the script API; templates are
 * saved from this show, applied to it or deleted. The panel (runofshow.js) redraws on
 * "script:changed". */

import { format, postJson, sendJson } from "./kit.js";

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("script-config").textContent);
const targets = JSON.parse($("script-targets").textContent);
const text = JSON.parse($("script-editor-messages").textContent);
const base = "/api/v1/shows/" + config.show_id + "/script";
const TARGETED = new Set(["pin", "flash_sale", "coupon", "community"]);

function say(id, message, ok) {
  const node = $(id);
  node.textContent = message;
  node.classList.toggle("hidden", !message);
  node.classList.toggle("error", !ok);
}

function problem(reply) {
  const body = reply.body || {};
  const errors = (body.errors || []).map((e) => (e.loc || []).slice(-1).join(".") + ": " + e.msg);
  return [body.detail || text.error, ...errors].join(" · ");
}

function kind() {
  return document.querySelector('input[name="step-kind"]:checked').value;
}

function fitForm() {
  if (!$("step-form")) return;
  const condition = kind() === "condition";
  $("step-condition").classList.toggle("hidden", !condition);
  $("step-offset-label-timed").classList.toggle("hidden", condition);
  $("step-offset-label-condition").classList.toggle("hidden", !condition);
  const action = $("step-action").value;
  document.querySelectorAll(".step-fields").forEach((node) => node.classList.toggle("hidden", node.id !== "step-fields-" + action));
  $("step-target-field").classList.toggle("hidden", !TARGETED.has(action));
  const choices = targets[action] || [];
  $("step-target").replaceChildren(...choices.map((t) => new Option(t.name, String(t.id))));
  $("step-target-empty").classList.toggle("hidden", !TARGETED.has(action) || choices.length > 0);
}

function number(id) {
  return Number($(id).value);
}

function actionFields(action) {
  if (TARGETED.has(action)) return { target_id: Number($("step-target").value) || null, ...extra(action) };
  if (action === "poll") {
    const options = $("step-poll-options").value.split("\n").map((o) => o.trim()).filter(Boolean);
    const question = { text: $("step-poll-title").value.trim(), options };
    return { poll: { title: question.text, questions: [question], duration_s: number("step-poll-duration") } };
  }
  if (action === "lottery") {
    const prize = { kind: "points", name: number("step-lottery-points") + " points", quantity: number("step-lottery-winners"), amount: number("step-lottery-points") };
    return { lottery: { title: $("step-lottery-title").value.trim(), prizes: [prize], duration_s: number("step-lottery-duration") } };
  }
  return { text: $("step-cue").value.trim() || null };
}

function extra(action) {
  if (action === "pin") return { countdown_s: number("step-countdown") };
  if (action === "flash_sale") {
    return { price_cents: Math.round(number("step-price") * 100), stock: number("step-stock"), duration_s: number("step-duration"), per_user_limit: number("step-per-user") };
  }
  return {};
}

function stepIn() {
  const action = $("step-action").value;
  const step = { label: $("step-label").value.trim(), kind: kind(), offset_s: Math.round(number("step-offset") * 60), action, ...actionFields(action) };
  if (step.kind === "condition") {
    Object.assign(step, { metric: $("step-metric").value, comparator: $("step-comparator").value, threshold: number("step-threshold"), window_s: number("step-window"), hold_s: number("step-hold") });
  }
  return step;
}

function changed() {
  document.dispatchEvent(new CustomEvent("script:changed"));
}

if ($("step-form")) {
  document.querySelectorAll('input[name="step-kind"]').forEach((node) => node.addEventListener("change", fitForm));
  $("step-action").addEventListener("change", fitForm);
  $("step-form").addEventListener("submit", (event) => {
    event.preventDefault();
    postJson(base + "/steps", stepIn()).then((reply) => {
      say("step-form-message", reply.ok ? text.added : problem(reply), reply.ok);
      if (reply.ok) changed();
    });
  });
  fitForm();
}

$("template-save").addEventListener("submit", (event) => {
  event.preventDefault();
  postJson(base + "/template", { name: $("template-name").value.trim() }).then((reply) => {
    let message = reply.ok ? text.saved : problem(reply);
    if (reply.ok && reply.body.left_out.length) message += " · " + format(text.left_out, { count: reply.body.left_out.length });
    say("template-message", message, reply.ok);
    if (reply.ok) window.location.reload();
  });
});

document.querySelectorAll(".template-apply").forEach((node) => node.addEventListener("click", () => {
  postJson(base + "/apply", { template_id: Number(node.dataset.templateId) }).then((reply) => {
    say("template-message", reply.ok ? text.applied : problem(reply), reply.ok);
    if (reply.ok) changed();
  });
}));

document.querySelectorAll(".template-delete").forEach((node) => node.addEventListener("click", () => {
  if (!window.confirm(text.confirm_delete)) return;
  sendJson("DELETE", "/api/v1/script-templates/" + node.dataset.templateId).then((reply) => {
    say("template-message", reply.ok ? text.deleted : problem(reply), reply.ok);
    if (reply.ok) node.closest("tr").remove();
  });
}));
