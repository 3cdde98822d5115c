/* The reply box: "X is replying" (claim), template picker with live preview, pre-send checks,
 * override with a reason, and the status after sending. */
import { api, ApiError } from "./api.js";
import { attachBox } from "./attachments.js";
import { h, select } from "./dom.js";
import { fmtTime, lang, quote, t, tv } from "./i18n.js";
import { whoami } from "./state.js";

const REPLY_STATUSES = ["open", "pending", "on-hold", "solved"];
let templatesCache = null;

function claimLine(claim) {
  if (!claim) return h("div", { class: "claim muted", id: "claim-status" }, t("noClaim"));
  const mine = whoami() && claim.agent === whoami().id;
  return h("div", { class: "claim" + (mine ? "" : " other"), id: "claim-status" },
    t("claimBy", { name: claim.name, since: fmtTime(claim.since) }));
}

function problemList(problems) {
  if (!problems.length) return h("p", { class: "checks-ok", id: "presend-ok" }, t("checksOk"));
  return h("ul", { class: "problems", id: "presend-problems" }, problems.map((p) =>
    h("li", { class: p.check === "carrier_address" ? "advisory" : "blocking", "data-check": p.check, title: p.message },
      h("strong", {}, t("chk_" + p.check, null, p.message)), p.excerpt ? " " + quote(p.excerpt) : "")));
}

export async function replyBox(tk, state, reload) {
  if (!templatesCache) templatesCache = (await api("/templates")).templates;
  const draft = h("textarea", { id: "reply-body", placeholder: t("replyPlaceholder"), rows: 8 });
  const preview = h("pre", { id: "reply-preview", class: "preview", hidden: true });
  const checks = h("div", { id: "presend" });
  const overrideBox = h("input", { type: "checkbox", id: "override" });
  const overrideReason = h("input", { type: "text", id: "override-reason", placeholder: t("overrideReason") });
  const overrideRow = h("div", { class: "row", hidden: true }, h("label", {}, overrideBox, " " + t("override")),
    overrideReason);
  const status = select({ id: "reply-status" }, REPLY_STATUSES.map((s) => [s, t("after_" + s)]), "pending");
  const result = h("p", { id: "reply-result", role: "status" });
  const files = attachBox(tk);
  let claimEl = claimLine(tk.claim);
  let template = null;
  const showClaim = (claim) => { const fresh = claimLine(claim); claimEl.replaceWith(fresh); claimEl = fresh; };

  let asked = 0;  // only the newest preview is shown: a slower, older answer never overwrites it
  async function check() {
    if (!draft.value.trim()) { checks.replaceChildren(); preview.hidden = true; return null; }
    const mine = ++asked;
    const pv = await api("/tickets/" + tk.id + "/replies/preview", { method: "POST", json: { body: draft.value, lang } });
    if (mine !== asked) return pv;
    checks.replaceChildren(problemList(pv.problems));
    preview.textContent = pv.body; preview.hidden = false;
    showClaim(pv.claim);
    overrideRow.hidden = !pv.blocked;
    return pv;
  }
  let timer = null;
  draft.addEventListener("input", () => { template = null; clearTimeout(timer); timer = setTimeout(check, 600); });

  const picker = select({ id: "template", onchange: async (e) => {
    if (!e.target.value) return;
    template = e.target.value;
    result.textContent = "";
    overrideBox.checked = false;
    clearTimeout(timer);
    const tlang = tk.customer_lang || lang;
    const mine = ++asked;
    const pv = await api("/tickets/" + tk.id + "/replies/preview", { method: "POST",
      json: { template, lang: tlang } });
    if (mine !== asked) return;
    draft.value = pv.body;
    preview.textContent = pv.body; preview.hidden = false;
    checks.replaceChildren(problemList(pv.problems));
    overrideRow.hidden = !pv.blocked;
  } }, [["", t("pickTemplate")], ...templatesCache.map((x) => [x.name, (x.title && x.title[lang]) || x.name])], "");

  async function send() {
    if (!draft.value.trim()) { result.textContent = t("emptyReply"); return; }
    if (files.busy()) { result.textContent = t("uploadsPending"); return; }
    if (files.failed()) { result.textContent = t("removeFailedFiles"); return; }
    const payload = { body: draft.value, last_seen_event_id: state.lastSeen, status: status.value };
    if (files.ids().length) payload.attachments = files.ids();
    if (overrideBox.checked) { payload.override = true; payload.override_reason = overrideReason.value; }
    try {
      await api("/tickets/" + tk.id + "/replies", { method: "POST", json: payload });
      draft.value = "";
      files.clear();
      reload(t("sentAs", { status: tv("st", status.value) }));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 422) {
        checks.replaceChildren(problemList(err.body.problems || []));
        overrideRow.hidden = false; result.textContent = t("blocked");
      } else if (err.status === 409) {
        result.textContent = err.body.claim ? t("claimConflict", { name: err.body.claim.name,
          since: fmtTime(err.body.claim.since) }) : err.body.newer_events ? t("newer") : t("conflict");
      } else if (err.status === 400 && (err.body.errors || []).some((e) => e.pointer.startsWith("/attachments"))) {
        result.textContent = t("attachmentsRefused") + ": " + err.body.errors.map((e) => e.message).join("; ");
      } else result.textContent = t("failed") + ": " + err.message;
    }
  }

  async function claim(method) {
    try {
      const c = await api("/tickets/" + tk.id + "/claim", { method, json: method === "POST" ? {} : undefined });
      showClaim(method === "POST" ? c : null);
      result.textContent = "";
    } catch (err) {
      result.textContent = err instanceof ApiError && err.status === 409 && err.body.claim
        ? t("claimConflict", { name: err.body.claim.name, since: fmtTime(err.body.claim.since) }) : err.message;
    }
  }

  const element = h("div", { class: "panel", id: "reply" }, h("h2", {}, t("reply")), claimEl,
    h("div", { class: "row" },
      h("button", { type: "button", id: "claim", onclick: () => claim("POST") }, t("claim")),
      h("button", { type: "button", id: "release", onclick: () => claim("DELETE") }, t("release"))),
    h("div", { class: "row" }, h("label", {}, t("template"), picker)),
    draft, files.element, preview,
    h("div", { class: "row" }, h("button", { type: "button", id: "check", onclick: check }, t("check")),
      h("label", {}, t("afterSending"), status),
      h("button", { type: "button", class: "primary", id: "send", onclick: send }, t("send"))),
    overrideRow, checks, result);
  return { element, showClaim };
}
