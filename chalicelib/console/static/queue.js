/* Queues (all, open, unassigned, new, mine, at risk, breached, escalated, pending, on hold, solved),
 * their filters, search results and bulk actions on the selected rows. */
import { agentName, agents, api, ApiError, departmentName, departments } from "./api.js";
import { $, h, select } from "./dom.js";
import { fmtTime, lang, t, tv } from "./i18n.js";
import { slaBadge, worstMetric } from "./sla.js";
import { isManager, pageNumber, still, whoami } from "./state.js";

export const QUEUES = ["all", "open", "unassigned", "new", "mine", "at_risk", "breached", "escalated", "pending",
  "on-hold", "solved"];
export const STATUSES = ["open", "pending", "on-hold", "solved", "closed"];
export const PRIORITIES = ["low", "normal", "high", "urgent"];
const CHANNELS = ["email", "form", "chat", "slack", "line"];
const FILTERS = ["assignee", "department", "tag", "channel", "priority"];

function filterBar(view, params, people, depts) {
  const go = () => {
    const next = new URLSearchParams();
    if (params.get("q")) next.set("q", params.get("q"));
    for (const f of FILTERS) { const v = $("filter-" + f).value.trim(); if (v) next.set(f, v); }
    location.hash = "#/view/" + view + (next.toString() ? "?" + next : "");
  };
  const any = [["", t("any")]];
  return h("form", { class: "filters row", id: "filters", onsubmit: (e) => { e.preventDefault(); go(); } },
    h("label", {}, t("assignee"), select({ id: "filter-assignee", onchange: go },
      [...any, ["none", t("nobody")], ...people.map((a) => [a.id, a.name])], params.get("assignee"))),
    h("label", {}, t("department"), select({ id: "filter-department", onchange: go },
      [...any, ...depts.map((d) => [d.id, d.name])], params.get("department"))),
    h("label", {}, t("tag"), h("input", { id: "filter-tag", value: params.get("tag") || "", size: 10 })),
    h("label", {}, t("channel"), select({ id: "filter-channel", onchange: go },
      [...any, ...CHANNELS.map((c) => [c, tv("ch", c)])], params.get("channel"))),
    h("label", {}, t("priority"), select({ id: "filter-priority", onchange: go },
      [...any, ...PRIORITIES.map((p) => [p, tv("pr", p)])], params.get("priority"))),
    h("button", { type: "submit", id: "filter-apply" }, t("apply")));
}

function bulkBar(people, selected, refresh) {
  const result = h("span", { id: "bulk-result", role: "status" });
  const assignee = select({ id: "bulk-assignee" }, [["", t("bulkNoChange")],
    ...people.filter((a) => !a.disabled && (isManager() || a.id === (whoami() || {}).id)).map((a) => [a.id, a.name])], "");
  const status = select({ id: "bulk-status" }, [["", t("bulkNoChange")], ...STATUSES.map((s) => [s, tv("st", s)])], "");
  const tag = h("input", { id: "bulk-tag", placeholder: t("addTag"), size: 10 });
  async function apply() {
    const ids = [...selected].map(Number);
    if (!ids.length) { result.textContent = t("bulkNoneSelected"); return; }
    const body = { ids };
    if (assignee.value) body.assignee = assignee.value;
    if (status.value) body.status = status.value;
    if (tag.value.trim()) body.add_tags = [tag.value.trim()];
    if (Object.keys(body).length < 2) { result.textContent = t("bulkNothing"); return; }
    try {
      const r = await api("/tickets/bulk", { method: "POST", json: body });
      const failed = r.results.filter((x) => !x.ok);
      result.textContent = t("bulkDone", { n: r.changed }) +
        (failed.length ? " " + t("bulkFailed", { ids: failed.map((x) => "#" + x.id).join(", ") }) : "");
      refresh(result.textContent);
    } catch (err) {
      result.textContent = err instanceof ApiError && err.status === 403 ? t("forbidden") : err.message;
    }
  }
  return h("div", { class: "bulk row", id: "bulk" }, h("strong", { id: "bulk-count" }, t("selected", { n: 0 })),
    h("label", {}, t("assignTo"), assignee), h("label", {}, t("status"), status), tag,
    h("button", { type: "button", class: "primary", id: "bulk-apply", onclick: apply }, t("apply")), result);
}

