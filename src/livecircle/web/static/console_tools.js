/* Host console, live tools of the room: polls and questionnaires, lotteries, and the run of show.
 * Write a poll or a lottery, launch it now (the live show), plan it at an offset into the show
 * (the run of show) or keep it as a draft; close a poll, export its CSV; draw a lottery, follow
 * its winners' prizes and mark physical ones shipped; fire or skip planned steps. Everything
 * goes through the JSON API; the lists refresh every few seconds (the console has no socket).
 * Loaded by console_room_lottery.html; strings come translated from both includes. */

import { duration, el, format, getJson, postJson, serverClock } from "./kit.js";

const REFRESH_MS = 3000;
const TICK_MS = 500;
const POLL_OPTIONS = [2, 5];
const SURVEY_OPTIONS = [2, 10];

const $ = (id) => document.getElementById(id);
const pollConfig = JSON.parse($("poll-console-config").textContent);
const lotteryConfig = JSON.parse($("lottery-console-config").textContent);
const text = Object.assign({}, pollConfig.messages);
const lotteryText = lotteryConfig.messages;
const t = (messages, key, values) => format(messages[key] || key, values);
const roomBase = "/api/v1/rooms/" + pollConfig.roomId;
const clock = serverClock();
const tools = { polls: [], lotteries: [], steps: [], seen: {} };
window.lcTools = tools;  // for tests and debugging

function say(id, message, kind) {
  const node = $(id);
  node.textContent = message || "";
  node.className = kind || "muted";
  node.classList.toggle("hidden", !message);
}

function refusal(messages, answer) {
  const body = answer.body || {};
  return messages[body.code] || body.detail || messages.error;
}

function failed() { return { ok: false, status: 0, body: {} }; }

function button(className, label) {
  const node = el("button", "btn small " + className, label);
  node.type = "button";
  return node;
}

/** Re-render a list only when its content changed (server_now aside), so that inputs typed in
 * it survive the refresh. */
function changed(key, rows) {
  const digest = JSON.stringify(rows, (name, value) => (name === "server_now" ? undefined : value));
  if (tools.seen[key] === digest) { return false; }
  tools.seen[key] = digest;
  return true;
}

/* ================= polls: the form ================= */

const questionsEl = $("poll-questions");

function pollKind() {
  return document.querySelector('input[name="poll-kind"]:checked').value;
}

function optionLimits() { return pollKind() === "poll" ? POLL_OPTIONS : SURVEY_OPTIONS; }

function addOption(question, value) {
  const list = question.querySelector(".poll-q-options");
  const li = el("li", "poll-q-option");
  const input = el("input", "poll-option-input");
  input.maxLength = 100;
  input.value = value || "";
  const remove = el("button", "icon-button poll-q-remove-option", "×");
  remove.type = "button";
  remove.title = text.remove_option;
  remove.setAttribute("aria-label", text.remove_option);
  li.append(input, remove);
  list.appendChild(li);
  numberOptions(question);
  return input;
}

function numberOptions(question) {
  const kind = question.querySelector(".poll-q-kind").value;
  const rows = question.querySelectorAll(".poll-q-option");
  const [low, high] = optionLimits();
  rows.forEach((row, i) => {
    const input = row.querySelector("input");
    input.placeholder = t(text, "option_n", { n: i + 1 });
    input.setAttribute("aria-label", input.placeholder);
    row.querySelector("button").disabled = rows.length <= low;
  });
  question.querySelector(".poll-q-options").classList.toggle("hidden", kind === "text");
  const add = question.querySelector(".poll-q-add-option");
  add.classList.toggle("hidden", kind === "text");
  add.disabled = rows.length >= high;
}

function addQuestion() {
  const question = $("poll-question-template").content.firstElementChild.cloneNode(true);
  questionsEl.appendChild(question);
  for (let i = 0; i < POLL_OPTIONS[0]; i += 1) { addOption(question); }
  layoutQuestions();
  return question;
}

