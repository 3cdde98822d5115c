/* KPI reports: cards, trend charts (vendored Chart.js, a classic script), SLA and escalation tables. */
import { api, departmentName, departments } from "./api.js";
import { $, h, select } from "./dom.js";
import { fmtMinutes, fmtTime, pct, t, tv } from "./i18n.js";
import { onLeave, pageNumber, still } from "./state.js";

function card(label, value, id) {
  return h("div", { class: "card", id }, h("div", { class: "value" }, value), h("div", { class: "label" }, label));
}

function lineChart(canvas, labels, datasets, yMax) {
  if (!window.Chart) return;
  const chart = new window.Chart(canvas, {
    type: datasets[0].type || "line",
    data: { labels, datasets },
    options: { responsive: true, maintainAspectRatio: false, animation: false, spanGaps: true,
      scales: { y: { beginAtZero: true, suggestedMax: yMax } }, plugins: { legend: { position: "bottom" } } },
  });
  onLeave(() => chart.destroy());
}

const groupLabel = (groupBy, g) => (g === null || g === undefined || g === "" || g === "(none)" ? t("none")
  : groupBy === "department" ? departmentName(g) : groupBy === "channel" ? tv("ch", g)
    : groupBy === "category" ? tv("cat", g) : g);

/* Days without an aggregate are not in the figures: say which, and let a supervisor queue their build. */
function pendingNotice(r) {
  const partial = r.daily.find((d) => d.source === "partial");
  const lines = [];
  if (partial) lines.push(h("p", { class: "muted", id: "kpi-partial" }, t("kpiPartial", {
    time: r.backlog && r.daily[r.daily.length - 1] === partial ? fmtTime(r.backlog.as_of, true) : partial.day })));
  if (r.pending && r.pending.length) {
    const days = r.pending.length > 6 ? r.pending.slice(0, 3).join(", ") + " … " + r.pending.slice(-2).join(", ")
      : r.pending.join(", ");
    const status = h("span", { id: "kpi-build-status" });
    const build = h("button", { type: "button", id: "kpi-build", onclick: async () => {
      build.disabled = true;
      try {
        const q = await api("/reports/aggregates", { method: "POST", json: { from: r.pending[0],
                                                                             to: r.pending[r.pending.length - 1] } });
        status.textContent = " " + t("kpiBuildQueued", { n: q.days });
      } catch (e) { status.textContent = " " + (e.status === 403 ? t("forbidden", null, "403") : String(e.status));
                    build.disabled = false; }
    } }, t("kpiBuild"));
    lines.push(h("div", { class: "notice", id: "kpi-pending" },
      h("p", {}, t("kpiPending", { n: r.pending.length, days })), build, status));
  }
  return lines.length ? h("div", {}, ...lines) : null;
}

