/* Host console: the room's communities and their join cards. "Push join card" pops the card
 * up for every viewer of the live show (POST /api/v1/communities/{id}/card); member counts
 * refresh every few seconds (the console has no socket). */

import { el, getJson, postJson } from "./kit.js";

const REFRESH_MS = 3000;
const $ = (id) => document.getElementById(id);
const config = JSON.parse($("community-console-config").textContent);
const text = config.messages;

function say(message, kind) {
  const node = $("community-console-message");
  node.textContent = message;
  node.className = kind || "muted";
}

function push(community, button) {
  button.disabled = true;
  postJson("/api/v1/communities/" + community.id + "/card", {}).then((answer) => {
    button.disabled = false;
    say(answer.ok ? text.pushed : text[answer.body.code] || answer.body.detail || text.error,
      answer.ok ? "muted" : "error");
  });
}

function render(list) {
  const rows = list.map((community) => {
    const row = el("tr");
    row.dataset.communityId = String(community.id);
    const link = el("a", "", community.name);
    link.href = "/communities/" + community.id;
    const button = el("button", "btn small community-push", text.push);
    button.type = "button";
    button.addEventListener("click", () => push(community, button));
    const name = el("td");
    name.append(link);
    const actions = el("td");
    actions.append(button);
    row.append(name, el("td", "community-members", String(community.member_count)), actions);
    return row;
  });
  $("community-console-table").querySelector("tbody").replaceChildren(...rows);
  $("community-console-empty").classList.toggle("hidden", list.length > 0);
}

function refresh() {
  return getJson("/api/v1/communities?room_id=" + config.roomId).then((list) => render(list || []));
}

refresh();
setInterval(refresh, REFRESH_MS);