function layoutQuestions() {
  const survey = pollKind() === "survey";
  const questions = [...questionsEl.querySelectorAll(".poll-q")];
  if (!survey) { questions.slice(1).forEach((q) => q.remove()); }
  questionsEl.querySelectorAll(".poll-q").forEach((question, i, all) => {
    question.querySelector(".poll-q-legend").textContent = survey ? t(text, "question_n", { n: i + 1 }) : "";
    question.querySelector(".poll-q-legend").classList.toggle("hidden", !survey);
    question.querySelector(".poll-q-text-label").classList.toggle("hidden", !survey);
    const kind = question.querySelector(".poll-q-kind");
    kind.querySelector('option[value="text"]').disabled = !survey;
    if (!survey && kind.value === "text") { kind.value = "single"; }
    question.querySelector(".poll-q-remove").classList.toggle("hidden", !survey || all.length < 2);
    const high = optionLimits()[1];
    [...question.querySelectorAll(".poll-q-option")].slice(high).forEach((row) => row.remove());
    numberOptions(question);
  });
  $("poll-add-question").classList.toggle("hidden", !survey);
  const durationInput = $("poll-duration");
  durationInput.max = survey ? "86400" : "1800";
  durationInput.required = !survey;
  $("poll-duration-hint").textContent = survey ? text.duration_survey : text.duration_poll;
}

function readPoll() {
  const kind = pollKind();
  const title = $("poll-title").value.trim();
  if (!title) { return { problem: text.need_title }; }
  const questions = [];
  for (const question of questionsEl.querySelectorAll(".poll-q")) {
    const qKind = question.querySelector(".poll-q-kind").value;
    const qText = kind === "poll" ? title : question.querySelector(".poll-q-text").value.trim();
    if (!qText) { return { problem: text.need_question }; }
    const options = qKind === "text" ? []
      : [...question.querySelectorAll(".poll-option-input")].map((input) => input.value.trim()).filter(Boolean);
    const [low, high] = optionLimits();
    if (qKind !== "text" && (options.length < low || options.length > high || new Set(options).size !== options.length)) {
      return { problem: text.need_options };
    }
    questions.push({ text: qText.slice(0, 200), kind: qKind, options: options });
  }
  const raw = $("poll-duration").value.trim();
  const seconds = raw === "" ? null : Number(raw);
  if (kind === "poll" && (seconds === null || !(seconds >= 15 && seconds <= 1800))) { return { problem: text.need_duration }; }
  return { body: { kind: kind, title: title, questions: questions, duration_s: seconds } };
}

async function createPoll(how) {
  const read = readPoll();
  if (read.problem) { say("poll-form-message", read.problem, "alert"); return; }
  const body = read.body;
  const minutes = Number($("poll-offset").value) || 0;
  if (how === "launch") { body.launch = true; }
  if (how === "plan") { body.offset_s = Math.round(minutes * 60); }
  const buttons = ["poll-launch", "poll-plan", "poll-save"].map($);
  buttons.forEach((b) => { b.disabled = true; });
  const answer = await postJson(roomBase + "/polls", body).catch(failed);
  buttons.forEach((b) => { b.disabled = false; });
  if (answer.ok) {
    const done = { launch: text.launched, plan: t(text, "planned", { minutes: minutes }), save: text.saved }[how];
    say("poll-form-message", done, "alert ok");
    resetPollForm();
  } else {
    say("poll-form-message", refusal(text, answer), "alert");
  }
  await Promise.all([loadPolls(), loadSteps()]);
}

function resetPollForm() {
  $("poll-title").value = "";
  questionsEl.textContent = "";
  addQuestion();
}