export async function showReports(params) {
  const app = $("app");
  const n = pageNumber();
  const groupBy = params.get("group_by") || "";
  const fromIn = h("input", { type: "date", id: "report-from", value: params.get("from") || "" });
  const toIn = h("input", { type: "date", id: "report-to", value: params.get("to") || "" });
  const groupIn = select({ id: "report-group" }, ["", "agent", "department", "channel", "category"].map((g) =>
    [g, t(g || "none")]), groupBy);
  const query = () => [fromIn.value && "from=" + fromIn.value, toIn.value && "to=" + toIn.value,
    groupIn.value && "group_by=" + groupIn.value].filter(Boolean).join("&");
  const form = h("div", { class: "row" }, h("label", {}, t("from"), fromIn), h("label", {}, t("to"), toIn),
    h("label", {}, t("groupBy"), groupIn),
    h("button", { type: "button", class: "primary", id: "report-show",
                  onclick: () => { location.hash = "#/reports?" + query(); } }, t("show")),
    h("button", { type: "button", id: "report-csv", onclick: async () => {
      const resp = await api("/reports/kpis?format=csv&" + query(), { raw: true });
      const url = URL.createObjectURL(await resp.blob());
      const a = h("a", { href: url, download: "kpis-" + fromIn.value + "-" + toIn.value + ".csv" });
      document.body.append(a); a.click(); a.remove(); URL.revokeObjectURL(url);
    } }, t("csv")));
  app.replaceChildren(h("h1", {}, t("reports")), form, h("p", { class: "muted" }, t("loading")));
  const [r] = await Promise.all([api("/reports/kpis?" + query()), departments()]);
  if (!still(n)) return;
  fromIn.value = r.from; toIn.value = r.to;
  const tot = r.totals;
  const cards = h("div", { class: "cards", id: "kpi-cards" },
    card(t("kpiCreated"), tot.tickets_created, "kpi-created"),
    card(t("kpiFrt"), fmtMinutes(tot.first_response.business.median), "kpi-frt"),
    card(t("kpiFrtCal"), fmtMinutes(tot.first_response.calendar.median), "kpi-frt-cal"),
    card(t("kpiRes"), fmtMinutes(tot.resolution.business.median), "kpi-res"),
    card(t("kpiResRate"), pct(tot.resolution_rate), "kpi-res-rate"),
    card(t("kpiReopen"), pct(tot.reopen_rate), "kpi-reopen"),
    card(t("kpiRepeat"), pct(tot.repeat_contact_rate), "kpi-repeat"),
    card(t("kpiSla"), pct(tot.sla_attainment), "kpi-sla"),
    card(t("kpiBacklog"), r.backlog ? r.backlog.total : "–", "kpi-backlog"));
  const c1 = h("canvas", { id: "chart-frt" }), c2 = h("canvas", { id: "chart-sla" });
  const c3 = h("canvas", { id: "chart-backlog" });
  const chartsEl = h("div", { class: "charts" },
    h("div", { class: "chart" }, h("h2", {}, t("chartFrt")), h("div", { class: "chart-box" }, c1)),
    h("div", { class: "chart" }, h("h2", {}, t("chartSla")), h("div", { class: "chart-box" }, c2)),
    h("div", { class: "chart" }, h("h2", {}, t("chartBacklog")), h("div", { class: "chart-box" }, c3)));
  const table = (id, keys, rows) => h("div", { class: "scroll" }, h("table", { id },
    h("tr", {}, keys.map((k) => h("th", {}, t(k)))), rows));
  const slaTable = table("sla-table", ["policy", "metric", "met", "breached", "attainment"], tot.sla.map((s) =>
    h("tr", {}, h("td", {}, tv("policy", s.policy)), h("td", {}, t(s.metric)), h("td", {}, s.met),
      h("td", {}, s.breached), h("td", {}, pct(s.attainment)))));
  const escTable = table("escalation-table", ["department", "escalated", "answered", "returned", "returnRate",
    "responseMedian"], r.escalations.map((e) => h("tr", {}, h("td", {}, departmentName(e.department)),
    h("td", {}, e.escalated), h("td", {}, e.answered), h("td", {}, e.returned), h("td", {}, pct(e.return_rate)),
    h("td", {}, fmtMinutes(e.response.business.median)))));
  const ages = h("p", { id: "backlog-ages" }, t("backlogByAge") + ": " + (r.backlog ? Object.entries(r.backlog.by_age)
    .map(([k, v]) => t("age_" + k, null, k) + " " + v).join(" · ") : t("kpiNoBacklog")));
  const notice = pendingNotice(r);
  const groups = r.groups ? table("group-table", ["group", "kpiCreated", "kpiFrt", "kpiRes", "kpiResRate", "kpiSla"],
    r.groups.map((g) => h("tr", {}, h("td", {}, groupLabel(groupBy, g.group)), h("td", {}, g.tickets_created),
      h("td", {}, fmtMinutes(g.first_response.business.median)), h("td", {}, fmtMinutes(g.resolution.business.median)),
      h("td", {}, pct(g.resolution_rate)), h("td", {}, pct(g.sla_attainment))))) : null;
  app.replaceChildren(...[h("h1", {}, t("reports")), form, notice, cards, chartsEl,
    groups ? h("h2", {}, t("groups")) : null, groups, h("h2", {}, t("sla")), slaTable, ages,
    h("h2", {}, t("escalations")), escTable].filter(Boolean));
  const labels = r.daily.map((d) => d.day.slice(5));
  lineChart(c1, labels, [
    { label: t("business"), data: r.daily.map((d) => d.first_response_median_business_minutes), borderColor: "#2457c5",
      backgroundColor: "#2457c5" },
    { label: t("calendar"), data: r.daily.map((d) => d.first_response_median_minutes), borderColor: "#9aa7b8",
      backgroundColor: "#9aa7b8", borderDash: [4, 4] }]);
  lineChart(c2, labels, [{ label: t("kpiSla"), data: r.daily.map((d) => d.sla_attainment === null ? null
    : Math.round(d.sla_attainment * 1000) / 10), borderColor: "#2e7d32", backgroundColor: "#2e7d32" }], 100);
  lineChart(c3, labels, [{ type: "bar", label: t("kpiBacklog"), data: r.daily.map((d) => d.backlog),
    backgroundColor: "#b25e00" }]);
}
