/* One ticket: facts and controls (status, priority, assignee, department, tags), escalation, the
 * timeline refreshed live, the customer panel, the reply box and internal notes. */
import { agents, api, ApiError, departmentName, departments } from "./api.js";
import { customerPanel } from "./customer.js";
import { $, h, select } from "./dom.js";
import { fmtTime, lang, t, tv } from "./i18n.js";
import { PRIORITIES, STATUSES } from "./queue.js";
import { replyBox } from "./reply.js";
import { metricList } from "./sla.js";
import { onLeave, pageNumber, still } from "./state.js";
import { change as changeText, renderTimeline, who } from "./timeline.js";

const POLL_MS = 4000;

export function conflictText(err) {
  const b = (err && err.body) || {};
  if (b.claim) return t("claimConflict", { name: b.claim.name, since: fmtTime(b.claim.since) });
  if (b.newer_events) return t("newer");
  return t("conflict");
}

/** The 412 of a field change made on a stale view: who changed what, when; then that it was not applied. */
export function fieldConflictText(err) {
  const changes = ((err && err.body) || {}).changes || [];
  const lines = changes.map((c) => t("fieldConflictOne", { who: who({ actor: c.by }), at: fmtTime(c.at),
    change: changeText(c) }));
  return [...(lines.length ? lines : [t("conflict")]), t("fieldConflictAfter")].join(" ");
}

function controls(tk, people, depts, save) {
  const statusOptions = (tk.status === "new" ? ["new", ...STATUSES] : STATUSES).map((s) => [s, tv("st", s)]);
  const tagInput = h("input", { id: "tag-input", placeholder: t("addTag"), size: 12 });
  const addTag = () => { const v = tagInput.value.trim(); if (v) save({ tags: [...new Set([...(tk.tags || []), v])] }); };
  tagInput.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); addTag(); } });
  return h("div", { class: "controls", id: "controls" },
    h("label", {}, t("status"), select({ id: "ctl-status", onchange: (e) => save({ status: e.target.value }) },
      statusOptions, tk.status)),
    h("label", {}, t("priority"), select({ id: "ctl-priority", onchange: (e) => save({ priority: e.target.value }) },
      PRIORITIES.map((p) => [p, tv("pr", p)]), tk.priority)),
    h("label", {}, t("assignee"), select({ id: "ctl-assignee",
      onchange: (e) => save({ assignee: e.target.value || null }) },
    [["", t("nobody")], ...people.filter((a) => !a.disabled || a.id === tk.assignee).map((a) => [a.id, a.name])],
    tk.assignee || "")),
    h("label", {}, t("department"), select({ id: "ctl-department",
      onchange: (e) => save({ department: e.target.value || null }) },
    [["", t("none")], ...depts.map((d) => [d.id, d.name])], tk.department || "")),
    h("div", { class: "tags", id: "tags" }, h("span", { class: "label" }, t("tags")),
      (tk.tags || []).map((tag) => h("span", { class: "tag", "data-tag": tag }, tag,
        h("button", { type: "button", class: "tag-remove", title: t("removeTag"), "aria-label": t("removeTag") + " " + tag,
          onclick: () => save({ tags: (tk.tags || []).filter((x) => x !== tag) }) }, "×"))),
      tagInput, h("button", { type: "button", id: "tag-add", onclick: addTag }, t("add"))));
}

async function escalationPanel(tk, depts, reload) {
  const esc = tk.escalation;
  const result = h("p", { id: "esc-result", role: "status" });
  if (esc && esc.state === "open") {
    const note = h("input", { id: "esc-end-note", placeholder: t("escEndNote") });
    return h("div", { class: "panel", id: "escalation" }, h("h2", {}, t("escalation")),
      h("p", { id: "esc-state" }, t("esc_" + esc.state), " · ",
        t("escalatedTo", { dept: departmentName(esc.department), due: fmtTime(esc.due_at, true) })),
      h("div", { class: "row" }, note, h("button", { type: "button", id: "esc-end", onclick: async () => {
        try {
          await api("/tickets/" + tk.id + "/escalations/current", { method: "DELETE",
            json: note.value.trim() ? { reason: note.value.trim() } : {} });
          reload(t("escEnded"));
        } catch (err) { result.textContent = err.message; } } }, t("escEnd"))), result);
  }
  const last = esc ? h("p", { class: "muted", id: "esc-state" }, t("esc_" + esc.state), " · ",
    departmentName(esc.department)) : null;
  const suggested = tk.category ? (await api("/departments?category=" + encodeURIComponent(tk.category))).departments : [];
  const targets = depts.filter((d) => d.id !== "support");
  const first = (suggested.find((d) => d.id !== "support") || targets[0] || {}).id;
  const contactSel = select({ id: "esc-contact" }, [], "");
  const fillContacts = (deptId) => {
    const d = targets.find((x) => x.id === deptId) || {};
    contactSel.replaceChildren(...(d.contacts || []).map((c) => h("option", { value: c.id }, c.name)));
  };
  const deptSel = select({ id: "esc-dept", onchange: (e) => fillContacts(e.target.value) },
    targets.map((d) => [d.id, d.name + (suggested.some((s) => s.id === d.id) ? " ★" : "")]), first);
  fillContacts(first);
  const note = h("textarea", { id: "esc-note", placeholder: t("escNote"), rows: 2 });
  const due = h("input", { id: "esc-due", type: "number", min: 1, placeholder: t("escDueMinutes") });
  return h("div", { class: "panel", id: "escalation" }, h("h2", {}, t("escalate")), last,
    suggested.length ? h("p", { class: "muted", id: "esc-suggested" }, t("escSuggested", {
      dept: suggested.map((d) => d.name).join(", "), category: tv("cat", tk.category) })) : null,
    h("div", { class: "row" }, h("label", {}, t("department"), deptSel), h("label", {}, t("contact"), contactSel),
      h("label", {}, t("escDueMinutes"), due)), note,
    h("div", { class: "row" }, h("button", { type: "button", class: "primary", id: "esc-send", onclick: async () => {
      if (!note.value.trim()) { result.textContent = t("escNeedNote"); return; }
      const body = { department: deptSel.value, note: note.value };
      if (contactSel.value) body.contact = contactSel.value;
      if (due.value) body.due_minutes = Number(due.value);
      try { await api("/tickets/" + tk.id + "/escalations", { method: "POST", json: body });
        reload(t("escSent", { dept: departmentName(deptSel.value) })); } catch (err) { result.textContent = err.message; }
    } }, t("escalate"))), result);
}