document.querySelectorAll('input[name="poll-kind"]').forEach((radio) => radio.addEventListener("change", () => {
  if (!questionsEl.querySelector(".poll-q")) { addQuestion(); }
  layoutQuestions();
  $("poll-duration").value = pollKind() === "survey" ? "" : "60";
}));
$("poll-add-question").addEventListener("click", () => { addQuestion().querySelector(".poll-q-text").focus(); });
questionsEl.addEventListener("click", (event) => {
  const question = event.target.closest(".poll-q");
  if (!question) { return; }
  if (event.target.closest(".poll-q-add-option")) { addOption(question).focus(); }
  if (event.target.closest(".poll-q-remove-option")) {
    event.target.closest(".poll-q-option").remove();
    numberOptions(question);
  }
  if (event.target.closest(".poll-q-remove")) { question.remove(); layoutQuestions(); }
});
questionsEl.addEventListener("change", (event) => {
  if (event.target.classList.contains("poll-q-kind")) { numberOptions(event.target.closest(".poll-q")); }
});
$("poll-form").addEventListener("submit", (event) => { event.preventDefault(); createPoll("launch"); });
$("poll-plan").addEventListener("click", () => createPoll("plan"));
$("poll-save").addEventListener("click", () => createPoll("save"));

/* ================= polls: the list ================= */

function pollStatus(poll) {
  if (poll.status === "open" && poll.closes_at) {
    return t(text, "status_open_for", { time: duration((Date.parse(poll.closes_at) - clock.now()) / 1000) });
  }
  return text["status_" + poll.status] || poll.status;
}

function pollSummary(poll) {
  const cell = el("td", "poll-summary");
  cell.appendChild(el("div", "poll-ballots", t(text, "ballots", { count: poll.ballots })));
  if (poll.kind === "poll") {
    poll.questions[0].options.forEach((option) => {
      const line = el("div", "poll-summary-option small");
      line.dataset.optionId = String(option.id);
      line.dataset.votes = String(option.votes);
      line.textContent = option.text + " · " + option.votes + " (" + option.percent + "%)";
      cell.appendChild(line);
    });
  } else {
    cell.appendChild(el("div", "muted small", t(text, "questions", { count: poll.questions.length })));
  }
  return cell;
}

function renderPolls() {
  const body = $("poll-list").querySelector("tbody");
  body.textContent = "";
  tools.polls.forEach((poll) => {
    const tr = el("tr");
    tr.dataset.pollId = String(poll.id);
    tr.dataset.status = poll.status;
    const name = el("td");
    name.append(el("strong", "poll-name", poll.title), el("div", "muted small", text["kind_" + poll.kind] || poll.kind));
    const actions = el("td", "poll-actions");
    if (poll.status === "draft") { actions.appendChild(button("poll-open", text.open)); }
    if (poll.status === "open") { actions.appendChild(button("danger poll-close", text.close)); }
    if (poll.status !== "draft") {
      const csv = el("a", "small poll-csv", text.csv);
      csv.href = "/api/v1/polls/" + poll.id + "/results.csv";
      csv.setAttribute("download", "poll-" + poll.id + ".csv");
      actions.append(" ", csv);
    }
    tr.append(name, el("td", "poll-status", pollStatus(poll)), pollSummary(poll), actions);
    body.appendChild(tr);
  });
  $("poll-list-empty").classList.toggle("hidden", tools.polls.length > 0);
}

async function loadPolls() {
  const polls = await getJson(roomBase + "/polls").catch(() => null);
  if (!polls) { return; }
  polls.forEach((poll) => clock.sync(poll.server_now));
  tools.polls = polls;
  if (changed("polls", polls)) { renderPolls(); }
}

$("poll-list").addEventListener("click", async (event) => {
  const action = event.target.closest(".poll-open, .poll-close");
  const row = action && action.closest("tr");
  if (!row) { return; }
  action.disabled = true;
  const verb = action.classList.contains("poll-open") ? "open" : "close";
  const answer = await postJson("/api/v1/polls/" + row.dataset.pollId + "/" + verb, {}).catch(failed);
  say("poll-list-message", answer.ok ? (verb === "open" ? text.launched : text.closed) : refusal(text, answer),
    answer.ok ? "alert ok" : "alert");
  tools.seen.polls = null;
  await Promise.all([loadPolls(), loadSteps()]);
});

