/* Q&A in the host console (console_room_qa.html): page data in #qa-console-config. The console
 * has no room socket, so the list refreshes every few seconds. */
import { mountQa } from "/static/qa.js";

const config = JSON.parse(document.getElementById("qa-console-config").textContent);
mountQa({
  roomId: config.roomId,
  signedIn: true,
  canModerate: true,
  me: () => ({ id: config.me }),
  pollMs: 3000
});
