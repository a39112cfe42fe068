/* livecircle room page: the follow button and the first-visit guide (新手引导). The guide
 * (GET /api/v1/rooms/{id}/guide) opens by itself the first time this browser visits the room,
 * and again from the "?" button: the room's rules as they apply now, the new-user coupon and
 * the follow gift, with what the viewer already holds. Following (PUT /rooms/{id}/follow)
 * hands out the follow gift on the server. Mounted by tools.js. */

import { el, format, getJson, sendJson, yuan } from "./kit.js";

const SEEN_KEY = "lc_guide_seen:";  // + room id, or + "all" (the viewer opted out everywhere)

function inert() {
  return { handlers: {}, reload() {} };
}

/** ctx: {roomId, signedIn} */
export function mountGuide(ctx) {
  const $ = (id) => document.getElementById(id);
  const dialog = $("guide");
  if (!dialog || !$("guide-config")) { return inert(); }
  const config = JSON.parse($("guide-config").textContent);
  const text = config.messages;
  const t = (key, values) => format(text[key] || text.error, values);
  const followButtons = [$("follow-button"), $("guide-follow-button")];
  let guide = null;

  function offerText(offer) {
    const values = { amount: yuan(offer.amount_off_cents), percent: offer.percent_off + "%", min: yuan(offer.min_spend_cents) };
    const key = offer.kind + (offer.min_spend_cents > 0 ? "_min" : "");
    const parts = [offer.name + " · " + t(key, values)];
    if (offer.valid_days) { parts.push(t("valid_days", { days: offer.valid_days })); }
    return parts.join(" · ");
  }

  function offers(listId, sectionId, list, how) {
    $(sectionId).classList.toggle("hidden", list.length === 0);
    $(listId).replaceChildren(...list.map((offer) => {
      const item = el("li", "guide-offer", offerText(offer));
      item.dataset.templateId = String(offer.template_id);
      item.append(el("span", offer.held ? "guide-held" : "muted small", " " + (offer.held ? t("held") : how)));
      return item;
    }));
  }

  function rules(r) {
    const lines = [t("mode_" + r.chat_mode)];
    if (r.slow_mode_seconds > 0) { lines.push(t("slow_mode", { seconds: r.slow_mode_seconds })); }
    if (r.min_account_age_minutes > 0) { lines.push(t("account_age", { minutes: r.min_account_age_minutes })); }
    lines.push(t("rate_limit", { messages: r.rate_limit_messages, seconds: r.rate_limit_seconds, length: r.chat_max_length }));
    lines.push(t("civility"));
    r.community_rules.forEach((c) => lines.push(t("community_rules", { name: c.name, rules: c.rules })));
    $("guide-rules").replaceChildren(...lines.map((line) => el("li", "", line)));
  }

  function renderFollow() {
    followButtons.forEach((button) => {
      const show = guide && !guide.is_host;
      button.classList.toggle("hidden", !show || (button.id === "guide-follow-button" && guide.following));
      button.textContent = guide && guide.following ? t("following") : t("follow");
      button.setAttribute("aria-pressed", String(!!(guide && guide.following)));
    });
  }

  function render() {
    rules(guide.rules);
    const newUserHow = guide.signed_in ? t("new_user_late") : t("new_user_how");
    offers("guide-new-user-list", "guide-new-user", guide.new_user_coupons, newUserHow);
    offers("guide-follow-list", "guide-follow", guide.follow_gifts, t("follow_how"));
    renderFollow();
  }

  function open() { dialog.classList.remove("hidden"); $("guide-close").focus(); }

  function close() {
    dialog.classList.add("hidden");
    try {
      localStorage.setItem(SEEN_KEY + ctx.roomId, "1");
      if ($("guide-never").checked) { localStorage.setItem(SEEN_KEY + "all", "1"); }
    } catch (_e) { /* private mode: the guide opens again next visit */ }
  }

  function follow() {
    if (!guide.signed_in) { window.location.href = config.loginUrl; return; }
    const method = guide.following ? "DELETE" : "PUT";
    sendJson(method, "/api/v1/rooms/" + ctx.roomId + "/follow").then((answer) => {
      if (answer.ok) { reload(); }
    });
  }

  function reload() {
    return getJson("/api/v1/rooms/" + ctx.roomId + "/guide").then((answer) => {
      if (!answer) { return; }
      guide = answer;
      window.lcGuide = guide;  // for tests and debugging
      render();
    });
  }

  let seen = false;
  try {
    seen = localStorage.getItem(SEEN_KEY + ctx.roomId) === "1" || localStorage.getItem(SEEN_KEY + "all") === "1";
  } catch (_e) { seen = false; }
  $("guide-button").addEventListener("click", open);
  $("guide-close").addEventListener("click", close);
  dialog.addEventListener("keydown", (event) => { if (event.key === "Escape") { close(); } });
  followButtons.forEach((button) => button.addEventListener("click", follow));
  reload().then(() => { if (!seen && guide && !guide.is_host) { open(); } });
  return { handlers: {}, reload };
}
