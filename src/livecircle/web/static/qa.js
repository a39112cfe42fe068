/* livecircle room page: live Q&A (问答). Viewers ask in the live show and upvote others'
 * questions; the host and moderators (room config canModerate) answer, pin and hide. Mounted by
 * tools.js, which hands it the room events qa_question and qa_update (docs/realtime.md); the
 * host console mounts it with pollMs instead (no socket there).
 *
 * Order everywhere, as on the server: pinned first, then most votes, then oldest first. Each
 * question keeps its <li> while it moves, so a click is never lost to a repaint in a vote storm. */

import { el, format, getJson, sendJson } from "./kit.js";

const MESSAGE_MS = 4000;

function inert() {
  return { handlers: {}, reload() {} };
}

/** ctx: {roomId, signedIn, me: () => the signed-in user or null, canModerate?, pollMs?} */
export function mountQa(ctx) {
  const $ = (id) => document.getElementById(id);
  const root = $("qa-panel");
  if (!root || !$("qa-config")) { return inert(); }
  const text = JSON.parse($("qa-config").textContent).messages;
  const t = (key, values) => format(text[key] || text.error, values);
  const roomConfig = $("room-config");
  const canModerate = roomConfig ? !!JSON.parse(roomConfig.textContent).canModerate : !!ctx.canModerate;
  const listEl = $("qa-list");
  const form = $("qa-form");
  const input = $("qa-input");
  const messageEl = $("qa-message");

  const qa = { showId: null, live: false, questions: new Map(), nodes: new Map(), loading: null, again: false };
  window.lcQa = qa;  // for tests and debugging

  /* ---------- state ---------- */

  function ranked() {
    return Array.from(qa.questions.values()).sort((a, b) =>
      (b.pinned - a.pinned) || (b.votes - a.votes) ||
      (Date.parse(a.created_at) - Date.parse(b.created_at)) || (a.id - b.id));
  }

  function merge(update) {
    const known = qa.questions.get(update.id);
    if (known) {
      Object.assign(known, update);
    } else if (update.text !== undefined) {
      qa.questions.set(update.id, Object.assign({ voted: false }, update));
    } else {
      return;  // a change to a question this page never had (hidden from it): nothing to show
    }
    if (update.pinned) {  // one pinned question per show
      qa.questions.forEach((q) => { if (q.id !== update.id) { q.pinned = false; } });
    }
  }

  function reload() {
    if (qa.loading) { qa.again = true; return qa.loading; }  // one more once this one is in
    qa.loading = getJson("/api/v1/rooms/" + ctx.roomId + "/questions").then((board) => {
      if (!board) { return; }
      qa.showId = board.show_id;
      qa.live = !!board.live;
      qa.questions.clear();
      board.questions.forEach((q) => qa.questions.set(q.id, q));
      render();
    }).finally(() => {
      qa.loading = null;
      if (qa.again) { qa.again = false; reload(); }
    });
    return qa.loading;
  }

  /* ---------- drawing ---------- */

  function render() {
    const shown = ranked().filter((q) => canModerate || q.status !== "hidden");
    const keep = new Set(shown.map((q) => q.id));
    qa.nodes.forEach((node, id) => { if (!keep.has(id)) { node.remove(); qa.nodes.delete(id); } });
    shown.forEach((q) => {
      let node = qa.nodes.get(q.id);
      if (!node) { node = build(q); qa.nodes.set(q.id, node); }
      paint(node, q);
      listEl.appendChild(node);  // moves an existing node into its place
    });
    const visible = shown.filter((q) => q.status !== "hidden").length;
    $("qa-count").textContent = visible ? t("count", { count: visible }) : "";
    $("qa-empty").classList.toggle("hidden", shown.length > 0);
    root.dataset.showId = qa.showId || "";
    root.dataset.live = String(qa.live);
    if (form) {
      input.disabled = !qa.live;
      $("qa-ask").disabled = !qa.live;
      input.placeholder = qa.live ? input.dataset.placeholder : t("not_live");
    }
  }

  function build(q) {
    const node = el("li", "qa-item");
    node.dataset.id = String(q.id);
    const vote = el("button", "qa-vote");
    vote.type = "button";
    vote.dataset.action = "vote";
    vote.append(el("span", "qa-arrow", "▲"), el("span", "qa-votes"));
    const body = el("div", "qa-body");
    const line = el("p", "qa-line");
    line.append(el("span", "qa-badges"), el("span", "qa-name"), el("span", "qa-text"));
    body.appendChild(line);
    if (canModerate) {
      const actions = el("div", "qa-actions");
      ["answer", "pin", "hide"].forEach((kind) => {
        const button = el("button", "btn small ghost qa-" + kind);
        button.type = "button";
        actions.appendChild(button);
      });
      body.appendChild(actions);
    }
    node.append(vote, body);
    return node;
  }

  function paint(node, q) {
    const me = ctx.me();
    const own = !!(me && me.id === q.user_id);
    node.dataset.status = q.status;
    node.classList.toggle("pinned", !!q.pinned);
    node.classList.toggle("answered", q.status === "answered");
    node.classList.toggle("hidden-question", q.status === "hidden");
    node.classList.toggle("own", own);
    const vote = node.querySelector(".qa-vote");
    vote.querySelector(".qa-votes").textContent = String(q.votes);
    vote.setAttribute("aria-pressed", String(!!q.voted));
    vote.title = q.voted ? t("upvoted") : t("upvote");
    vote.setAttribute("aria-label", t("upvote") + " (" + q.votes + ")");
    vote.disabled = !ctx.signedIn || own || !qa.live || q.status !== "open";
    const badges = node.querySelector(".qa-badges");
    badges.textContent = "";
    if (q.pinned) { badges.appendChild(el("span", "qa-badge pinned", "📌 " + t("pinned"))); }
    if (q.status === "answered") { badges.appendChild(el("span", "qa-badge answered", "✓ " + t("answered"))); }
    if (q.status === "hidden") { badges.appendChild(el("span", "qa-badge hidden-badge", t("hidden"))); }
    node.querySelector(".qa-name").textContent = q.display_name || "";
    node.querySelector(".qa-text").textContent = q.text || "";
    if (!canModerate) { return; }
    action(node.querySelector(".qa-answer"), q.status === "answered" ? "reopen" : "answered",
      q.status === "answered" ? t("reopen") : t("mark_answered"), q.status === "hidden");
    action(node.querySelector(".qa-pin"), q.pinned ? "unpin" : "pin", q.pinned ? t("unpin") : t("pin"),
      q.status === "hidden");
    action(node.querySelector(".qa-hide"), q.status === "hidden" ? "reopen" : "hide",
      q.status === "hidden" ? t("show") : t("hide"), false);
  }

  function action(button, name, label, disabled) {
    button.dataset.action = name;
    button.textContent = label;
    button.disabled = disabled;
  }

  /* ---------- acting ---------- */

  let messageTimer = null;
  function say(message, sticky) {
    messageEl.textContent = message;
    messageEl.classList.remove("hidden");
    clearTimeout(messageTimer);
    if (!sticky) { messageTimer = setTimeout(() => messageEl.classList.add("hidden"), MESSAGE_MS); }
  }

  function explain(body) {
    const code = body && body.code;
    return t(code && text[code] ? code : "error", { seconds: Math.ceil(body.retry_after || 0), limit: body.limit });
  }

  function answered(result) {
    if (result.ok) { merge(result.body); render(); return true; }
    say(explain(result.body));
    if (result.status === 404 || result.status === 409) { reload(); }  // the list is stale
    return false;
  }

  const CHANGES = {
    answered: { status: "answered" },
    reopen: { status: "open" },
    hide: { status: "hidden" },
    pin: { pinned: true },
    unpin: { pinned: false }
  };

  listEl.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const node = button && button.closest(".qa-item");
    if (!node || button.disabled) { return; }
    const q = qa.questions.get(Number(node.dataset.id));
    if (!q) { return; }
    const url = "/api/v1/questions/" + q.id;
    button.disabled = true;
    const done = sendWith(button.dataset.action, q, url).then(answered);
    done.finally(() => { render(); });
  });

  function sendWith(name, q, url) {
    if (name === "vote") { return sendJson(q.voted ? "DELETE" : "PUT", url + "/vote"); }
    return sendJson("PATCH", url, CHANGES[name]);
  }

  if (form) {
    input.dataset.placeholder = input.placeholder;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value || input.disabled) { return; }
      $("qa-ask").disabled = true;
      sendJson("POST", "/api/v1/rooms/" + ctx.roomId + "/questions", { text: value }).then((result) => {
        if (result.ok) {
          input.value = "";
          say(result.status === 202 ? t("held") : t("asked"));
          if (result.status !== 202) { merge(result.body); }
          render();
        } else {
          say(explain(result.body));
          if (result.body && result.body.code === "show_not_live") { reload(); }
        }
      }).finally(() => { $("qa-ask").disabled = !qa.live; });
    });
  }

  /* ---------- room events ---------- */

  const handlers = {
    qa_question(event) {
      if (event.question.show_id !== qa.showId) { reload(); return; }  // a show this page missed
      merge(event.question);
      render();
    },
    qa_update(event) {
      if (event.show_id !== qa.showId) {
        if (event.live !== false) { reload(); }  // another show went live
        return;
      }
      if (event.live !== undefined) { qa.live = event.live; }
      event.questions.forEach(merge);
      render();
    }
  };

  if (ctx.pollMs) { setInterval(reload, ctx.pollMs); }
  reload();
  return { handlers: handlers, reload: reload };
}
