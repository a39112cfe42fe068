/* The re-prompt banner: on every page of a signed-in member, when a consent was given on a
 * notice that has changed since (or a guardian's consent is awaited), a banner links to
 * /me/consent. Reads GET /api/v1/me/consents; shows nothing on the consent page itself. */

import { el, getJson } from "./kit.js";

const WORDS = {
  "zh-CN": { stale: "我们的隐私说明已更新，请重新确认你的选择。", guardian: "需要监护人同意后才能互动和支付。", open: "查看隐私选项" },
  en: { stale: "Our privacy notice has changed: please review your choices.", guardian: "A guardian must agree before you can interact or pay.", open: "Open privacy choices" }
};

async function banner() {
  if (location.pathname.startsWith("/me/consent")) { return; }
  const info = await getJson("/api/v1/me/consents").catch(() => null);
  if (!info) { return; }
  const stale = info.purposes.some((p) => p.stale);
  if (!stale && !info.awaiting_guardian) { return; }
  const words = WORDS[document.documentElement.lang] || WORDS["zh-CN"];
  const note = el("p", "alert", stale ? words.stale : words.guardian);
  note.id = "consent-banner";
  note.setAttribute("role", "alert");
  const link = el("a", "btn small", words.open);
  link.href = "/me/consent";
  note.append(" ", link);
  const main = document.querySelector("main");
  if (main) { main.prepend(note); }
}

banner();
