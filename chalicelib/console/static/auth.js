/* Cognito sign-in through the hosted UI: authorization code with PKCE (RFC 7636), no client secret,
 * no build step. The page says whether to use it (<meta name="helpdesk-auth">, written by the server).
 * The ID token is kept in sessionStorage (this tab only, gone when it closes), like an API token; the
 * PKCE verifier, state and the page to return to live there only between the redirect to the hosted UI
 * and the way back. */
import { setToken } from "./api.js";

const VERIFIER = "helpdesk.pkce.verifier";
const STATE = "helpdesk.pkce.state";
const RETURN = "helpdesk.pkce.return";

/** The sign-in configuration: {mode: "token"} or {mode: "cognito", domain, client_id}. */
export function authConfig() {
  const meta = document.querySelector('meta[name="helpdesk-auth"]');
  try { return meta ? JSON.parse(meta.content) : { mode: "token" }; } catch (e) { return { mode: "token" }; }
}

export const usesCognito = () => authConfig().mode === "cognito";
const redirectUri = () => location.origin + location.pathname; // the console: the app client's callback URL

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
const randomText = (n) => base64url(crypto.getRandomValues(new Uint8Array(n)));

/** Go to the hosted UI's sign-in page (in the console's language). */
export async function startSignIn(lang) {
  const config = authConfig();
  const verifier = randomText(32);
  const state = randomText(16);
  sessionStorage.setItem(VERIFIER, verifier);
  sessionStorage.setItem(STATE, state);
  sessionStorage.setItem(RETURN, location.hash);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const query = new URLSearchParams({
    response_type: "code", client_id: config.client_id, redirect_uri: redirectUri(), scope: "openid email profile",
    state, code_challenge: challenge, code_challenge_method: "S256", lang,
  });
  location.assign(config.domain + "/oauth2/authorize?" + query);
}

/** Back from the hosted UI (?code=&state=): exchange the code for tokens at the token endpoint.
 * Returns null when this is no callback, true when signed in, else the i18n key of the failure. */
export async function finishSignIn() {
  const query = new URLSearchParams(location.search);
  if (!query.has("code") && !query.has("error")) return null;
  const expected = sessionStorage.getItem(STATE);
  const verifier = sessionStorage.getItem(VERIFIER);
  const back = sessionStorage.getItem(RETURN) || "";
  for (const key of [STATE, VERIFIER, RETURN]) sessionStorage.removeItem(key);
  history.replaceState(null, "", location.pathname + back); // the code never stays in the address bar
  if (query.has("error") || !expected || !verifier || query.get("state") !== expected) return "ssoFailed";
  const config = authConfig();
  let tokens = null;
  try {
    const resp = await fetch(config.domain + "/oauth2/token", {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: config.client_id,
                                  code: query.get("code"), redirect_uri: redirectUri(), code_verifier: verifier }),
    });
    if (resp.ok) tokens = await resp.json();
  } catch (err) {
    tokens = null;
  }
  if (!tokens || !tokens.id_token) return "ssoFailed";
  setToken(tokens.id_token); // the API's authorizer takes the ID token (its claims name the agent)
  return true;
}

/** Sign out of the hosted UI too (its session would sign the next person in without a password). */
export function signOutOfHostedUi() {
  const config = authConfig();
  location.assign(config.domain + "/logout?" + new URLSearchParams({ client_id: config.client_id,
                                                                     logout_uri: redirectUri() }));
}
