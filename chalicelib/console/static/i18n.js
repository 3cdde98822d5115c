/* Language, translation and dates in the agent's locale. Catalogues: i18n-ja.js, i18n-en.js. */
import en from "./i18n-en.js";
import ja from "./i18n-ja.js";

const LANG_KEY = "helpdesk.lang";
export const CATALOGUES = { ja, en };
export let lang = localStorage.getItem(LANG_KEY) || ((navigator.language || "ja").startsWith("ja") ? "ja" : "en");

export function setLang(value) { lang = value; localStorage.setItem(LANG_KEY, value); }

/** The text for key in the current language; {name} placeholders filled from vars. A missing key shows
 * the fallback (data from the API) or the key itself, so a gap is visible and the catalogue test finds it. */
export function t(key, vars, fallback) {
  let s = CATALOGUES[lang][key];
  if (s === undefined) s = fallback !== undefined ? fallback : key;
  for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(v);
  return s;
}

/** A value of an enumeration (status, priority, channel, ...) in the current language. */
export const tv = (kind, value) => (value === null || value === undefined || value === "" ? t("none")
  : t(kind + "_" + value, null, String(value)));

export const locale = () => {
  const nav = navigator.language || "";
  return nav.toLowerCase().startsWith(lang) ? nav : (lang === "ja" ? "ja-JP" : "en-GB");
};

export function fmtTime(iso, withZone) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", timeZoneName: withZone ? "short" : undefined }).format(new Date(iso));
}

export function fmtMinutes(m) {
  if (m === null || m === undefined) return "–";
  if (m < 60) return t("minutesShort", { n: Math.round(m) });
  const hrs = Math.floor(m / 60), min = Math.round(m % 60);
  return min ? t("hoursMinutes", { h: hrs, m: min }) : t("hoursShort", { h: hrs });
}

export const pct = (x) => (x === null || x === undefined ? "–" : (Math.round(x * 1000) / 10) + "%");

/** Quote a text the way the language does (「」 in Japanese, “” in English). */
export const quote = (s) => t("quoted", { s });
