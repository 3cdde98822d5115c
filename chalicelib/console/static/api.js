/* The API client: bearer token from sessionStorage, JSON in and out, errors as ApiError. */

const API = location.pathname.replace(/\/console\/?$/, "");
const TOKEN_KEY = "helpdesk.token";
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || "HTTP " + status);
    this.status = status;
    this.body = body || {};
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (value) => (value ? sessionStorage.setItem(TOKEN_KEY, value) : sessionStorage.removeItem(TOKEN_KEY));
export const whenUnauthorized = (fn) => { onUnauthorized = fn; };

export async function api(path, options) {
  const opts = Object.assign({ method: "GET" }, options || {});
  const headers = { Authorization: "Bearer " + token() };
  if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(opts.json); }
  const resp = await fetch(API + path, { method: opts.method, headers: Object.assign(headers, opts.headers || {}),
                                         body: opts.body });
  if (resp.status === 401) { onUnauthorized(); throw new ApiError(401, null); }
  if (opts.raw) { if (!resp.ok) throw new ApiError(resp.status, null); return resp; }
  const text = await resp.text();
  const body = text ? JSON.parse(text) : null;
  if (!resp.ok && !(opts.accept || []).includes(resp.status)) throw new ApiError(resp.status, body);
  return body;
}

/* Agents and departments change rarely: read once per sign-in (the agents page refreshes them). */
const cache = {};
export async function agents(refresh) {
  if (refresh || !cache.agents) cache.agents = (await api("/agents")).agents;
  return cache.agents;
}
export async function departments() {
  if (!cache.departments) cache.departments = (await api("/departments")).departments;
  return cache.departments;
}
export function forget() { for (const k of Object.keys(cache)) delete cache[k]; }

export function agentName(id, list) {
  const found = (list || cache.agents || []).find((a) => a.id === id);
  return found ? found.name : id;
}
export function departmentName(id, list) {
  const found = (list || cache.departments || []).find((d) => d.id === id);
  return found ? found.name : id;
}
