/* The console's shell: sign-in, language switch, navigation, search box and the hash router.
 * The bearer token (an API token, or the Cognito ID token: auth.js) lives in sessionStorage only;
 * without it nothing but the login form shows. */
import { api, ApiError, forget, setToken, token, whenUnauthorized } from "./api.js";
import { finishSignIn, signOutOfHostedUi, startSignIn, usesCognito } from "./auth.js";
import { showAgents } from "./agents-page.js";
import { $, h } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";
import { QUEUES, showQueue } from "./queue.js";
import { showReports } from "./reports.js";
import { isManager, nextPage, setMe, whoami } from "./state.js";
import { showTicket } from "./ticket.js";

function applyStatic() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  $("lang").textContent = t("otherLang");
  document.title = t("brand");
}

function showLogin(message) {
  $("app").hidden = true; $("nav").hidden = true; $("logout").hidden = true; $("search-form").hidden = true;
  $("app").replaceChildren(); $("whoami").textContent = "";
  $("login").hidden = false; $("login-error").textContent = message || "";
  $("login-form").hidden = usesCognito(); $("sso").hidden = !usesCognito();
}

function signOut() { setToken(null); setMe(null); forget(); nextPage(); showLogin(); }
whenUnauthorized(signOut); // an expired ID token: sign in again (the hosted UI may still know the agent)

function logout() {
  const signedIn = Boolean(token());
  signOut();
  if (usesCognito() && signedIn) signOutOfHostedUi();
}

async function login(value) {
  setToken(value);
  let me;
  try {
    me = await api("/me");
    setMe(me);
  } catch (err) {
    setToken(null);
    showLogin(t(usesCognito() ? "ssoNoAgent" : "badToken"));
    return;
  }
  $("login").hidden = true; $("app").hidden = false; $("nav").hidden = false; $("logout").hidden = false;
  $("search-form").hidden = false;
  $("whoami").textContent = me.name;
  if (!me.lang || me.lang === lang || localStorage.getItem("helpdesk.lang")) applyStatic();
  else { setLang(me.lang); applyStatic(); }
  if (!location.hash) location.hash = "#/view/at_risk"; // the hashchange routes
  else route();
}

function renderNav(active) {
  const links = QUEUES.map((v) => h("a", { href: "#/view/" + v, id: "nav-" + v, class: active === v ? "active" : null },
    t("view_" + v)));
  if (isManager()) links.push(h("a", { href: "#/agents", id: "nav-agents", class: active === "agents" ? "active" : null },
    t("agents")));
  links.push(h("a", { href: "#/reports", id: "nav-reports", class: active === "reports" ? "active" : null }, t("reports")));
  $("nav").replaceChildren(...links);
}

function route() {
  if (!token() || !whoami()) return;
  nextPage();
  const [path, query] = location.hash.replace(/^#\//, "").split("?");
  const parts = path.split("/");
  const params = new URLSearchParams(query || "");
  if (parts[0] === "ticket" && parts[1]) { renderNav(null); showTicket(parts[1]); }
  else if (parts[0] === "reports") { renderNav("reports"); showReports(params); }
  else if (parts[0] === "agents") { renderNav("agents"); showAgents(); }
  else {
    const view = parts[1] === "search" || QUEUES.includes(parts[1]) ? parts[1] : "at_risk";
    renderNav(view); showQueue(view, params);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  applyStatic();
  $("login-form").addEventListener("submit", (e) => { e.preventDefault(); login($("token").value.trim()); });
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("search").value.trim();
    if (q) location.hash = "#/view/search?q=" + encodeURIComponent(q);
  });
  $("logout").addEventListener("click", logout);
  $("lang").addEventListener("click", () => {
    setLang(lang === "ja" ? "en" : "ja"); applyStatic();
    if (whoami()) { $("whoami").textContent = whoami().name; route(); }
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("unhandledrejection", (e) => {
    const app = $("app");
    if (e.reason instanceof ApiError && e.reason.status !== 401 && !app.hidden)
      app.append(h("p", { class: "error", role: "alert" }, e.reason.message));
  });
  $("sso-button").addEventListener("click", () => startSignIn(lang));
  finishSignIn().then((done) => {
    if (token()) login(token()); else showLogin(typeof done === "string" ? t(done) : "");
  });
});
