/* The separate consent step (PIPL art. 29): when the API answers 403 consent_required for a
 * purpose (payment before a top-up or an order payment), askConsent(purpose) shows that
 * purpose's own notice in a dialog (never bundled with anything else), and on "I agree"
 * records the grant (PUT /api/v1/me/consents/{purpose} with the hash of the notice shown).
 * Resolves true once granted, false when the member said "not now". */

import { el, getJson, sendJson } from "./kit.js";

const LABELS = {
  "zh-CN": { agree: "同意", cancel: "暂不", sensitive: "敏感个人信息，需单独同意", more: "全部隐私选项" },
  en: { agree: "I agree", cancel: "Not now", sensitive: "Sensitive personal data: asked separately", more: "All privacy choices" }
};

function labels() {
  return LABELS[document.documentElement.lang] || LABELS["zh-CN"];
}

/** True when an API refusal asks for a consent. */
export function needsConsent(body) {
  return Boolean(body && body.code === "consent_required" && body.purpose);
}

export async function askConsent(purpose) {
  const info = await getJson("/api/v1/me/consents/" + encodeURIComponent(purpose)).catch(() => null);
  const state = info && info.purposes && info.purposes[0];
  if (!state) {
    window.location.assign("/me/consent/" + encodeURIComponent(purpose) + "?next=" + encodeURIComponent(location.pathname));
    return false;
  }
  if (state.granted) { return true; }
  const agreed = await showDialog(state);
  if (!agreed) { return false; }
  const answer = await sendJson("PUT", "/api/v1/me/consents/" + encodeURIComponent(purpose),
    { granted: true, text_hash: state.notice.text_hash }).catch(() => ({ ok: false }));
  return Boolean(answer.ok);
}

function showDialog(state) {
  const words = labels();
  const dialog = el("dialog", "consent-dialog card");
  dialog.id = "consent-dialog";
  dialog.dataset.purpose = state.purpose;
  dialog.append(el("h2", "", state.notice.title));
  if (state.sensitive) { dialog.append(el("p", "chip small", words.sensitive)); }
  dialog.append(el("p", "", state.notice.text));
  const agree = el("button", "btn", words.agree);
  agree.id = "consent-dialog-agree";
  agree.type = "button";
  const cancel = el("button", "btn ghost", words.cancel);
  cancel.id = "consent-dialog-cancel";
  cancel.type = "button";
  const more = el("a", "small", words.more);
  more.href = "/me/consent";
  const row = el("p", "row");
  row.append(agree, " ", cancel, " ", more);
  dialog.append(row);
  document.body.append(dialog);
  return new Promise((resolve) => {
    const done = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    agree.addEventListener("click", () => done(true));
    cancel.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", () => done(false));
    dialog.showModal();
  });
}
