/* Attachments: chips on the timeline that download through a short signed link, and the reply box's
 * file picker (upload slot from the API, the file posted straight to the raw bucket with progress). */
import { api, ApiError } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

export const fmtSize = (n) => (n >= 1024 * 1024 ? t("sizeMB", { n: (n / 1048576).toFixed(1) })
  : t("sizeKB", { n: Math.max(1, Math.ceil(n / 1024)) }));

/** Open one of the ticket's attachments: the API checks the token and answers a 60 s signed link. */
async function download(ticketId, id, status) {
  try {
    const link = await api("/tickets/" + ticketId + "/attachments/" + encodeURIComponent(id),
      { headers: { Accept: "application/json" } });
    const a = h("a", { href: link.url, rel: "noopener", hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (err) {
    status.textContent = err instanceof ApiError && err.status === 404 ? t("attachmentGone") : t("downloadFailed");
  }
}

/** The files an event carries: a reply's uploads, an inbound mail's parts (id = event id + "-" + part);
 * a chat message's files (links at the provider) are listed by name only. */
export function attachmentChips(ev, ticketId) {
  const d = ev.data || {};
  const mail = (d.metadata && d.metadata.email && d.metadata.email.attachments) || [];
  const files = (d.attachments || []).map((a) => ({ id: a.id, name: a.filename, size: a.size }))
    .concat(mail.map((a) => ({ id: ev.id + "-" + a.part, name: a.filename, size: a.size })));
  const listed = ((d.metadata && d.metadata.attachments) || []).map((a) => ({ name: a.name || a.filename, size: a.size }));
  if (!files.length && !listed.length) return null;
  const status = h("span", { class: "attach-status", role: "status" });
  const chip = (f) => h("li", {}, f.id && ticketId
    ? h("button", { type: "button", class: "chip", "data-attachment": f.id, title: t("download"),
      onclick: () => download(ticketId, f.id, status) }, "⬇ " + (f.name || t("attachment")),
    f.size ? " (" + fmtSize(f.size) + ")" : "")
    : h("span", { class: "chip plain" }, (f.name || t("attachment")) + (f.size ? " (" + fmtSize(f.size) + ")" : "")));
  return h("ul", { class: "attachments" }, files.concat(listed).map(chip), status);
}

/** Post the file to S3 with the signed form fields; XHR for the progress bar (fetch has none). */
function postToBucket(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.url);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(String(xhr.status))));
    xhr.onerror = () => reject(new Error("network"));
    xhr.send(form);
  });
}

/** The reply box's attachments: pick files, see each upload's progress or error, remove before sending. */
export function attachBox(tk) {
  const files = [];  // {id, name, size, state: "uploading" | "ready" | "failed"}
  const list = h("ul", { class: "attachments draft", id: "reply-attachments" });
  const input = h("input", { type: "file", id: "reply-files", multiple: true, class: "visually-hidden" });
  const render = () => list.replaceChildren(...files.map((f) => h("li", { class: "chip " + f.state, "data-name": f.name },
    f.name + " (" + fmtSize(f.size) + ") ",
    f.state === "uploading" ? h("progress", { max: 100, value: Math.round(f.progress * 100) }) : null,
    f.state === "failed" ? h("span", { class: "error" }, f.error) : null,
    h("button", { type: "button", class: "remove", title: t("removeFile"), "aria-label": t("removeFile"),
      onclick: () => { files.splice(files.indexOf(f), 1); render(); } }, "×"))));

  async function add(file) {
    const f = { id: null, name: file.name, size: file.size, state: "uploading", progress: 0, error: "" };
    files.push(f); render();
    try {
      const slot = await api("/tickets/" + tk.id + "/attachments", { method: "POST",
        json: { filename: file.name, content_type: file.type || "application/octet-stream", size: file.size } });
      f.id = slot.id;
      await postToBucket(slot.upload, file, (p) => { f.progress = p; render(); });
      f.state = "ready";
    } catch (err) {
      const where = err instanceof ApiError && (err.body.errors || []).map((e) => e.pointer);
      f.state = "failed";
      f.error = where && where.includes("/size") ? t("fileTooLarge")
        : where && where.includes("/content_type") ? t("fileTypeRefused") : t("uploadFailed");
    }
    render();
  }
  input.addEventListener("change", () => { for (const file of input.files) add(file); input.value = ""; });
  const element = h("div", { class: "row attach" },
    h("label", { class: "button", for: "reply-files" }, t("attachFile")), input, list);
  return {
    element,
    ids: () => files.filter((f) => f.state === "ready").map((f) => f.id),
    busy: () => files.some((f) => f.state === "uploading"),
    failed: () => files.some((f) => f.state === "failed"),
    clear: () => { files.length = 0; render(); },
  };
}