export async function showTicket(id, message) {
  const app = $("app");
  const n = pageNumber();
  if (!message) app.replaceChildren(h("p", { class: "muted" }, t("loading")));
  const path = "/tickets/" + encodeURIComponent(id);
  const [tk, people, depts, customer] = await Promise.all([api(path + "?lang=" + lang), agents(), departments(),
    api(path + "/customer")]);
  if (!still(n)) return;
  const reload = (msg) => { if (still(n)) showTicket(id, msg); };
  const result = h("p", { id: "ctl-result", role: "status", class: "notice" }, message || "");
  async function save(change) {
    try {
      await api(path, { method: "PATCH", json: change, headers: { "If-Match": tk.etag } });
      reload(t("saved"));
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) { reload(fieldConflictText(err)); return; }
      result.textContent = err instanceof ApiError && err.status === 409 ? conflictText(err) : err.message;
    }
  }
  const state = { lastSeen: (tk.timeline || []).length ? tk.timeline[tk.timeline.length - 1].id : "" };
  let timelineEl = renderTimeline(tk.timeline || [], tk.id);
  tk.customer_lang = customer.lang;
  const reply = await replyBox(tk, state, reload);
  if (!still(n)) return;
  const facts = h("div", { class: "facts" },
    h("div", { class: "fact" }, h("span", {}, t("channel")), tv("ch", tk.channel)),
    h("div", { class: "fact" }, h("span", {}, t("category")), tv("cat", tk.category)),
    h("div", { class: "fact" }, h("span", {}, t("created")), fmtTime(tk.created_at, true)),
    h("div", { class: "fact" }, h("span", {}, t("policy")), tv("policy", tk.sla && tk.sla.policy)),
    metricList(tk.sla));
  const noteBox = h("textarea", { id: "note-body", placeholder: t("notePlaceholder"), rows: 2 });
  app.replaceChildren(
    h("p", {}, h("a", { href: "#/view/all", id: "back" }, t("back"))),
    h("h1", { id: "ticket-title" }, tk.number + " " + (tk.erased_at ? t("erasedSubject") : tk.subject),
      tk.erased_at ? h("span", { class: "badge erased", id: "ticket-erased-badge" }, t("erasedBadge")) : null),
    h("div", { class: "panel" }, facts, controls(tk, people, depts, save), result),
    h("p", { id: "new-activity", class: "notice", hidden: true, role: "status" }),
    h("div", { class: "grid2" },
      h("section", {}, h("h2", {}, t("timeline")), timelineEl),
      h("section", {}, reply.element, await escalationPanel(tk, depts, reload),
        customerPanel(customer, reload),
        h("div", { class: "panel" }, h("h2", {}, t("notes")), noteBox,
          h("div", { class: "row" }, h("button", { type: "button", id: "add-note", onclick: async () => {
            if (!noteBox.value.trim()) return;
            await api(path + "/notes", { method: "POST", json: { body: noteBox.value } });
            reload(t("noteAdded"));
          } }, t("addNote")))))));
  const timer = setInterval(async () => {
    let fresh;
    try { fresh = await api(path + "?lang=" + lang); } catch (err) { return; }
    if (!still(n)) return;
    reply.showClaim(fresh.claim);
    const events = fresh.timeline || [];
    const last = events.length ? events[events.length - 1].id : "";
    if (last !== state.lastSeen) {
      const added = events.filter((e) => e.id > state.lastSeen);
      const el = renderTimeline(events, tk.id); timelineEl.replaceWith(el); timelineEl = el; state.lastSeen = last;
      const note = $("new-activity");
      if (note) { note.hidden = false; note.textContent = t("newActivity", { n: added.length }); }
    }
  }, POLL_MS);
  onLeave(() => clearInterval(timer));
}