/* ================= lotteries: the form ================= */

const prizesBody = $("lottery-prizes").querySelector("tbody");
const PRIZE_KINDS = ["points", "gift", "coupon", "physical"];

function addPrize() {
  const tr = el("tr", "prize-row");
  const kind = el("select", "prize-kind");
  PRIZE_KINDS.forEach((value) => {
    const option = el("option", "", lotteryText["prize_" + value]);
    option.value = value;
    kind.appendChild(option);
  });
  const name = el("input", "prize-name");
  name.maxLength = 100;
  name.size = 12;
  const quantity = el("input", "prize-quantity");
  quantity.type = "number";
  quantity.min = "1";
  quantity.max = "1000";
  quantity.value = "1";
  quantity.size = 4;
  const amount = el("input", "prize-amount");
  amount.type = "number";
  amount.min = "1";
  amount.value = "100";
  amount.size = 6;
  amount.setAttribute("aria-label", lotteryText.amount);
  const coupon = el("select", "prize-coupon hidden");
  (lotteryConfig.coupons || []).forEach((template) => {
    const option = el("option", "", template.name);
    option.value = String(template.id);
    coupon.appendChild(option);
  });
  if (!coupon.options.length) {
    const none = el("option", "", lotteryText.no_coupon);
    none.value = "";
    coupon.appendChild(none);
  }
  const remove = el("button", "icon-button prize-remove", "×");
  remove.type = "button";
  remove.title = lotteryText.remove_prize;
  remove.setAttribute("aria-label", lotteryText.remove_prize);
  const cells = [kind, name, quantity, [amount, coupon], remove].map((content) => {
    const td = el("td");
    [].concat(content).forEach((node) => td.appendChild(node));
    return td;
  });
  tr.append(...cells);
  prizesBody.appendChild(tr);
  layoutPrize(tr);
  numberPrizes();
  return tr;
}

function layoutPrize(tr) {
  const kind = tr.querySelector(".prize-kind").value;
  tr.querySelector(".prize-amount").classList.toggle("hidden", kind !== "points" && kind !== "gift");
  tr.querySelector(".prize-coupon").classList.toggle("hidden", kind !== "coupon");
}

function numberPrizes() {
  const rows = prizesBody.querySelectorAll(".prize-row");
  rows.forEach((row) => { row.querySelector(".prize-remove").disabled = rows.length < 2; });
  $("lottery-add-prize").disabled = rows.length >= 10;
}

function readRules() {
  const rules = [];
  for (const box of document.querySelectorAll(".lottery-rule:checked")) {
    const kind = box.value;
    if (kind === "keyword") {
      const keyword = $("rule-keyword-value").value.trim();
      if (!keyword) { return { problem: lotteryText.need_keyword }; }
      rules.push({ kind: kind, keyword: keyword });
    } else if (kind === "tier") {
      rules.push({ kind: kind, tier: $("rule-tier-value").value });
    } else if (kind === "watch") {
      rules.push({ kind: kind, minutes: Number($("rule-watch-value").value) });
    } else if (kind === "invites") {
      rules.push({ kind: kind, count: Number($("rule-invites-value").value) });
    } else {
      rules.push({ kind: kind });
    }
  }
  return { rules: rules };
}

function readPrizes() {
  const prizes = [];
  for (const row of prizesBody.querySelectorAll(".prize-row")) {
    const kind = row.querySelector(".prize-kind").value;
    const prize = {
      kind: kind,
      name: row.querySelector(".prize-name").value.trim(),
      quantity: Number(row.querySelector(".prize-quantity").value)
    };
    if (kind === "points" || kind === "gift") { prize.amount = Number(row.querySelector(".prize-amount").value); }
    if (kind === "coupon") { prize.coupon_template_id = Number(row.querySelector(".prize-coupon").value) || null; }
    const bad = !prize.name || !(prize.quantity >= 1) || (prize.amount !== undefined && !(prize.amount >= 1))
      || (kind === "coupon" && !prize.coupon_template_id);
    if (bad) { return { problem: lotteryText.need_prize }; }
    prizes.push(prize);
  }
  return { prizes: prizes };
}