function row(tk, view, selected, onToggle) {
  const worst = worstMetric(tk.sla);
  const box = h("input", { type: "checkbox", class: "pick", "data-ticket": tk.id, "aria-label": tk.number,
    checked: selected.has(String(tk.id)), onclick: (e) => e.stopPropagation(),
    onchange: (e) => onToggle(String(tk.id), e.target.checked) });
  const dept = view === "escalated" && tk.escalation
    ? t("escalatedTo", { dept: departmentName(tk.escalation.department), due: fmtTime(tk.escalation.due_at) })
    : (tk.department ? departmentName(tk.department) : "–");
  return h("tr", { class: "ticket-row urgency-" + ((worst && worst.urgency) || "none"), "data-ticket": tk.id,
                   onclick: () => { location.hash = "#/ticket/" + tk.id; } },
    h("td", { class: "pick-cell" }, box),
    h("td", { "data-label": t("number") }, h("a", { href: "#/ticket/" + tk.id }, tk.number)),
    h("td", { class: "subject", "data-label": t("subject") }, tk.erased_at ? t("erasedSubject") : tk.subject,
      (tk.tags || []).map((tag) => h("span", { class: "tag" }, tag))),
    h("td", { "data-label": t("customer") }, tk.customer.name || tk.customer.email || ""),
    h("td", { "data-label": t("status") }, tv("st", tk.status)),
    h("td", { "data-label": t("priority") }, tv("pr", tk.priority)),
    h("td", { class: "assignee", "data-label": t("assignee") }, tk.assignee ? agentName(tk.assignee) : "–"),
    h("td", { "data-label": t("department") }, dept),
    h("td", { class: "sla-cell", "data-label": t("sla") }, slaBadge(worst)));
}

export async function showQueue(view, params, message) {
  const app = $("app");
  const title = view === "search" ? t("searchResults", { q: params.get("q") || "" }) : t("view_" + view);
  app.replaceChildren(h("h1", {}, title), h("p", { class: "muted" }, t("loading")));
  const n = pageNumber();
  const [people, depts] = await Promise.all([agents(), departments()]);
  const query = new URLSearchParams({ limit: "50", lang });
  if (view === "search") query.set("q", params.get("q") || "");
  else query.set("view", view);
  for (const f of FILTERS) if (params.get(f)) query.set(f, params.get(f));
  let data;
  try {
    data = await api("/tickets?" + query);
  } catch (err) {
    if (!still(n)) return;
    app.replaceChildren(h("h1", {}, title), h("p", { class: "error", role: "alert" }, err.message));
    return;
  }
  if (!still(n)) return;
  const selected = new Set();
  const count = () => { const c = $("bulk-count"); if (c) c.textContent = t("selected", { n: selected.size }); };
  const toggle = (id, on) => { if (on) selected.add(id); else selected.delete(id); count(); };
  const rows = data.tickets.map((tk) => row(tk, view, selected, toggle));
  const all = h("input", { type: "checkbox", id: "pick-all", "aria-label": t("selectAll"), onchange: (e) => {
    for (const box of document.querySelectorAll("#ticket-list input.pick")) { box.checked = e.target.checked;
      toggle(box.dataset.ticket, e.target.checked); } } });
  const head = h("tr", {}, h("th", { class: "pick-cell" }, all), ["number", "subject", "customer", "status", "priority",
    "assignee", "department", "sla"].map((k) => h("th", {}, t(k))));
  app.replaceChildren(...[h("h1", {}, title),
    view === "search" ? h("p", { class: "muted", id: "search-kind" }, t("searchKind_" + data.search_kind)) : null,
    filterBar(view, params, people, depts),
    rows.length ? bulkBar(people, selected, (msg) => showQueue(view, params, msg)) : null,
    message ? h("p", { class: "notice", role: "status" }, message) : null,
    rows.length ? h("table", { id: "ticket-list", class: "tickets" }, h("thead", {}, head), h("tbody", {}, rows))
      : h("p", { class: "muted", id: "no-tickets" }, t("noTickets"))].filter(Boolean));
}
