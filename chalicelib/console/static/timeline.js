/* One ticket's timeline: every event type and value in the agent's language, names instead of ids. */
import { agentName, departmentName } from "./api.js";
import { attachmentChips } from "./attachments.js";
import { excerpt, h } from "./dom.js";
import { fmtTime, quote, t, tv } from "./i18n.js";

const FIELD_KIND = { status: "st", priority: "pr" };

/** Who did an event, by name. */
export function who(ev) {
  const d = ev.data || {};
  if (ev.type === "message_out") return d.auto_reply ? t("autoReply") : agentName(d.agent) || d.agent_name || "";
  if (ev.type === "message_in" || ev.type === "internal_message") return (d.from && (d.from.name || d.from.email)) || (d.erased ? t("actorCustomer") : "");
  const actor = ev.actor || "";
  if (actor.startsWith("agent:")) return agentName(actor.slice(6));
  if (actor.startsWith("system") || actor === "") return t("actorSystem");
  if (actor.startsWith("contact:")) return t("actorContact");
  if (actor.startsWith("customer:")) return t("actorCustomer");
  return actor;
}

/** A field change ({field, from, to}) in words: "Priority: Normal → High". */
export function change(d) {
  if (d.field === "tags") {
    const from = new Set(d.from || []), to = new Set(d.to || []);
    const added = [...to].filter((x) => !from.has(x)), removed = [...from].filter((x) => !to.has(x));
    return [added.length ? t("tagsAdded", { tags: added.join(", ") }) : null,
      removed.length ? t("tagsRemoved", { tags: removed.join(", ") }) : null].filter(Boolean).join(" / ");
  }
  const show = (v) => (d.field === "assignee" ? (v ? agentName(v) : t("nobody"))
    : d.field === "department" ? (v ? departmentName(v) : t("none")) : tv(FIELD_KIND[d.field] || d.field, v));
  return t("field_" + d.field) + ": " + show(d.from) + " → " + show(d.to);
}

function erasedCounts(counts) {
  const c = counts || {};
  return t("erasedEventBody", { events: c.events_scrubbed || 0, objects: c.objects_deleted || 0,
    outbox: (c.outbox_cancelled || 0) + (c.outbox_scrubbed || 0) });
}

export function eventBody(ev) {
  const d = ev.data || {};
  if (ev.type === "customer_erased") return erasedCounts(d.counts);
  const body = contentOf(ev, d);
  return d.erased && !body && CONTENT.has(ev.type) ? t("erasedContent") : body;
}

const CONTENT = new Set(["message_in", "internal_message", "message_out", "note", "delivery_failed",
  "auto_reply_not_sent", "escalation_declined"]);

function contentOf(ev, d) {
  switch (ev.type) {
    case "message_in": case "internal_message": case "message_out": return d.body_text || "";
    case "note": return d.body || "";
    case "status_changed": case "priority_changed": case "assigned": case "tags_changed": return change(d);
    case "escalated": return t("escalatedBody", { dept: departmentName(d.department),
      contact: (d.contact && d.contact.name) || "", due: fmtTime(d.due_at) }) + (d.note ? " — " + d.note : "");
    case "escalation_answered": return t("escalationAnsweredBody", { by: d.by || "" });
    case "escalation_declined": return d.reason || "";
    case "escalation_ended": return departmentName(d.department) + " · " + t("endReason_" + d.reason) +
      (d.note ? " — " + d.note : "");
    case "rule_fired": return t("ruleBody", { rule: d.rule_id || "" });
    case "sla_breached": return t(d.metric || "none");
    case "notification_sent": case "notification_failed": case "notification_redriven":
      return [tv("target", d.target), d.recipient, d.error ? quote(excerpt(d.error, 120)) : null].filter(Boolean)
        .join(" · ");
    case "delivery_failed": return d.diagnostic || d.detail || "";
    case "auto_reply_not_sent": case "effect_failed": return d.error || "";
    default: return "";
  }
}

export function renderTimeline(events, ticketId) {
  return h("ul", { class: "timeline", id: "timeline" }, events.map((ev) =>
    h("li", { class: "ev-" + ev.type, "data-type": ev.type, "data-event": ev.id },
      h("div", { class: "meta" }, fmtTime(ev.at) + " · " + t("ev_" + ev.type) + " · " + who(ev)),
      h("div", { class: "body" }, eventBody(ev)), attachmentChips(ev, ticketId))));
}
