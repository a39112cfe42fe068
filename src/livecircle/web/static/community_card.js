/* livecircle room page: the room's communities (社群) with a one-click join, and the join card
 * the host pushes (room event community_card), which pops up over the player. A join from the
 * card sends the live show's id, so the community records which show brought the member.
 * community_count keeps the member counts live. Mounted by tools.js. */

import { el, format, getJson, postJson } from "./kit.js";

function inert() {
  return { handlers: {}, reload() {} };
}

/** ctx: {roomId, signedIn} */
export function mountCommunities(ctx) {
  const $ = (id) => document.getElementById(id);
  const panel = $("community-panel");
  if (!panel || !$("community-config")) { return inert(); }
  const config = JSON.parse($("community-config").textContent);
  const text = config.messages;
  const t = (key, values) => format(text[key] || text.error, values);
  const listEl = $("community-list");
  const groups = new Map();  // id -> {community, joined}
  let mine = new Set();

  function countLabel(community) {
    return t("members", { count: community.member_count });
  }

  function tierLabel(community) {
    return community.min_tier ? t("member_only", { tier: t("tier_" + community.min_tier) }) : "";
  }

  function joinButton(community, showId, className) {
    if (!config.signedIn) {
      const link = el("a", "btn small " + className, t("sign_in"));
      link.href = config.loginUrl;
      return link;
    }
    if (mine.has(community.id)) {
      const link = el("a", "btn small ghost " + className, t("joined") + " ✓");
      link.href = "/communities/" + community.id;
      return link;
    }
    const button = el("button", "btn small " + className, showId ? t("join_card") : t("join"));
    button.type = "button";
    button.dataset.communityId = String(community.id);
    button.addEventListener("click", () => join(community, showId, button));
    return button;
  }

  function join(community, showId, button) {
    button.disabled = true;
    button.textContent = t("joining");
    postJson("/api/v1/communities/" + community.id + "/join", showId ? { show_id: showId } : {}).then((r) => {
      if (!r.ok) {
        button.disabled = false;
        button.textContent = t(r.body.code || "error");
        return;
      }
      mine.add(community.id);
      const known = groups.get(community.id);
      if (known) { known.member_count = r.body.member_count; }
      render();
      const card = $("community-card");
      if (card && Number(card.dataset.communityId) === community.id) {
        card.querySelector(".community-card-actions").replaceChildren(
          el("span", "community-welcome", t("welcome", { name: community.name })),
          joinButton(community, showId, "community-card-join"));
      }
    });
  }

  function render() {
    listEl.replaceChildren(...Array.from(groups.values()).map((community) => {
      const item = el("li", "community-item");
      item.dataset.communityId = String(community.id);
      const name = el("a", "community-name", community.name);
      name.href = "/communities/" + community.id;
      const meta = el("span", "muted small community-count", countLabel(community));
      item.append(name, meta);
      if (community.min_tier) { item.append(el("span", "badge small", tierLabel(community))); }
      item.append(joinButton(community, null, "community-join"));
      return item;
    }));
    panel.classList.toggle("hidden", groups.size === 0);
  }

  function showCard(community, showId) {
    groups.set(community.id, Object.assign(groups.get(community.id) || {}, community));
    render();
    const old = $("community-card");
    if (old) { old.remove(); }
    const card = el("div", "community-card pop");
    card.id = "community-card";
    card.setAttribute("role", "dialog");
    card.setAttribute("aria-label", community.name);
    card.dataset.communityId = String(community.id);
    const close = el("button", "icon-button community-card-close", "×");
    close.type = "button";
    close.title = t("close");
    close.addEventListener("click", () => card.remove());
    const body = el("div", "community-card-body");
    body.append(el("strong", "community-card-name", "👥 " + community.name));
    if (community.description) { body.append(el("p", "small", community.description)); }
    if (community.rules) { body.append(el("p", "muted small community-card-rules", community.rules)); }
    const count = el("span", "muted small community-card-count", countLabel(community));
    body.append(count);
    if (community.min_tier) { body.append(el("span", "badge small", tierLabel(community))); }
    const actions = el("div", "community-card-actions");
    actions.append(joinButton(community, showId, "community-card-join"));
    card.append(close, body, actions);
    (document.querySelector(".player-box") || document.body).append(card);
  }

  function updateCount(update) {
    const known = groups.get(update.id);
    if (known) { known.member_count = update.member_count; render(); }
    const card = $("community-card");
    if (card && Number(card.dataset.communityId) === update.id) {
      card.querySelector(".community-card-count").textContent = countLabel(update);
    }
  }

  function reload() {
    const own = config.signedIn ? getJson("/api/v1/me/communities") : Promise.resolve([]);
    return Promise.all([getJson("/api/v1/communities?room_id=" + ctx.roomId), own]).then(([list, joined]) => {
      mine = new Set((joined || []).map((c) => c.id));
      (list || []).forEach((c) => groups.set(c.id, c));
      render();
    });
  }

  window.lcCommunities = { groups, mine: () => mine };  // for tests and debugging
  reload();
  return {
    handlers: {
      community_card: (event) => showCard(event.community, event.show_id),
      community_count: (event) => updateCount(event.community)
    },
    reload
  };
}