function readLottery() {
  const title = $("lottery-title").value.trim();
  if (!title) { return { problem: lotteryText.need_title }; }
  const prizes = readPrizes();
  if (prizes.problem) { return prizes; }
  const rules = readRules();
  if (rules.problem) { return rules; }
  let seconds = null;
  if ($("lottery-draw-timer").checked) {
    seconds = Number($("lottery-duration").value);
    if (!(seconds >= 10 && seconds <= 86400)) { return { problem: lotteryText.need_duration }; }
  }
  return { body: { title: title, prizes: prizes.prizes, rules: rules.rules, duration_s: seconds } };
}

async function createLottery(how) {
  const read = readLottery();
  if (read.problem) { say("lottery-form-message", read.problem, "alert"); return; }
  const body = read.body;
  const minutes = Number($("lottery-offset").value) || 0;
  if (how === "launch") { body.launch = true; }
  if (how === "plan") { body.offset_s = Math.round(minutes * 60); }
  const buttons = ["lottery-launch", "lottery-plan", "lottery-save"].map($);
  buttons.forEach((b) => { b.disabled = true; });
  const answer = await postJson(roomBase + "/lotteries", body).catch(failed);
  buttons.forEach((b) => { b.disabled = false; });
  if (answer.ok) {
    const done = { launch: lotteryText.launched, plan: t(lotteryText, "planned", { minutes: minutes }), save: lotteryText.saved }[how];
    say("lottery-form-message", done, "alert ok");
    $("lottery-title").value = "";
  } else {
    say("lottery-form-message", refusal(lotteryText, answer), "alert");
  }
  await Promise.all([loadLotteries(), loadSteps()]);
}

$("lottery-add-prize").addEventListener("click", () => { addPrize().querySelector(".prize-name").focus(); });
prizesBody.addEventListener("change", (event) => {
  if (event.target.classList.contains("prize-kind")) { layoutPrize(event.target.closest("tr")); }
});
prizesBody.addEventListener("click", (event) => {
  if (event.target.closest(".prize-remove")) {
    event.target.closest("tr").remove();
    numberPrizes();
  }
});
// Typing a rule's value ticks its box.
$("lottery-rules").addEventListener("input", (event) => {
  const label = event.target.closest("label");
  const box = label && label.querySelector(".lottery-rule");
  if (box && event.target !== box) { box.checked = true; }
});
$("lottery-duration").addEventListener("input", () => { $("lottery-draw-timer").checked = true; });
$("lottery-form").addEventListener("submit", (event) => { event.preventDefault(); createLottery("launch"); });
$("lottery-plan").addEventListener("click", () => createLottery("plan"));
$("lottery-save").addEventListener("click", () => createLottery("save"));

/* ================= lotteries: the list ================= */

function lotteryStatus(lottery) {
  const parts = [lotteryText["status_" + lottery.status] || lottery.status];
  if (lottery.status === "open") {
    parts.push(t(lotteryText, "entries", { count: lottery.entries }));
    if (!lottery.draw_at) {
      parts.push(lotteryText.by_hand);
    } else {
      const left = (Date.parse(lottery.draw_at) - clock.now()) / 1000;
      parts.push(left > 0 ? t(lotteryText, "draws_in", { time: duration(left) }) : lotteryText.drawing);
    }
  }
  if (lottery.status === "drawn") {
    parts.push(t(lotteryText, "entries", { count: lottery.entries }), t(lotteryText, "entrants", { count: lottery.entrants || 0 }));
  }
  return parts.join(" · ");
}

function addressText(address) {
  if (!address) { return ""; }
  return [address.name, address.phone, address.address].filter(Boolean).join(" · ");
}

