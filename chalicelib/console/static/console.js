/* Helpdesk console: a small static page over the authenticated API. No build step.
 * The bearer token lives in sessionStorage only; without it nothing but the login form shows
 * and no data request is made. Every text from the API is inserted as text (never as HTML). */
(function () {
  "use strict";

  const API = location.pathname.replace(/\/console\/?$/, "");
  const TOKEN_KEY = "helpdesk.token";
  const LANG_KEY = "helpdesk.lang";
  const VIEWS = ["new", "mine", "at_risk", "breached", "escalated", "pending"];
  const URGENCY_ORDER = { breached: 0, at_risk: 1, ok: 2, paused: 3 };

  const T = {
    ja: {
      brand: "ヘルプデスク", logout: "ログアウト", loginTitle: "ログイン", tokenLabel: "APIトークン",
      signIn: "ログイン", badToken: "トークンが正しくありません", otherLang: "English",
      view_new: "新規", view_mine: "自分の担当", view_at_risk: "期限間近", view_breached: "期限超過",
      view_escalated: "エスカレーション中", view_pending: "保留中", reports: "レポート",
      number: "番号", subject: "件名", customer: "顧客", status: "状態", priority: "優先度",
      assignee: "担当", department: "部署", sla: "SLA", noTickets: "該当するチケットはありません",
      loading: "読み込み中…", back: "← 一覧へ", timeline: "タイムライン", notes: "社内メモ",
      addNote: "メモを追加", notePlaceholder: "社内メモ (お客様には送信されません)",
      claim: "返信を担当する", release: "担当を外す", claimBy: "{name} さんが返信中です ({since} から)",
      noClaim: "返信中の担当者はいません", reply: "返信", check: "送信前チェック", send: "送信",
      replyPlaceholder: "返信を入力…", checksOk: "問題は見つかりませんでした", override: "警告を確認のうえ送信する",
      overrideReason: "理由", blocked: "送信前に確認が必要です", sent: "送信しました", failed: "送信に失敗しました",
      newer: "新しいメッセージがあります。読み込み直してください。",
      first_reply: "初回返信", next_reply: "次回返信", resolution: "解決",
      escalation: "エスカレーション", escalatedTo: "{dept} へ (期限 {due})",
      ev_message_in: "お客様", ev_message_out: "返信", ev_internal_message: "部署からの回答", ev_note: "社内メモ",
      ev_status_changed: "状態変更", ev_assigned: "割り当て", ev_escalated: "エスカレーション",
      ev_rule_fired: "ルール実行", ev_sla_breached: "SLA超過", ev_priority_changed: "優先度変更",
      autoReply: "自動返信",
      from: "開始日", to: "終了日", groupBy: "集計単位", none: "なし", agent: "担当者", channel: "チャネル",
      category: "カテゴリ", show: "表示", csv: "CSVダウンロード",
      kpiFrt: "初回応答時間 (中央値・営業時間)", kpiFrtCal: "初回応答時間 (中央値・暦時間)",
      kpiRes: "解決時間 (中央値・営業時間)", kpiResRate: "解決率", kpiReopen: "再オープン率",
      kpiRepeat: "再問い合わせ率", kpiSla: "SLA達成率", kpiBacklog: "未解決", kpiCreated: "受付件数",
      chartFrt: "初回応答時間の推移 (分・中央値)", chartSla: "SLA達成率 (%)", chartBacklog: "未解決チケット数",
      business: "営業時間", calendar: "暦時間", policy: "ポリシー", metric: "指標", met: "達成", breached: "超過",
      attainment: "達成率", escalations: "部署別エスカレーション", escalated: "件数", answered: "回答",
      returned: "差し戻し", returnRate: "差し戻し率", responseMedian: "回答時間 (中央値・営業時間)",
      groups: "内訳", backlogByAge: "未解決の経過日数", minutes: "分", group: "区分", tickets: "件",
      st_new: "新規", st_open: "対応中", st_pending: "保留中", "st_on-hold": "待機中", st_solved: "解決済み",
      st_closed: "完了", pr_low: "低", pr_normal: "通常", pr_high: "高", pr_urgent: "緊急",
      chk_placeholder: "未記入のプレースホルダがあります", chk_wrong_customer_name: "宛名がこのお客様ではありません",
      chk_wrong_recipient: "宛先がこのお客様のアドレスではありません", chk_warning_word: "注意が必要な語句があります",
      chk_carrier_address: "携帯キャリアのアドレスです (届かない場合があります)",
    },
    en: {
      brand: "Helpdesk", logout: "Log out", loginTitle: "Sign in", tokenLabel: "API token", signIn: "Sign in",
      badToken: "That token is not valid", otherLang: "日本語",
      view_new: "New", view_mine: "Mine", view_at_risk: "At risk", view_breached: "Breached",
      view_escalated: "Escalated", view_pending: "Pending", reports: "Reports",
      number: "No.", subject: "Subject", customer: "Customer", status: "Status", priority: "Priority",
      assignee: "Assignee", department: "Department", sla: "SLA", noTickets: "No tickets here",
      loading: "Loading…", back: "← Back to the list", timeline: "Timeline", notes: "Internal notes",
      addNote: "Add note", notePlaceholder: "Internal note (never sent to the customer)",
      claim: "I'm replying", release: "Release", claimBy: "{name} is replying (since {since})",
      noClaim: "Nobody is replying", reply: "Reply", check: "Check draft", send: "Send",
      replyPlaceholder: "Write a reply…", checksOk: "No problems found", override: "Send anyway (I checked the warnings)",
      overrideReason: "Reason", blocked: "Check before sending", sent: "Sent", failed: "Sending failed",
      newer: "Newer messages arrived. Reload the ticket.",
      first_reply: "First reply", next_reply: "Next reply", resolution: "Resolution",
      escalation: "Escalation", escalatedTo: "to {dept} (due {due})",
      ev_message_in: "Customer", ev_message_out: "Reply", ev_internal_message: "Department answer",
      ev_note: "Internal note", ev_status_changed: "Status", ev_assigned: "Assignment", ev_escalated: "Escalated",
      ev_rule_fired: "Rule", ev_sla_breached: "SLA breached", ev_priority_changed: "Priority",
      autoReply: "auto-reply",
      from: "From", to: "To", groupBy: "Group by", none: "None", agent: "Agent", channel: "Channel",
      category: "Category", show: "Show", csv: "Download CSV",
      kpiFrt: "First response (median, business)", kpiFrtCal: "First response (median, calendar)",
      kpiRes: "Resolution (median, business)", kpiResRate: "Resolution rate", kpiReopen: "Reopen rate",
      kpiRepeat: "Repeat contact rate", kpiSla: "SLA attainment", kpiBacklog: "Backlog", kpiCreated: "Tickets in",
      chartFrt: "First response time trend (median minutes)", chartSla: "SLA attainment (%)",
      chartBacklog: "Backlog (unsolved tickets)", business: "business", calendar: "calendar", policy: "Policy",
      metric: "Metric", met: "Met", breached: "Breached", attainment: "Attainment",
      escalations: "Escalations by department", escalated: "Escalated", answered: "Answered", returned: "Returned",
      returnRate: "Return rate", responseMedian: "Response (median, business)", groups: "Breakdown",
      backlogByAge: "Backlog by age", minutes: "min", group: "Group", tickets: "tickets",
      st_new: "new", st_open: "open", st_pending: "pending", "st_on-hold": "on hold", st_solved: "solved",
      st_closed: "closed", pr_low: "low", pr_normal: "normal", pr_high: "high", pr_urgent: "urgent",
      chk_placeholder: "Unfilled placeholder", chk_wrong_customer_name: "The greeting names someone else",
      chk_wrong_recipient: "The recipient is not this customer", chk_warning_word: "Contains a warning word",
      chk_carrier_address: "Mobile-carrier address (mail may be refused)",
    },
  };

  let lang = localStorage.getItem(LANG_KEY) || ((navigator.language || "ja").startsWith("ja") ? "ja" : "en");
  let me = null;
  let shown = 0; // bumped on every navigation: a response for an older page is dropped, never rendered
  const charts = [];

  function t(key, vars, fallback) {
    let s = (T[lang] && T[lang][key]) || T.en[key] || (fallback !== undefined ? fallback : key);
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
    return s;
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const $ = (id) => document.getElementById(id);
  const token = () => sessionStorage.getItem(TOKEN_KEY);

  class ApiError extends Error {
    constructor(status, body) { super((body && body.message) || "HTTP " + status); this.status = status; this.body = body; }
  }

  async function api(path, options) {
    const opts = Object.assign({ method: "GET" }, options || {});
    const headers = { Authorization: "Bearer " + token() };
    if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(opts.json); }
    const resp = await fetch(API + path, { method: opts.method, headers: Object.assign(headers, opts.headers || {}),
                                           body: opts.body });
    if (resp.status === 401) { logout(); throw new ApiError(401, null); }
    if (opts.raw) { if (!resp.ok) throw new ApiError(resp.status, null); return resp; }
    const text = await resp.text();
    const body = text ? JSON.parse(text) : null;
    if (!resp.ok) throw new ApiError(resp.status, body);
    return body;
  }

  function fmtTime(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString(lang === "ja" ? "ja-JP" : "en-GB",
      { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }

  function fmtMinutes(m) {
    if (m === null || m === undefined) return "–";
    if (m < 60) return Math.round(m) + (lang === "ja" ? "分" : " min");
    const hrs = Math.floor(m / 60), min = Math.round(m % 60);
    return lang === "ja" ? hrs + "時間" + (min ? min + "分" : "") : hrs + "h" + (min ? " " + min + "m" : "");
  }

  const pct = (x) => (x === null || x === undefined ? "–" : (Math.round(x * 1000) / 10) + "%");

  /* ---- shell: login, language, navigation ---- */

  function applyStatic() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    $("lang").textContent = t("otherLang");
    document.title = t("brand");
  }

  function showLogin(message) {
    $("app").hidden = true; $("nav").hidden = true; $("logout").hidden = true;
    $("app").replaceChildren(); $("whoami").textContent = "";
    $("login").hidden = false; $("login-error").textContent = message || "";
  }

  function logout() { sessionStorage.removeItem(TOKEN_KEY); me = null; showLogin(); }

  async function login(value) {
    sessionStorage.setItem(TOKEN_KEY, value);
    try {
      me = await api("/me");
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(t("badToken"));
      return;
    }
    $("login").hidden = true; $("app").hidden = false; $("nav").hidden = false; $("logout").hidden = false;
    $("whoami").textContent = me.name;
    if (!location.hash) location.hash = "#/view/at_risk"; // the hashchange routes
    else route();
  }

  function renderNav(active) {
    const links = VIEWS.map((v) => h("a", { href: "#/view/" + v, id: "nav-" + v,
      class: active === v ? "active" : null }, t("view_" + v)));
    links.push(h("a", { href: "#/reports", id: "nav-reports", class: active === "reports" ? "active" : null },
      t("reports")));
    $("nav").replaceChildren(...links);
  }

  function route() {
    if (!token() || !me) return;
    shown += 1;
    for (const c of charts.splice(0)) c.destroy();
    const parts = location.hash.replace(/^#\//, "").split("?")[0].split("/");
    if (parts[0] === "ticket" && parts[1]) { renderNav(null); showTicket(parts[1]); }
    else if (parts[0] === "reports") { renderNav("reports"); showReports(); }
    else { const view = VIEWS.includes(parts[1]) ? parts[1] : "at_risk"; renderNav(view); showView(view); }
  }

  /* ---- views ---- */

  function worstMetric(sla) {
    const metrics = Object.values((sla && sla.metrics) || {}).filter((m) => m.label);
    metrics.sort((a, b) => (URGENCY_ORDER[a.urgency] - URGENCY_ORDER[b.urgency]) ||
      (a.business_minutes_remaining - b.business_minutes_remaining));
    return metrics[0] || null;
  }

  function slaBadge(metric, withName) {
    if (!metric) return h("span", { class: "muted" }, "–");
    return h("span", { class: "sla urgency-" + metric.urgency, title: t(metric.metric) },
      (withName === false ? "" : t(metric.metric) + " ") + metric.label);
  }

  async function showView(view) {
    const app = $("app");
    app.replaceChildren(h("h1", {}, t("view_" + view)), h("p", { class: "muted" }, t("loading")));
    const mine = shown;
    const data = await api("/tickets?view=" + encodeURIComponent(view) + "&limit=50&lang=" + lang);
    if (mine !== shown) return;
    const rows = data.tickets.map((tk) => {
      const worst = worstMetric(tk.sla);
      return h("tr", { class: "ticket-row urgency-" + ((worst && worst.urgency) || "none"), "data-ticket": tk.id,
                       onclick: () => { location.hash = "#/ticket/" + tk.id; } },
        h("td", {}, h("a", { href: "#/ticket/" + tk.id }, tk.number)),
        h("td", {}, tk.subject),
        h("td", {}, tk.customer.name || tk.customer.email || ""),
        h("td", {}, t("st_" + tk.status, null, tk.status)), h("td", {}, t("pr_" + tk.priority, null, tk.priority)),
        h("td", {}, tk.assignee || "–"),
        h("td", {}, view === "escalated" && tk.escalation
          ? t("escalatedTo", { dept: tk.escalation.department_name || tk.escalation.department,
                                due: fmtTime(tk.escalation.due_at) }) : (tk.department || "–")),
        h("td", { class: "sla-cell" }, slaBadge(worst)));
    });
    const head = h("tr", {}, ["number", "subject", "customer", "status", "priority", "assignee", "department",
      "sla"].map((k) => h("th", {}, t(k))));
    app.replaceChildren(h("h1", {}, t("view_" + view)),
      rows.length ? h("table", { id: "ticket-list" }, h("thead", {}, head), h("tbody", {}, rows))
        : h("p", { class: "muted" }, t("noTickets")));
  }

  /* ---- one ticket ---- */

  function eventBody(ev) {
    const d = ev.data || {};
    switch (ev.type) {
      case "message_in": case "internal_message": return d.body_text || "";
      case "message_out": return d.body_text || "";
      case "note": return d.body || "";
      case "status_changed": case "priority_changed": case "assigned":
        return (d.field || "") + ": " + (d.from || "–") + " → " + (d.to || "–");
      case "escalated": return (d.department || "") + (d.note ? " — " + d.note : "");
      case "rule_fired": return d.rule_id || "";
      case "sla_breached": return t(d.metric || "");
      default: return "";
    }
  }

  function eventWho(ev) {
    const d = ev.data || {};
    if (ev.type === "message_out") return d.auto_reply ? t("autoReply") : (d.agent_name || d.agent || "");
    if (ev.type === "message_in" || ev.type === "internal_message") return (d.from && (d.from.name || d.from.email)) || "";
    if (ev.type === "note") return d.agent_name || d.rule_id || "";
    return ev.actor || "";
  }

  function claimLine(claim) {
    return claim ? h("div", { class: "claim", id: "claim-status" }, t("claimBy", { name: claim.name, since: fmtTime(claim.since) }))
      : h("div", { class: "claim muted", id: "claim-status" }, t("noClaim"));
  }

  function problemList(problems) {
    if (!problems.length) return h("p", { class: "checks-ok", id: "presend-ok" }, t("checksOk"));
    return h("ul", { class: "problems", id: "presend-problems" }, problems.map((p) =>
      h("li", { class: p.check === "carrier_address" ? "advisory" : "blocking", "data-check": p.check, title: p.message },
        h("strong", {}, t("chk_" + p.check, null, p.message)), p.excerpt ? " 「" + p.excerpt + "」" : "")));
  }

  async function showTicket(id) {
    const app = $("app");
    app.replaceChildren(h("p", { class: "muted" }, t("loading")));
    const mine = shown;
    const tk = await api("/tickets/" + encodeURIComponent(id) + "?lang=" + lang);
    if (mine !== shown) return;
    const timeline = tk.timeline || [];
    const lastSeen = timeline.length ? timeline[timeline.length - 1].id : "";
    const metrics = Object.values((tk.sla && tk.sla.metrics) || {}).filter((m) => m.label).map((m) =>
      h("div", {}, h("span", {}, t(m.metric)), slaBadge(m, false)));
    const facts = h("div", { class: "facts" },
      h("div", {}, h("span", {}, t("status")), t("st_" + tk.status, null, tk.status)),
      h("div", {}, h("span", {}, t("priority")), t("pr_" + tk.priority, null, tk.priority)),
      ["assignee", "department"].map((k) => h("div", {}, h("span", {}, t(k)), tk[k] || "–")),
      h("div", {}, h("span", {}, t("customer")), tk.customer.name || "", " ", tk.customer.email || ""), metrics);
    const esc = tk.escalation && tk.escalation.state === "open"
      ? h("p", {}, t("escalation") + ": " + t("escalatedTo", { dept: tk.escalation.department_name ||
        tk.escalation.department, due: fmtTime(tk.escalation.due_at) })) : null;
    const events = h("ul", { class: "timeline", id: "timeline" }, timeline.map((ev) =>
      h("li", { class: "ev-" + ev.type },
        h("div", { class: "meta" }, fmtTime(ev.at) + " · " + t("ev_" + ev.type, null, ev.type.replace(/_/g, " ")) +
          " · " + eventWho(ev)),
        h("div", { class: "body" }, eventBody(ev)))));

    const draft = h("textarea", { id: "reply-body", placeholder: t("replyPlaceholder") });
    const checks = h("div", { id: "presend" });
    const overrideBox = h("input", { type: "checkbox", id: "override" });
    const overrideReason = h("input", { type: "text", id: "override-reason", placeholder: t("overrideReason") });
    const overrideRow = h("div", { class: "row", hidden: true }, h("label", {}, overrideBox, " " + t("override")),
      overrideReason);
    const status = h("select", { id: "reply-status" }, ["open", "pending", "solved"].map((s) => h("option", { value: s }, s)));
    const result = h("p", { id: "reply-result", role: "status" });
    let claimEl = claimLine(tk.claim);

    async function check() {
      if (!draft.value.trim()) { checks.replaceChildren(); return null; }
      const pv = await api("/tickets/" + tk.id + "/replies/preview", { method: "POST", json: { body: draft.value } });
      checks.replaceChildren(problemList(pv.problems));
      const fresh = claimLine(pv.claim); claimEl.replaceWith(fresh); claimEl = fresh;
      overrideRow.hidden = !pv.blocked;
      return pv;
    }
    let timer = null;
    draft.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 700); });

    async function send() {
      const payload = { body: draft.value, last_seen_event_id: lastSeen, status: status.value };
      if (overrideBox.checked) { payload.override = true; payload.override_reason = overrideReason.value; }
      try {
        const r = await api("/tickets/" + tk.id + "/replies", { method: "POST", json: payload });
        result.textContent = t("sent"); draft.value = ""; showTicket(tk.id);
        return r;
      } catch (err) {
        if (err.status === 422) { checks.replaceChildren(problemList(err.body.problems || [])); overrideRow.hidden = false;
          result.textContent = t("blocked"); }
        else if (err.status === 409) { result.textContent = err.body.newer_events ? t("newer") : err.message; }
        else result.textContent = t("failed") + ": " + err.message;
      }
    }

    async function claim(method) {
      try {
        const c = await api("/tickets/" + tk.id + "/claim", { method, json: method === "POST" ? {} : undefined });
        const fresh = claimLine(method === "POST" ? c : null); claimEl.replaceWith(fresh); claimEl = fresh;
      } catch (err) { result.textContent = err.message; }
    }

    const note = h("textarea", { id: "note-body", placeholder: t("notePlaceholder") });
    const notes = timeline.filter((ev) => ev.type === "note").map((ev) =>
      h("li", { class: "ev-note" }, h("div", { class: "meta" }, fmtTime(ev.at) + " · " + eventWho(ev)),
        h("div", { class: "body" }, ev.data.body || "")));

    app.replaceChildren(
      h("p", {}, h("a", { href: "#/view/at_risk", id: "back" }, t("back"))),
      h("h1", { id: "ticket-title" }, tk.number + " " + tk.subject),
      h("div", { class: "panel" }, facts, esc),
      h("div", { class: "grid2" },
        h("section", {}, h("h2", {}, t("timeline")), events),
        h("section", {},
          h("div", { class: "panel" }, h("h2", {}, t("reply")), claimEl,
            h("div", { class: "row" }, h("button", { type: "button", id: "claim", onclick: () => claim("POST") }, t("claim")),
              h("button", { type: "button", id: "release", onclick: () => claim("DELETE") }, t("release"))),
            draft,
            h("div", { class: "row" }, h("button", { type: "button", id: "check", onclick: check }, t("check")), status,
              h("button", { type: "button", class: "primary", id: "send", onclick: send }, t("send"))),
            overrideRow, checks, result),
          h("div", { class: "panel" }, h("h2", {}, t("notes")), h("ul", { class: "timeline" }, notes), note,
            h("div", { class: "row" }, h("button", { type: "button", id: "add-note", onclick: async () => {
              if (!note.value.trim()) return;
              await api("/tickets/" + tk.id + "/notes", { method: "POST", json: { body: note.value } });
              showTicket(tk.id);
            } }, t("addNote")))))));
  }

  /* ---- reports ---- */

  function card(label, value, id) {
    return h("div", { class: "card", id }, h("div", { class: "value" }, value), h("div", { class: "label" }, label));
  }

  function lineChart(canvas, labels, datasets, yMax) {
    if (!window.Chart) return;
    charts.push(new window.Chart(canvas, {
      type: datasets[0].type || "line",
      data: { labels, datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false, spanGaps: true,
        scales: { y: { beginAtZero: true, suggestedMax: yMax } }, plugins: { legend: { position: "bottom" } } },
    }));
  }

  async function showReports() {
    const app = $("app");
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const groupBy = params.get("group_by") || "";
    const fromIn = h("input", { type: "date", id: "report-from", value: params.get("from") || "" });
    const toIn = h("input", { type: "date", id: "report-to", value: params.get("to") || "" });
    const groupIn = h("select", { id: "report-group" }, ["", "agent", "department", "channel", "category"].map((g) =>
      h("option", { value: g, selected: g === groupBy }, t(g || "none"))));
    const query = () => [fromIn.value && "from=" + fromIn.value, toIn.value && "to=" + toIn.value,
      groupIn.value && "group_by=" + groupIn.value].filter(Boolean).join("&");
    const form = h("div", { class: "row" }, t("from"), fromIn, t("to"), toIn, t("groupBy"), groupIn,
      h("button", { type: "button", class: "primary", id: "report-show",
                    onclick: () => { location.hash = "#/reports?" + query(); } }, t("show")),
      h("button", { type: "button", id: "report-csv", onclick: async () => {
        const resp = await api("/reports/kpis?format=csv&" + query(), { raw: true });
        const url = URL.createObjectURL(await resp.blob());
        const a = h("a", { href: url, download: "kpis-" + fromIn.value + "-" + toIn.value + ".csv" });
        document.body.append(a); a.click(); a.remove(); URL.revokeObjectURL(url);
      } }, t("csv")));
    app.replaceChildren(h("h1", {}, t("reports")), form, h("p", { class: "muted" }, t("loading")));
    const mine = shown;
    const r = await api("/reports/kpis?" + query());
    if (mine !== shown) return;
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
      card(t("kpiBacklog"), r.backlog.total, "kpi-backlog"));
    const c1 = h("canvas", { id: "chart-frt" }), c2 = h("canvas", { id: "chart-sla" }), c3 = h("canvas", { id: "chart-backlog" });
    const chartsEl = h("div", { class: "charts" },
      h("div", { class: "chart" }, h("h2", {}, t("chartFrt")), h("div", { class: "chart-box" }, c1)),
      h("div", { class: "chart" }, h("h2", {}, t("chartSla")), h("div", { class: "chart-box" }, c2)),
      h("div", { class: "chart" }, h("h2", {}, t("chartBacklog")), h("div", { class: "chart-box" }, c3)));
    const slaTable = h("table", { id: "sla-table" }, h("tr", {}, ["policy", "metric", "met", "breached", "attainment"]
      .map((k) => h("th", {}, t(k)))), tot.sla.map((s) => h("tr", {}, h("td", {}, s.policy), h("td", {}, t(s.metric)),
      h("td", {}, s.met), h("td", {}, s.breached), h("td", {}, pct(s.attainment)))));
    const escTable = h("table", { id: "escalation-table" }, h("tr", {}, ["department", "escalated", "answered",
      "returned", "returnRate", "responseMedian"].map((k) => h("th", {}, t(k)))), r.escalations.map((e) =>
      h("tr", {}, h("td", {}, e.department), h("td", {}, e.escalated), h("td", {}, e.answered), h("td", {}, e.returned),
        h("td", {}, pct(e.return_rate)), h("td", {}, fmtMinutes(e.response.business.median)))));
    const ages = h("p", { id: "backlog-ages" }, t("backlogByAge") + ": " + Object.entries(r.backlog.by_age)
      .map(([k, v]) => k + " " + v).join(" · "));
    const groups = r.groups ? h("table", { id: "group-table" }, h("tr", {}, [t("group"), t("kpiCreated"), t("kpiFrt"),
      t("kpiRes"), t("kpiResRate"), t("kpiSla")].map((k) => h("th", {}, k))), r.groups.map((g) => h("tr", {},
      h("td", {}, g.group), h("td", {}, g.tickets_created), h("td", {}, fmtMinutes(g.first_response.business.median)),
      h("td", {}, fmtMinutes(g.resolution.business.median)), h("td", {}, pct(g.resolution_rate)),
      h("td", {}, pct(g.sla_attainment))))) : null;
    app.replaceChildren(...[h("h1", {}, t("reports")), form, cards, chartsEl,
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

  /* ---- start ---- */

  document.addEventListener("DOMContentLoaded", () => {
    applyStatic();
    $("login-form").addEventListener("submit", (e) => { e.preventDefault(); login($("token").value.trim()); });
    $("logout").addEventListener("click", logout);
    $("lang").addEventListener("click", () => {
      lang = lang === "ja" ? "en" : "ja"; localStorage.setItem(LANG_KEY, lang); applyStatic();
      if (me) { $("whoami").textContent = me.name; route(); }
    });
    window.addEventListener("hashchange", route);
    window.addEventListener("unhandledrejection", (e) => {
      const app = $("app");
      if (e.reason instanceof ApiError && e.reason.status !== 401 && !app.hidden)
        app.append(h("p", { class: "error" }, e.reason.message));
    });
    if (token()) login(token()); else showLogin();
  });
})();
