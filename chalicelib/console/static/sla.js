/* Remaining-time labels and urgency badges (the labels come from the API in the agent's language). */
import { h } from "./dom.js";
import { t } from "./i18n.js";

const URGENCY_ORDER = { breached: 0, at_risk: 1, ok: 2, paused: 3 };

export function worstMetric(sla) {
  const metrics = Object.values((sla && sla.metrics) || {}).filter((m) => m.label);
  metrics.sort((a, b) => (URGENCY_ORDER[a.urgency] - URGENCY_ORDER[b.urgency]) ||
    (a.business_minutes_remaining - b.business_minutes_remaining));
  return metrics[0] || null;
}

export function slaBadge(metric, withName) {
  if (!metric) return h("span", { class: "muted" }, "–");
  return h("span", { class: "sla urgency-" + metric.urgency, title: t(metric.metric) },
    (withName === false ? "" : t(metric.metric) + " ") + metric.label);
}

export function metricList(sla) {
  return Object.values((sla && sla.metrics) || {}).filter((m) => m.label).map((m) =>
    h("div", { class: "fact" }, h("span", {}, t(m.metric)), slaBadge(m, false)));
}