function winnersTable(lottery) {
  if (!lottery.winners.length) { return el("p", "muted small lottery-no-winner", lotteryText.no_winner); }
  const table = el("table", "table lottery-winners-table");
  const head = el("tr");
  ["rank", "code", "prize", "fulfilment", "ship_to"].forEach((key) => head.appendChild(el("th", "", lotteryText[key])));
  head.appendChild(el("th"));
  const thead = el("thead");
  thead.appendChild(head);
  const body = el("tbody");
  lottery.winners.forEach((winner) => {
    const tr = el("tr", "lottery-winner-row");
    tr.dataset.winnerId = String(winner.id);
    tr.dataset.status = winner.status;
    const status = el("td", "winner-status", lotteryText["w_" + winner.status] || winner.status);
    if (winner.note) { status.appendChild(el("div", "muted small", winner.note)); }
    const actions = el("td");
    if (winner.status === "address_given") {
      const note = el("input", "ship-note");
      note.maxLength = 200;
      note.size = 12;
      note.placeholder = lotteryText.ship_note;
      note.setAttribute("aria-label", lotteryText.ship_note);
      actions.append(note, " ", button("lottery-ship", lotteryText.ship));
    }
    tr.append(el("td", "", String(winner.rank)), el("td", "", winner.code), el("td", "", winner.prize || ""),
      status, el("td", "small winner-address", addressText(winner.address)), actions);
    body.appendChild(tr);
  });
  table.append(thead, body);
  return table;
}

function renderLotteries() {
  const list = $("lottery-list");
  list.textContent = "";
  tools.lotteries.forEach((lottery) => {
    const item = el("div", "lottery-item");
    item.dataset.lotteryId = String(lottery.id);
    item.dataset.status = lottery.status;
    const headLine = el("div", "row");
    headLine.append(el("strong", "lottery-name", lottery.title), el("span", "muted small lottery-state", lotteryStatus(lottery)));
    if (lottery.status === "draft") { headLine.appendChild(button("lottery-open", lotteryText.open)); }
    if (lottery.status === "open") { headLine.appendChild(button("danger lottery-draw-now", lotteryText.draw)); }
    if (lottery.status !== "draft") {
      const audit = el("a", "small lottery-audit", lotteryText.audit);
      audit.href = "/lotteries/" + lottery.id + "/audit";
      audit.target = "_blank";
      audit.rel = "noopener";
      headLine.appendChild(audit);
    }
    item.appendChild(headLine);
    item.appendChild(el("div", "muted small", lottery.prizes.map((p) => p.name + " ×" + p.quantity).join("、")));
    if (lottery.status === "drawn") { item.appendChild(winnersTable(lottery)); }
    list.appendChild(item);
  });
  $("lottery-list-empty").classList.toggle("hidden", tools.lotteries.length > 0);
}

async function loadLotteries() {
  const lotteries = await getJson(roomBase + "/lotteries").catch(() => null);
  if (!lotteries) { return; }
  lotteries.forEach((lottery) => clock.sync(lottery.server_now));
  tools.lotteries = lotteries;
  if (changed("lotteries", lotteries)) { renderLotteries(); }
}

$("lottery-list").addEventListener("click", async (event) => {
  const item = event.target.closest(".lottery-item");
  const action = event.target.closest(".lottery-open, .lottery-draw-now, .lottery-ship");
  if (!item || !action) { return; }
  const lottery = tools.lotteries.find((l) => String(l.id) === item.dataset.lotteryId);
  const base = "/api/v1/lotteries/" + item.dataset.lotteryId;
  let answer;
  let done;
  if (action.classList.contains("lottery-ship")) {
    const row = action.closest("tr");
    action.disabled = true;
    answer = await postJson(base + "/winners/" + row.dataset.winnerId + "/ship", { note: row.querySelector(".ship-note").value.trim() }).catch(failed);
    done = lotteryText.shipped;
  } else if (action.classList.contains("lottery-draw-now")) {
    if (lottery && !window.confirm(t(lotteryText, "draw_confirm", { title: lottery.title }))) { return; }
    action.disabled = true;
    answer = await postJson(base + "/draw", {}).catch(failed);
    done = lotteryText.drawn;
  } else {
    action.disabled = true;
    answer = await postJson(base + "/open", {}).catch(failed);
    done = lotteryText.launched;
  }
  say("lottery-list-message", answer.ok ? done : refusal(lotteryText, answer), answer.ok ? "alert ok" : "alert");
  tools.seen.lotteries = null;
  await Promise.all([loadLotteries(), loadSteps()]);
});

