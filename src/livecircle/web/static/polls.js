/* livecircle room page: polls and questionnaires (投票 / 问卷). One card per open poll: its
 * countdown (on the server's clock), the ballot (radio buttons, checkboxes, text answers), then
 * the live results (bars with votes and percent, total ballots). Anonymous viewers see the results
 * and a sign-in link. A closed poll shows its final results for a minute.
 *
 * Mounted by tools.js, which passes the room events "poll" (opened or closed: the whole poll) and
 * "poll_results" (counts, at most every 0.5 s); reload() fetches the show's polls after a
 * (re)connect. The card is built once and updated in place, so results arriving while a viewer
 * is choosing never reset the choice. Strings come translated from room_polls.html. */

import { duration, el, format, getJson, postJson, serverClock } from "./kit.js";

const TICK_MS = 500;
const CLOSED_SHOW_MS = 60000;  // a closed poll's final results stay this long

export function mountPolls(ctx) {
  const panel = document.getElementById("poll-panel");
  const configNode = document.getElementById("polls-config");
  if (!panel || !configNode) { return { handlers: {}, reload() {} }; }
  const config = JSON.parse(configNode.textContent);
  const text = config.messages;
  const t = (key, values) => format(text[key] || key, values);
  const cardsEl = document.getElementById("poll-cards");
  const clock = serverClock();
  const state = { polls: new Map(), dismissed: new Set(), clock: clock };  // poll id -> {poll, myBallot, closedSeen, node}
  window.lcPolls = state;  // for tests and debugging

  /* ---------- state ---------- */

  function upsert(view) {
    if (!view || view.status === "draft" || state.dismissed.has(view.id)) { return; }
    clock.sync(view.server_now);
    let entry = state.polls.get(view.id);
    if (!entry) {
      entry = { poll: view, myBallot: null, closedSeen: null, node: null };
      state.polls.set(view.id, entry);
    } else if (entry.poll.status === "closed" && view.status === "open") {
      // Counts computed just before the closing may arrive after it: keep "closed".
      view = Object.assign({}, view, { status: "closed", closed_at: entry.poll.closed_at });
    } else if (view.status === entry.poll.status && view.ballots < entry.poll.ballots) {
      view = null;  // an older view than the one shown (a reload racing a broadcast)
    }
    if (view) {
      if (view.my_ballot !== undefined && view.my_ballot !== null) { entry.myBallot = view.my_ballot; }
      entry.poll = view;
    }
    if (entry.poll.status === "closed" && entry.closedSeen === null) {
      const closedAt = Date.parse(entry.poll.closed_at);
      entry.closedSeen = Number.isNaN(closedAt) ? Date.now() : Date.now() - Math.max(0, clock.now() - closedAt);
    }
    render(entry);
  }

  function remove(pollId) {
    const entry = state.polls.get(pollId);
    if (entry && entry.node) { entry.node.remove(); }
    state.polls.delete(pollId);
    showPanel();
  }

  function showPanel() {
    panel.classList.toggle("hidden", state.polls.size === 0);
  }

  function expired(poll) {
    return poll.closes_at ? clock.now() >= Date.parse(poll.closes_at) : false;
  }

  function canVote(entry) {
    return config.signedIn && !entry.myBallot && entry.poll.status === "open" && !expired(entry.poll);
  }

  /* ---------- the card ---------- */

  function render(entry) {
    if (!entry.node) {
      entry.node = buildCard(entry.poll);
      cardsEl.prepend(entry.node);
    }
    const node = entry.node;
    const poll = entry.poll;
    node.dataset.status = poll.status;
    node.dataset.voted = entry.myBallot ? "true" : "false";
    const voting = canVote(entry);
    node.querySelector(".poll-form").classList.toggle("hidden", !voting);
    node.querySelector(".poll-results").classList.toggle("hidden", voting);
    node.querySelector(".poll-dismiss").classList.toggle("hidden", poll.status !== "closed");
    node.querySelector(".poll-final").classList.toggle("hidden", poll.status !== "closed");
    const total = node.querySelector(".poll-total");
    total.textContent = t(poll.kind === "poll" ? "ballots" : "took_part", { count: poll.ballots });
    total.dataset.ballots = String(poll.ballots);
    poll.questions.forEach((question) => renderResults(node, question, entry.myBallot));
    tick(entry);
    showPanel();
  }

  function showQuestionText(poll, question) {
    return poll.kind !== "poll" || question.text !== poll.title;
  }

  function buildCard(poll) {
    const node = el("article", "poll-card");
    node.dataset.pollId = String(poll.id);
    node.dataset.kind = poll.kind;
    const head = el("div", "poll-head");
    head.append(el("span", "poll-kind", (poll.kind === "poll" ? "📊 " : "📝 ") + text[poll.kind === "poll" ? "poll" : "survey"]),
      el("span", "poll-countdown"));
    const dismiss = el("button", "icon-button poll-dismiss hidden", "×");
    dismiss.type = "button";
    dismiss.title = text.close;
    dismiss.setAttribute("aria-label", text.close);
    head.appendChild(dismiss);
    node.append(head, el("h3", "poll-title", poll.title), el("p", "poll-final small hidden", text.final));
    node.append(buildForm(poll), buildResults(poll));
    const message = el("p", "poll-message small hidden");
    message.setAttribute("role", "status");
    node.appendChild(message);
    const foot = el("div", "poll-foot small");
    foot.appendChild(el("span", "poll-total muted"));
    if (!config.signedIn) {
      const signIn = el("span", "poll-signin");
      const link = el("a", "", text.sign_in);
      link.href = config.loginUrl;
      signIn.append(link, " " + text.sign_in_to_vote);
      foot.appendChild(signIn);
    }
    node.appendChild(foot);
    return node;
  }

  function buildForm(poll) {
    const form = el("form", "poll-form hidden");
    form.autocomplete = "off";
    poll.questions.forEach((question) => {
      const box = el("fieldset", "poll-question");
      box.dataset.questionId = String(question.id);
      box.dataset.kind = question.kind;
      if (showQuestionText(poll, question)) { box.appendChild(el("legend", "poll-question-text", question.text)); }
      if (question.kind === "text") {
        const area = el("textarea", "poll-text");
        area.maxLength = 500;
        area.rows = 2;
        area.placeholder = text.text_placeholder;
        area.setAttribute("aria-label", question.text);
        box.appendChild(area);
      } else {
        if (question.kind === "multiple") { box.appendChild(el("span", "poll-hint muted small", text.multiple_hint)); }
        question.options.forEach((option) => {
          const label = el("label", "poll-option");
          label.dataset.optionId = String(option.id);
          const input = el("input");
          input.type = question.kind === "multiple" ? "checkbox" : "radio";
          input.name = "poll-" + poll.id + "-q-" + question.id;
          input.value = String(option.id);
          label.append(input, el("span", "poll-option-text", option.text));
          box.appendChild(label);
        });
      }
      form.appendChild(box);
    });
    const submit = el("button", "btn small poll-vote", poll.kind === "poll" ? text.vote : text.submit);
    submit.type = "submit";
    form.appendChild(submit);
    return form;
  }

  function buildResults(poll) {
    const box = el("div", "poll-results hidden");
    poll.questions.forEach((question) => {
      const block = el("div", "poll-result");
      block.dataset.questionId = String(question.id);
      if (showQuestionText(poll, question)) { block.appendChild(el("div", "poll-question-text", question.text)); }
      if (question.kind === "text") {
        block.appendChild(el("p", "poll-text-count muted small"));
      }
      question.options.forEach((option) => {
        const bar = el("div", "poll-bar");
        bar.dataset.optionId = String(option.id);
        const fill = el("span", "poll-bar-fill");
        fill.setAttribute("aria-hidden", "true");
        const figures = el("span", "poll-figures");
        figures.append(el("span", "poll-votes"), el("span", "poll-percent"));
        bar.append(fill, el("span", "poll-option-text", option.text), figures);
        block.appendChild(bar);
      });
      box.appendChild(block);
    });
    return box;
  }

  function renderResults(node, question, myBallot) {
    const block = node.querySelector('.poll-result[data-question-id="' + question.id + '"]');
    if (!block) { return; }
    const mine = new Set(myBallot ? (myBallot[question.id] || myBallot[String(question.id)] || []) : []);
    const top = Math.max(0, ...question.options.map((o) => o.votes));
    question.options.forEach((option) => {
      const bar = block.querySelector('.poll-bar[data-option-id="' + option.id + '"]');
      if (!bar) { return; }
      bar.dataset.votes = String(option.votes);
      bar.classList.toggle("mine", mine.has(option.id));
      bar.classList.toggle("top", top > 0 && option.votes === top);
      bar.title = mine.has(option.id) ? text.mine : "";
      bar.querySelector(".poll-bar-fill").style.width = Math.min(100, option.percent) + "%";
      const votes = bar.querySelector(".poll-votes");
      votes.textContent = t("votes", { count: option.votes });
      votes.dataset.votes = String(option.votes);
      bar.querySelector(".poll-percent").textContent = formatPercent(option.percent);
    });
    const count = block.querySelector(".poll-text-count");
    if (count) { count.textContent = t("text_answers", { count: question.answered }); }
  }

  function formatPercent(value) {
    return (Math.round(value * 10) / 10) + "%";
  }

  function tick(entry) {
    const poll = entry.poll;
    const countdown = entry.node.querySelector(".poll-countdown");
    if (poll.status === "closed") {
      countdown.textContent = text.closed;
    } else if (!poll.closes_at) {
      countdown.textContent = text.no_deadline;
    } else if (expired(poll)) {
      countdown.textContent = text.closing;
    } else {
      countdown.textContent = t("closes_in", { time: duration((Date.parse(poll.closes_at) - clock.now()) / 1000) });
    }
    const voting = canVote(entry);
    if (entry.node.querySelector(".poll-form").classList.contains("hidden") === voting) {
      render(entry);  // the deadline passed: the ballot gives way to the results
    }
  }

  /* ---------- voting ---------- */

  function say(entry, message, kind) {
    const node = entry.node.querySelector(".poll-message");
    node.textContent = message || "";
    node.className = "poll-message small " + (kind || "");
    node.classList.toggle("hidden", !message);
  }

  function ballotOf(entry) {
    const answers = [];
    entry.poll.questions.forEach((question) => {
      const box = entry.node.querySelector('.poll-question[data-question-id="' + question.id + '"]');
      if (question.kind === "text") {
        const value = box.querySelector(".poll-text").value.trim();
        if (value) { answers.push({ question_id: question.id, option_ids: [], text: value }); }
      } else {
        const chosen = [...box.querySelectorAll("input:checked")].map((input) => Number(input.value));
        if (chosen.length) { answers.push({ question_id: question.id, option_ids: chosen }); }
      }
    });
    return answers;
  }

  async function vote(entry) {
    const answers = ballotOf(entry);
    const needed = entry.poll.kind === "poll" ? entry.poll.questions.length : 1;
    if (answers.length < needed) {
      say(entry, entry.poll.kind === "poll" ? text.choose : text.answer_all, "error");
      return;
    }
    const button = entry.node.querySelector(".poll-vote");
    button.disabled = true;
    button.textContent = text.voting;
    const answer = await postJson("/api/v1/polls/" + entry.poll.id + "/ballot", { answers: answers })
      .catch(() => ({ ok: false, status: 0, body: {} }));
    button.disabled = false;
    button.textContent = entry.poll.kind === "poll" ? text.vote : text.submit;
    if (answer.ok) {
      say(entry, entry.poll.kind === "poll" ? text.voted : text.answered, "ok");
      upsert(answer.body);
      return;
    }
    const code = answer.body && answer.body.code;
    say(entry, text[code] || (answer.body && answer.body.detail) || text.error, "error");
    if (code === "already_voted" || code === "poll_not_open") { refresh(entry.poll.id); }
  }

  function refresh(pollId) {
    return getJson("/api/v1/polls/" + pollId).then(upsert).catch(() => {});
  }

  cardsEl.addEventListener("submit", (event) => {
    const form = event.target.closest(".poll-form");
    if (!form) { return; }
    event.preventDefault();
    const entry = state.polls.get(Number(form.closest(".poll-card").dataset.pollId));
    if (entry && canVote(entry)) { vote(entry); }
  });

  cardsEl.addEventListener("click", (event) => {
    const dismiss = event.target.closest(".poll-dismiss");
    if (!dismiss) { return; }
    const pollId = Number(dismiss.closest(".poll-card").dataset.pollId);
    state.dismissed.add(pollId);
    remove(pollId);
  });

  /* ---------- loading and the timer ---------- */

  async function reload() {
    const polls = await getJson("/api/v1/rooms/" + ctx.roomId + "/polls").catch(() => null);
    if (!polls) { return; }
    const listed = new Set(polls.map((poll) => poll.id));
    [...state.polls.keys()].forEach((id) => { if (!listed.has(id)) { remove(id); } });
    polls.slice().reverse().forEach((poll) => {
      clock.sync(poll.server_now);
      const recent = poll.status === "closed" && poll.closed_at
        && clock.now() - Date.parse(poll.closed_at) < CLOSED_SHOW_MS;
      if (poll.status === "open" || (poll.status === "closed" && (recent || state.polls.has(poll.id)))) {
        upsert(poll);
      }
    });
  }

  setInterval(() => {
    state.polls.forEach((entry, id) => {
      if (entry.closedSeen !== null && Date.now() - entry.closedSeen > CLOSED_SHOW_MS) {
        state.dismissed.add(id);
        remove(id);
      } else if (entry.node) {
        tick(entry);
      }
    });
  }, TICK_MS);

  reload();
  return {
    handlers: {
      poll(event) { upsert(event.poll); },
      poll_results(event) {
        if (state.polls.has(event.poll.id) || event.poll.status === "open") { upsert(event.poll); }
      }
    },
    reload: reload
  };
}
