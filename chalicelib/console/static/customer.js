/* The customer panel beside a ticket: identities, other tickets, VIP, language, name, notes, merge, and
 * (admins) the GDPR erasure with a typed confirmation. An erased customer shows as erased, nothing to edit. */
import { api, ApiError } from "./api.js";
import { h, select } from "./dom.js";
import { fmtTime, t, tv } from "./i18n.js";
import { isAdmin, isManager } from "./state.js";

async function findCustomerId(text) {
  const q = text.trim();
  if (!q.includes("@") && !q.includes(":")) return q; // a customer id
  const found = await api("/tickets?limit=1&q=" + encodeURIComponent(q));
  return found.tickets.length ? found.tickets[0].customer.id : null;
}

/** What the admin must type to confirm an erasure: the customer's email address, else their id. */
export const erasePhrase = (c) => c.email || c.id;

function erasedPanel(c) {
  return h("div", { class: "panel erased", id: "customer" },
    h("h2", {}, t("customer"), h("span", { class: "badge erased", id: "cust-erased-badge" }, t("erasedBadge"))),
    h("p", { id: "cust-erased-note" }, t("customerErasedNote", { at: fmtTime(c.erased_at) })));
}

function erasePanel(c, reload) {
  const status = h("p", { id: "erase-status", role: "status" });
  const typed = h("input", { id: "erase-confirm", autocomplete: "off", placeholder: erasePhrase(c) });
  const button = h("button", { type: "button", id: "erase", class: "danger", disabled: true }, t("eraseButton"));
  typed.addEventListener("input", () => { button.disabled = typed.value.trim() !== erasePhrase(c); });
  button.addEventListener("click", async () => {
    if (typed.value.trim() !== erasePhrase(c)) return;
    button.disabled = true;
    try {
      for (let round = 0; round < 1000; round += 1) { // bounded pages: 202 while tickets remain
        const res = await api("/customers/" + encodeURIComponent(c.id), { method: "DELETE" });
        if (res.status !== "in_progress") break;
        status.textContent = t("erasing", { n: (res.erasure.counts || {}).tickets || 0 });
      }
      reload(t("customerErased"));
    } catch (err) {
      status.textContent = err instanceof ApiError && err.status === 403 ? t("forbidden") : err.message;
      button.disabled = false;
    }
  });
  return h("details", { class: "danger-zone", id: "erase-zone" }, h("summary", {}, t("eraseTitle")),
    h("p", {}, t("eraseHelp")),
    h("label", {}, t("eraseTypePrompt", { phrase: erasePhrase(c) }), typed),
    h("div", { class: "row" }, button), status);
}

export function customerPanel(c, reload) {
  if (c.erased_at) return erasedPanel(c);
  const result = h("p", { id: "cust-result", role: "status" });
  const name = h("input", { id: "cust-name", value: c.name || "" });
  const vip = h("input", { type: "checkbox", id: "cust-vip", checked: c.vip, disabled: !isManager(),
    title: isManager() ? null : t("vipManagersOnly") });
  const language = select({ id: "cust-lang" }, [["ja", t("lang_ja")], ["en", t("lang_en")]], c.lang || "ja");
  const notes = h("textarea", { id: "cust-notes", rows: 2, placeholder: t("customerNotes") });
  notes.value = c.notes || "";
  async function save() {
    const change = {};
    if (name.value.trim() && name.value.trim() !== (c.name || "")) change.name = name.value.trim();
    if (isManager() && vip.checked !== Boolean(c.vip)) change.vip = vip.checked;
    if (language.value !== (c.lang || "ja")) change.lang = language.value;
    if (notes.value !== (c.notes || "")) change.notes = notes.value;
    if (!Object.keys(change).length) { result.textContent = t("nothingChanged"); return; }
    try {
      await api("/customers/" + encodeURIComponent(c.id), { method: "PATCH", json: change });
      reload(t("customerSaved"));
    } catch (err) { result.textContent = err instanceof ApiError && err.status === 403 ? t("forbidden") : err.message; }
  }
  const other = h("input", { id: "merge-other", placeholder: t("mergePlaceholder") });
  async function merge() {
    if (!other.value.trim()) return;
    const otherId = await findCustomerId(other.value);
    if (!otherId || otherId === c.id) { result.textContent = t("mergeNotFound"); return; }
    if (!window.confirm(t("mergeConfirm", { other: other.value.trim() }))) return;
    try {
      await api("/customers/" + encodeURIComponent(c.id) + "/merge", { method: "POST", json: { customer_id: otherId } });
      reload(t("merged"));
    } catch (err) { result.textContent = err.message; }
  }
  const others = c.other_tickets || [];
  return h("div", { class: "panel", id: "customer" }, h("h2", {}, t("customer"),
    c.vip ? h("span", { class: "badge vip", id: "cust-vip-badge" }, "VIP") : null),
  h("ul", { class: "identities", id: "identities" }, (c.identities || []).map((i) =>
    h("li", {}, h("span", { class: "muted" }, tv("idk", i.kind) + " "), i.value))),
  h("div", { class: "form-grid" },
    h("label", {}, t("name"), name),
    h("label", { class: "check" }, vip, " VIP"),
    h("label", {}, t("language"), language),
    h("label", { class: "wide" }, t("customerNotes"), notes)),
  h("div", { class: "row" }, h("button", { type: "button", id: "cust-save", onclick: save }, t("save"))),
  h("h3", {}, t("otherTickets", { n: others.length })),
  others.length ? h("ul", { class: "other-tickets", id: "other-tickets" }, others.map((o) =>
    h("li", {}, h("a", { href: "#/ticket/" + o.id }, o.number), " ", o.subject, " · ", tv("st", o.status))))
    : h("p", { class: "muted" }, t("noOtherTickets")),
  h("div", { class: "row" }, other, h("button", { type: "button", id: "merge", onclick: merge }, t("merge"))), result,
  isAdmin() ? erasePanel(c, reload) : null);
}
