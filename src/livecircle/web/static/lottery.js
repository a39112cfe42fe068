/* livecircle room page: lotteries (抽奖). An open lottery shows its prizes, its rules in words,
 * the seed's hash (fixed before anyone joins), the countdown to the draw (on the server's clock)
 * and the join button; joining tells the viewer their code and which rules they still miss
 * (checked again at the draw, so it can be re-checked). After the draw: the winners, "you won"
 * for the signed-in winner, the address form for a physical prize, and the audit link.
 *
 * Mounted by tools.js, which passes the room events "lottery" (opened) and "lottery_drawn";
 * reload() fetches the show's lotteries after a (re)connect. Strings come translated from
 * room_lottery.html. */

import { duration, el, format, getJson, postJson, sendJson, serverClock } from "./kit.js";

const TICK_MS = 500;
const DRAWN_SHOW_MS = 5 * 60000;   // the winners stay on screen this long (a winner's own card: until closed)
const RECHECK_AFTER_MS = 1500;     // a chat line reaches the database within a fraction of that

export function mountLottery(ctx) {
  const panel = document.getElementById("lottery-panel");
  const configNode = document.getElementById("lottery-config");
  if (!panel || !configNode) { return { handlers: {}, reload() {} }; }
  const config = JSON.parse(configNode.textContent);
  const text = config.messages;
  const t = (key, values) => format(text[key] || key, values);
  const cardsEl = document.getElementById("lottery-cards");
  const clock = serverClock();
  // lottery id -> {lottery, me: {joined, missing, code} | null, drawnSeen, node, addressForm}
  const state = { lotteries: new Map(), dismissed: new Set(), clock: clock };
  window.lcLottery = state;  // for tests and debugging

  function myId() {
    const me = ctx.me && ctx.me();
    return me ? me.id : null;
  }

  /* ---------- words ---------- */

  function ruleText(rule) {
    if (rule.kind === "tier") { return t("rule_tier", { tier: text["tier_" + rule.tier] || rule.tier }); }
    return t("rule_" + rule.kind, rule);
  }

  function prizeText(prize) {
    const detail = prize.kind === "points" || prize.kind === "gift"
      ? t("prize_" + prize.kind, { amount: prize.amount }) : text["prize_" + prize.kind];
    return prize.name + " ×" + prize.quantity + (detail ? " · " + detail : "");
  }

  function myWinner(lottery) {
    const id = myId();
    return id === null ? null : (lottery.winners || []).find((w) => w.user_id === id) || null;
  }

  /* ---------- state ---------- */

  function upsert(view) {
    if (!view || view.status === "draft" || state.dismissed.has(view.id)) { return; }
    clock.sync(view.server_now);
    let entry = state.lotteries.get(view.id);
    if (!entry) {
      entry = { lottery: view, me: null, drawnSeen: null, node: null, addressForm: null };
      state.lotteries.set(view.id, entry);
    }
    if (entry.lottery.status === "drawn" && view.status === "open") { return; }  // a stale view
    entry.lottery = view;
    if (view.me) { entry.me = view.me; }
    if (view.status === "drawn" && entry.drawnSeen === null) { entry.drawnSeen = Date.now(); }
    render(entry);
  }

  function remove(lotteryId) {
    const entry = state.lotteries.get(lotteryId);
    if (entry && entry.node) { entry.node.remove(); }
    state.lotteries.delete(lotteryId);
    panel.classList.toggle("hidden", state.lotteries.size === 0);
  }

  /* ---------- the card ---------- */

  function render(entry) {
    const lottery = entry.lottery;
    const fresh = !entry.node;
    if (fresh) {
      entry.node = el("article", "lottery-card");
      entry.node.dataset.lotteryId = String(lottery.id);
      cardsEl.prepend(entry.node);
    }
    const node = entry.node;
    node.dataset.status = lottery.status;
    node.textContent = "";
    node.appendChild(head(lottery));
    node.appendChild(el("h3", "lottery-title", lottery.title));
    node.appendChild(prizeList(lottery));
    if (lottery.status === "open") {
      node.appendChild(ruleList(entry));
      node.appendChild(seedLine(lottery));
      node.appendChild(joinBox(entry));
    } else {
      node.appendChild(resultBox(entry));
    }
    const audit = el("a", "lottery-audit-link small", text.audit);
    audit.href = "/lotteries/" + lottery.id + "/audit";
    audit.target = "_blank";
    audit.rel = "noopener";
    node.appendChild(audit);
    tick(entry);
    panel.classList.remove("hidden");
  }

  function head(lottery) {
    const box = el("div", "lottery-head");
    box.append(el("span", "lottery-kind", "🎁 " + text.lottery), el("span", "lottery-countdown"));
    if (lottery.status === "drawn") {
      const close = el("button", "icon-button lottery-dismiss", "×");
      close.type = "button";
      close.title = text.close;
      close.setAttribute("aria-label", text.close);
      box.appendChild(close);
    }
    return box;
  }

  function prizeList(lottery) {
    const list = el("ul", "lottery-prizes");
    list.setAttribute("aria-label", text.prizes);
    lottery.prizes.forEach((prize) => {
      const li = el("li", "lottery-prize", prizeText(prize));
      li.dataset.kind = prize.kind;
      list.appendChild(li);
    });
    return list;
  }

  function ruleList(entry) {
    const box = el("div", "lottery-rules-box");
    box.appendChild(el("span", "lottery-label muted small", text.rules));
    const list = el("ul", "lottery-rules");
    const missing = entry.me && entry.me.joined ? new Set(entry.me.missing) : null;
    if (!entry.lottery.rules.length) { list.appendChild(el("li", "lottery-rule", text.rule_none)); }
    entry.lottery.rules.forEach((rule) => {
      const li = el("li", "lottery-rule", ruleText(rule));
      li.dataset.rule = rule.kind;
      if (missing) { li.classList.add(missing.has(rule.kind) ? "missing" : "met"); }
      if (rule.kind === "keyword" && config.signedIn && document.getElementById("chat-input")) {
        const say = el("button", "btn small ghost lottery-say", text.say_it);
        say.type = "button";
        say.dataset.keyword = rule.keyword;
        li.append(" ", say);
      }
      list.appendChild(li);
    });
    box.appendChild(list);
    return box;
  }

  function seedLine(lottery) {
    const box = el("div", "lottery-seed small");
    if (!lottery.seed_hash) { return box; }
    const hash = el("code", "lottery-seed-hash", lottery.seed_hash.slice(0, 12) + "…");
    hash.title = lottery.seed_hash;
    hash.dataset.hash = lottery.seed_hash;
    const label = t("seed", { hash: "\u0000" }).split("\u0000");
    box.append(label[0] || "", hash, label[1] || "");
    const help = el("details", "lottery-seed-help");
    help.append(el("summary", "", text.seed_help), el("p", "muted", text.seed_explain));
    box.appendChild(help);
    return box;
  }

  function joinBox(entry) {
    const box = el("div", "lottery-join-box");
    if (!config.signedIn) {
      const link = el("a", "", text.sign_in);
      link.href = config.loginUrl;
      const line = el("p", "lottery-signin small");
      line.append(link, " " + text.sign_in_to_join);
      box.appendChild(line);
      return box;
    }
    if (!entry.me || !entry.me.joined) {
      const join = el("button", "btn small lottery-join", entry.joining ? text.joining : text.join);
      join.type = "button";
      join.disabled = !!entry.joining;
      box.appendChild(join);
    } else {
      const me = el("div", "lottery-me small");
      me.appendChild(el("p", "lottery-code", t("joined", { code: entry.me.code })));
      if (entry.me.missing.length) {
        const rules = entry.me.missing.map((kind) => {
          const rule = entry.lottery.rules.find((r) => r.kind === kind);
          return rule ? ruleText(rule) : kind;
        });
        const missing = el("p", "lottery-missing", t("missing", { rules: rules.join("、") }));
        const recheck = el("button", "btn small ghost lottery-recheck", text.recheck);
        recheck.type = "button";
        me.append(missing, el("p", "muted", text.checked_at_draw), recheck);
      } else {
        me.appendChild(el("p", "lottery-ready", text.all_met));
      }
      box.appendChild(me);
    }
    if (entry.message) {
      const message = el("p", "lottery-message small error", entry.message);
      message.setAttribute("role", "alert");
      box.appendChild(message);
    }
    return box;
  }

  function resultBox(entry) {
    const lottery = entry.lottery;
    const box = el("div", "lottery-result");
    const mine = myWinner(lottery);
    if (mine) {
      const won = el("div", "lottery-won");
      won.setAttribute("role", "status");
      won.appendChild(el("p", "lottery-won-title", t("you_won", { prize: mine.prize || "" })));
      won.appendChild(el("p", "lottery-won-status small", text["status_" + mine.status] || ""));
      if (mine.status === "awaiting_address") { won.appendChild(addressForm(entry)); }
      box.appendChild(won);
    } else if (entry.me && entry.me.joined) {
      box.appendChild(el("p", "lottery-lost small", text.not_won));
    }
    box.appendChild(el("span", "lottery-label muted small", text.winners));
    if (!lottery.winners.length) {
      box.appendChild(el("p", "lottery-no-winner muted small", text.no_winner));
      return box;
    }
    const list = el("ol", "lottery-winners");
    lottery.winners.forEach((winner) => {
      const li = el("li", "lottery-winner");
      li.dataset.userId = String(winner.user_id);
      li.classList.toggle("mine", !!mine && winner.user_id === mine.user_id);
      li.append(el("code", "lottery-winner-code", winner.code), " ", el("span", "lottery-winner-prize", winner.prize || ""));
      list.appendChild(li);
    });
    box.appendChild(list);
    if (lottery.entrants !== null && lottery.entrants !== undefined) {
      box.appendChild(el("p", "muted small", t("winner_count", { count: lottery.winners.length, entrants: lottery.entrants })));
    }
    return box;
  }

  function addressForm(entry) {
    if (entry.addressForm) { return entry.addressForm; }
    const form = el("form", "lottery-address-form stack small");
    form.autocomplete = "on";
    [["name", 50, "name"], ["phone", 20, "tel"], ["address", 300, "street-address"]].forEach(([field, max, auto]) => {
      const label = el("label", "", text["address_" + field]);
      const input = el("input");
      input.name = field;
      input.maxLength = max;
      input.required = true;
      input.autocomplete = auto;
      if (field === "phone") { input.type = "tel"; input.pattern = "\\+?[0-9 \\-]{5,20}"; }
      label.appendChild(input);
      form.appendChild(label);
    });
    const send = el("button", "btn small lottery-address-send", text.address_send);
    send.type = "submit";
    const message = el("p", "lottery-address-message");
    message.setAttribute("role", "alert");
    form.append(send, message);
    entry.addressForm = form;
    return form;
  }

  function tick(entry) {
    const lottery = entry.lottery;
    const countdown = entry.node.querySelector(".lottery-countdown");
    if (lottery.status === "drawn") {
      countdown.textContent = text.drawn;
    } else if (!lottery.draw_at) {
      countdown.textContent = text.host_draws;
    } else {
      const left = (Date.parse(lottery.draw_at) - clock.now()) / 1000;
      countdown.textContent = left > 0 ? t("draws_in", { time: duration(left) }) : text.drawing;
    }
  }

  /* ---------- joining ---------- */

  async function join(entry, again) {
    entry.joining = true;
    entry.message = "";
    if (!again) { render(entry); }
    const answer = await postJson("/api/v1/lotteries/" + entry.lottery.id + "/entry", {})
      .catch(() => ({ ok: false, status: 0, body: {} }));
    entry.joining = false;
    if (answer.ok) {
      const missing = answer.body.missing || [];
      entry.me = { joined: true, missing: missing, code: entry.me ? entry.me.code : "" };
      await refresh(entry.lottery.id);  // the view brings my code
    } else {
      const code = answer.body && answer.body.code;
      entry.message = text[code] || (answer.body && answer.body.detail) || text.error;
      if (code === "lottery_not_open") { refresh(entry.lottery.id); }
    }
    if (entry.lottery.status === "open") { render(entry); }
    if (answer.ok && entry.me.missing.length && !again) {
      setTimeout(() => { if (entry.lottery.status === "open") { join(entry, true); } }, RECHECK_AFTER_MS);
    }
  }

  function refresh(lotteryId) {
    return getJson("/api/v1/lotteries/" + lotteryId).then(upsert).catch(() => {});
  }

  async function sendAddress(entry, form) {
    const body = {};
    ["name", "phone", "address"].forEach((field) => { body[field] = form.elements[field].value.trim(); });
    const message = form.querySelector(".lottery-address-message");
    if (!form.checkValidity() || body.address.length < 5) {
      message.textContent = text.address_invalid;
      message.className = "lottery-address-message error";
      return;
    }
    form.querySelector(".lottery-address-send").disabled = true;
    const answer = await sendJson("PUT", "/api/v1/lotteries/" + entry.lottery.id + "/address", body)
      .catch(() => ({ ok: false, status: 0, body: {} }));
    form.querySelector(".lottery-address-send").disabled = false;
    if (answer.ok) {
      const mine = myWinner(entry.lottery);
      if (mine) { mine.status = answer.body.status || "address_given"; }
      render(entry);
      return;
    }
    const code = answer.body && answer.body.code;
    message.textContent = answer.status === 422 ? text.address_invalid : text[code] || answer.body.detail || text.error;
    message.className = "lottery-address-message error";
  }

  cardsEl.addEventListener("click", (event) => {
    const card = event.target.closest(".lottery-card");
    const entry = card && state.lotteries.get(Number(card.dataset.lotteryId));
    if (!entry) { return; }
    if (event.target.closest(".lottery-join")) { join(entry, false); }
    if (event.target.closest(".lottery-recheck")) { join(entry, true); }
    if (event.target.closest(".lottery-dismiss")) { state.dismissed.add(entry.lottery.id); remove(entry.lottery.id); }
    const say = event.target.closest(".lottery-say");
    if (say) {
      const input = document.getElementById("chat-input");
      if (input && !input.disabled) { input.value = say.dataset.keyword; input.focus(); }
    }
  });

  cardsEl.addEventListener("submit", (event) => {
    const form = event.target.closest(".lottery-address-form");
    const card = form && form.closest(".lottery-card");
    const entry = card && state.lotteries.get(Number(card.dataset.lotteryId));
    if (!entry) { return; }
    event.preventDefault();
    sendAddress(entry, form);
  });

  // Saying the keyword in chat after joining: look again once the line is stored. Capture
  // phase, to read the line before the chat form clears its input.
  document.addEventListener("submit", (event) => {
    if (!event.target || event.target.id !== "chat-form") { return; }
    const input = document.getElementById("chat-input");
    const line = input ? input.value.toLowerCase() : "";
    state.lotteries.forEach((entry) => {
      const rule = entry.lottery.rules.find((r) => r.kind === "keyword");
      if (entry.lottery.status === "open" && entry.me && entry.me.joined && rule
          && entry.me.missing.includes("keyword") && line.includes(String(rule.keyword).toLowerCase())) {
        setTimeout(() => join(entry, true), RECHECK_AFTER_MS);
      }
    });
  }, true);

  /* ---------- loading and the timer ---------- */

  async function reload() {
    const lotteries = await getJson("/api/v1/rooms/" + ctx.roomId + "/lotteries").catch(() => null);
    if (!lotteries) { return; }
    const listed = new Set(lotteries.map((lottery) => lottery.id));
    [...state.lotteries.keys()].forEach((id) => { if (!listed.has(id)) { remove(id); } });
    lotteries.slice().reverse().forEach((lottery) => {
      clock.sync(lottery.server_now);
      const drawnAt = Date.parse(lottery.drawn_at);
      const mine = myWinner(lottery);
      const recent = lottery.status === "drawn" && (clock.now() - drawnAt < DRAWN_SHOW_MS
        || (mine && mine.status === "awaiting_address") || state.lotteries.has(lottery.id));
      if (lottery.status === "open" || recent) { upsert(lottery); }
    });
  }

  setInterval(() => {
    state.lotteries.forEach((entry, id) => {
      const mine = myWinner(entry.lottery);
      const keep = mine && mine.status === "awaiting_address";
      if (entry.drawnSeen !== null && !keep && Date.now() - entry.drawnSeen > DRAWN_SHOW_MS) {
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
      lottery(event) { upsert(event.lottery); },
      lottery_drawn(event) { upsert(event.lottery); }
    },
    reload: reload
  };
}