/* ================= run of show ================= */

function stepName(step) {
  const rows = step.tool === "poll" ? tools.polls : tools.lotteries;
  const found = rows.find((row) => row.id === step.tool_id);
  return found ? found.title : "#" + step.tool_id;
}

function renderSteps() {
  const body = $("step-list").querySelector("tbody");
  body.textContent = "";
  tools.steps.forEach((step) => {
    const tr = el("tr");
    tr.dataset.stepId = String(step.id);
    tr.dataset.status = step.status;
    const what = el("td");
    what.append(el("span", "muted small", lotteryText["tool_" + step.tool] + " · "), el("span", "step-name", stepName(step)));
    const status = el("td", "step-status", lotteryText["step_" + step.status] || step.status);
    if (step.note) { status.appendChild(el("div", "muted small", step.note)); }
    const actions = el("td");
    if (step.status === "pending" || step.status === "scheduled") {
      actions.append(button("step-fire", lotteryText.fire), " ", button("ghost step-skip", lotteryText.skip));
    }
    tr.append(el("td", "", t(lotteryText, "step_at", { minutes: Math.round(step.offset_s / 6) / 10 })), what, status, actions);
    body.appendChild(tr);
  });
  $("step-list-empty").classList.toggle("hidden", tools.steps.length > 0);
}

async function loadSteps() {
  const steps = await getJson(roomBase + "/steps").catch(() => null);
  if (!steps) { return; }
  tools.steps = steps;
  if (changed("steps", [steps, tools.polls.map((p) => p.title), tools.lotteries.map((l) => l.title)])) { renderSteps(); }
}

$("step-list").addEventListener("click", async (event) => {
  const action = event.target.closest(".step-fire, .step-skip");
  const row = action && action.closest("tr");
  if (!row) { return; }
  action.disabled = true;
  const verb = action.classList.contains("step-fire") ? "fire" : "skip";
  const answer = await postJson(roomBase + "/steps/" + row.dataset.stepId + "/" + verb, {}).catch(failed);
  let message = answer.ok ? lotteryText[verb === "fire" ? "step_fired_now" : "step_skipped_now"] : refusal(lotteryText, answer);
  if (answer.ok && answer.body.status === "failed") { message = answer.body.note || lotteryText.error; }
  say("step-list-message", message, answer.ok && answer.body.status !== "failed" ? "alert ok" : "alert");
  tools.seen.steps = null;
  await Promise.all([loadPolls(), loadLotteries()]);
  await loadSteps();
});

/* ================= countdowns and refresh ================= */

function tick() {
  document.querySelectorAll("#poll-list tr[data-poll-id]").forEach((tr) => {
    const poll = tools.polls.find((p) => String(p.id) === tr.dataset.pollId);
    if (poll) { tr.querySelector(".poll-status").textContent = pollStatus(poll); }
  });
  document.querySelectorAll("#lottery-list .lottery-item").forEach((item) => {
    const lottery = tools.lotteries.find((l) => String(l.id) === item.dataset.lotteryId);
    if (lottery) { item.querySelector(".lottery-state").textContent = lotteryStatus(lottery); }
  });
}

async function loadAll() {
  await Promise.all([loadPolls(), loadLotteries()]);
  await loadSteps();
}

addQuestion();
addPrize();
setInterval(tick, TICK_MS);
setInterval(() => { if (!document.hidden) { loadAll(); } }, REFRESH_MS);
loadAll();
