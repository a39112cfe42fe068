/* 预约 (room_remind.html, included by the room page): "remind me" of the room's next scheduled
 * show, from GET /api/v1/rooms/{id}/reminder; labels in the box's data-* attributes. */
import { csrfToken } from "/static/kit.js";

const box = document.getElementById("remind-box");
let state = null;

function paint() {
  if (!state || !state.show) { box.classList.add("hidden"); return; }
  box.classList.remove("hidden");
  document.getElementById("remind-title").textContent = state.show.title;
  const time = document.getElementById("remind-time");
  time.dateTime = state.show.starts_at;
  time.textContent = new Date(state.show.starts_at).toLocaleString();
  document.getElementById("remind-count").textContent = state.signups
    ? box.dataset.labelCount.replace("%(count)s", state.signups) : "";
  const button = document.getElementById("remind-button");
  if (button) {
    button.textContent = state.signed_up ? box.dataset.labelOff : box.dataset.labelOn;
    button.classList.toggle("ghost", state.signed_up);
    button.setAttribute("aria-pressed", String(state.signed_up));
  }
}

async function load() {
  const reply = await fetch(`/api/v1/rooms/${box.dataset.roomId}/reminder`, { credentials: "same-origin" });
  if (reply.ok) { state = await reply.json(); paint(); }
}

if (box) {
  document.getElementById("remind-button")?.addEventListener("click", async () => {
    const button = document.getElementById("remind-button");
    button.disabled = true;
    const reply = await fetch(`/api/v1/shows/${state.show.id}/reminder`, {
      method: state.signed_up ? "DELETE" : "POST", credentials: "same-origin", headers: { "x-csrf-token": csrfToken() },
    });
    const message = document.getElementById("remind-message");
    message.classList.toggle("hidden", reply.ok);
    if (!reply.ok) message.textContent = box.dataset.labelError;
    button.disabled = false;
    await load();
  });
  load();
}
