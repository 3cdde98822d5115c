/* The agents page (supervisors and admins): list, add, change role, phone, Slack channel, language,
 * disable, rotate token; and the admin timeline of those changes. */
import { agents, api, ApiError, departmentName, departments } from "./api.js";
import { $, h, select } from "./dom.js";
import { fmtTime, t, tv } from "./i18n.js";
import { pageNumber, still, whoami } from "./state.js";

const ROLES = ["agent", "supervisor", "admin"];

function problems(err) {
  if (!(err instanceof ApiError)) return String(err);
  if (err.status === 403) return t("forbidden");
  if (err.status === 400) return t("invalid") + ": " + (err.body.errors || []).map((e) => e.field || e.pointer).join(", ");
  if (err.status === 409) return t("agentExists");
  return err.message;
}

function tokenNotice(agentName, token) {
  return h("div", { class: "panel notice", id: "agent-token" }, h("p", {}, t("tokenOnce", { name: agentName })),
    h("code", { id: "agent-token-value" }, token));
}

function fields(prefix, a, depts) {
  return {
    name: h("input", { id: prefix + "name", value: a.name || "", required: true }),
    email: h("input", { id: prefix + "email", type: "email", value: a.email || "" }),
    role: select({ id: prefix + "role" }, ROLES.map((r) => [r, tv("role", r)]), a.role || "agent"),
    department: select({ id: prefix + "department" }, [["", t("none")], ...depts.map((d) => [d.id, d.name])],
      a.department || ""),
    phone: h("input", { id: prefix + "phone", value: a.phone || "", placeholder: "+819012345678", size: 14 }),
    slack_channel: h("input", { id: prefix + "slack", value: a.slack_channel || "", placeholder: "#cs-team", size: 12 }),
    lang: select({ id: prefix + "lang" }, [["ja", t("lang_ja")], ["en", t("lang_en")]], a.lang || "ja"),
  };
}

function values(f, original) {
  const out = {};
  for (const [k, el] of Object.entries(f)) {
    const v = el.value.trim();
    const before = original ? (original[k] || "") : "";
    if (original && v === before) continue;
    if (!original && !v) continue;
    out[k] = v === "" ? null : v;
  }
  return out;
}

export async function showAgents(message) {
  const app = $("app");
  const n = pageNumber();
  if (!message) app.replaceChildren(h("h1", {}, t("agents")), h("p", { class: "muted" }, t("loading")));
  const [list, depts, audit] = await Promise.all([agents(true), departments(), api("/audit?limit=30")]);
  if (!still(n)) return;
  const result = h("p", { id: "agents-result", role: "status", class: "notice" }, message || "");
  const add = fields("new-agent-", {}, depts);
  const newId = h("input", { id: "new-agent-id", placeholder: "sato", size: 10, required: true });
  async function create() {
    try {
      const r = await api("/agents", { method: "POST", json: { id: newId.value.trim(), ...values(add, null) } });
      await showAgents(t("agentAdded", { name: r.agent.name }));
      $("agents-result").after(tokenNotice(r.agent.name, r.token));
    } catch (err) { result.textContent = problems(err); }
  }
  const rows = list.map((a) => {
    const f = fields("agent-" + a.id + "-", a, depts);
    const save = async () => {
      const change = values(f, a);
      if (!Object.keys(change).length) { result.textContent = t("nothingChanged"); return; }
      try { await api("/agents/" + a.id, { method: "PATCH", json: change }); showAgents(t("saved")); }
      catch (err) { result.textContent = problems(err); }
    };
    const toggle = async () => {
      try { await api("/agents/" + a.id, { method: "PATCH", json: { disabled: !a.disabled } });
        showAgents(a.disabled ? t("agentEnabled", { name: a.name }) : t("agentDisabled", { name: a.name })); }
      catch (err) { result.textContent = problems(err); }
    };
    const rotate = async () => {
      if (!window.confirm(t("rotateConfirm", { name: a.name }))) return;
      try { const r = await api("/agents/" + a.id + "/token", { method: "POST", json: {} });
        await showAgents(t("rotated", { name: a.name })); $("agents-result").after(tokenNotice(a.name, r.token)); }
      catch (err) { result.textContent = problems(err); }
    };
    return h("tr", { class: "agent-row" + (a.disabled ? " disabled" : ""), "data-agent": a.id },
      h("td", { "data-label": "ID" }, a.id, a.disabled ? h("span", { class: "badge" }, t("disabled")) : null),
      ...Object.entries(f).map(([k, el]) => h("td", { "data-label": t("agent_" + k) }, el)),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "agent-save", onclick: save }, t("save")),
        a.id === (whoami() || {}).id ? null : h("button", { type: "button", class: "agent-toggle", onclick: toggle },
          a.disabled ? t("enable") : t("disable")),
        h("button", { type: "button", class: "agent-rotate", onclick: rotate }, t("rotate"))));
  });
  const head = h("tr", {}, ["ID", ...Object.keys(add).map((k) => t("agent_" + k)), ""].map((k) => h("th", {}, k)));
  const auditList = h("ul", { class: "timeline", id: "audit" }, audit.events.map((e) =>
    h("li", { "data-type": e.type }, h("div", { class: "meta" }, fmtTime(e.at) + " · " + t("audit_" + e.type) + " · " +
      (e.actor === "cli" ? t("actorCli") : e.actor.replace(/^agent:/, ""))),
    h("div", { class: "body" }, e.target.replace(/^agent:/, "").replace(/^customer:/, t("customer") + " "),
      e.data && e.data.changes ? " — " + Object.entries(e.data.changes).map(([k, v]) =>
        t("agent_" + k, null, k) + ": " + (k === "department" ? departmentName(v.from || "") : v.from ?? "–") +
        " → " + (k === "department" ? departmentName(v.to || "") : v.to ?? "–")).join(", ") : ""))));
  app.replaceChildren(h("h1", {}, t("agents")), result,
    h("div", { class: "panel", id: "agent-add" }, h("h2", {}, t("addAgent")),
      h("div", { class: "form-grid" }, h("label", {}, "ID", newId),
        ...Object.entries(add).map(([k, el]) => h("label", {}, t("agent_" + k), el))),
      h("div", { class: "row" }, h("button", { type: "button", class: "primary", id: "new-agent-save",
        onclick: create }, t("addAgent")))),
    h("div", { class: "scroll" }, h("table", { id: "agent-list", class: "agents" }, h("thead", {}, head),
      h("tbody", {}, rows))),
    h("h2", {}, t("adminTimeline")), auditList);
}
