// Small DOM helpers shared by the views: element builder, error box, tables, CSV.
import { fieldLabel, getLang, t, withNames } from "./i18n.js";

/** h("p", {class: "x", onclick: fn}, "text", child) — text is always set as text, never HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = tag === "svg" || SVG_TAGS.has(tag)
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const SVG_TAGS = new Set(["rect", "line", "text", "g", "title", "desc", "circle", "path"]);

/** The view's heading, focusable so that navigation can move focus to it. */
export function heading(text) {
  return h("h1", { tabindex: "-1", id: "view-title" }, text);
}

/**
 * Show an API error: what went wrong (the error code), the rule and the field it names, all in the
 * reader's language from the catalogue in i18n.js; the server's own message (English) follows in
 * the English interface, and in the Chinese one folded away, marked as English. role=alert reads it out.
 */
export function errorBox(err) {
  const box = h("div", { class: "error", role: "alert" });
  if (!err) return box;
  box.append(h("strong", {}, t("error.title")));
  if (err.status === 0) {
    box.append(h("p", {}, t("error.network")));
    return box;
  }
  const tags = [];
  if (err.rule) {
    const ruleName = t(`rule.${err.rule}`);
    tags.push(h("span", { class: "tag rule", dataset: { rule: err.rule } },
      t("error.rule", { rule: err.rule }) + (ruleName === `rule.${err.rule}` ? "" : ` · ${ruleName}`)));
  }
  if (err.field) tags.push(h("span", { class: "tag field", dataset: { field: err.field } }, t("error.field", { field: fieldLabel(err.field) })));
  if (tags.length) box.append(h("p", { class: "tags" }, tags));
  const code = t(`code.${err.code}`);
  if (getLang() === "en") {
    box.append(h("p", { class: "message" }, withNames(err.message) || (code === `code.${err.code}` ? "" : code)));
  } else {
    box.append(h("p", { class: "message", dataset: { code: err.code } }, code === `code.${err.code}` ? t("code.http_error") : code));
    if (err.message) {
      box.append(h("details", { class: "server-text" }, h("summary", {}, t("error.serverText")),
        h("p", { lang: "en" }, withNames(err.message))));
    }
  }
  return box;
}

/** Replace the content of the error slot of a form (an aria-live region). */
export function showError(slot, err) {
  slot.replaceChildren(err ? errorBox(err) : "");
}

export function unavailableBox(path) {
  return h("p", { class: "notice unavailable", role: "status" }, t("common.unavailable", { path }));
}

/** Run an async action from a button/form: disables the control, reports errors into slot. */
export async function act(control, slot, fn) {
  if (control) control.disabled = true;
  if (slot) showError(slot, null);
  try {
    return await fn();
  } catch (err) {
    if (slot) showError(slot, err);
    else throw err;
    return undefined;
  } finally {
    if (control && control.isConnected) control.disabled = false;
  }
}

/**
 * A table with a caption and an "Export CSV" button.
 * columns: [{key, label, value?(row) → text, cell?(row) → Node}]
 */
export function dataTable({ caption, columns, rows, filename, empty }) {
  const wrap = h("div", { class: "table-block" });
  const bar = h("div", { class: "table-bar" },
    h("button", { type: "button", class: "secondary csv", onclick: () => downloadCsv(filename, columns, rows) },
      t("common.exportCsv")));
  const table = h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)))),
    h("tbody", {}, rows.length
      ? rows.map((r) => h("tr", {}, columns.map((c) => h("td", { dataset: { col: c.key } },
        c.cell ? c.cell(r) : text(c, r)))))
      : h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty || t("common.none")))));
  // a table wider than a phone scrolls sideways: the region takes keyboard focus so it can be scrolled
  wrap.append(bar, h("div", { class: "table-scroll", tabindex: "0", role: "group", "aria-label": caption }, table));
  return wrap;
}

function text(column, row) {
  const v = column.value ? column.value(row) : row[column.key];
  return v === null || v === undefined || v === "" ? "—" : String(v);
}

/** CSV with a byte-order mark, so that spreadsheet programs read Chinese text as UTF-8. */
export function toCsv(columns, rows) {
  const esc = (v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [columns.map((c) => esc(c.label)).join(",")];
  for (const r of rows) lines.push(columns.map((c) => esc(c.value ? c.value(r) : r[c.key])).join(","));
  return "\uFEFF" + lines.join("\r\n") + "\r\n";
}

export function downloadCsv(filename, columns, rows) {
  const blob = new Blob([toCsv(columns, rows)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function field(labelText, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, labelText), control,
    hint ? h("p", { class: "hint" }, hint) : null);
}

export function select(name, options, value) {
  return h("select", { name }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}

/** A button that adds the next page of a list (api.js listPage) to a select's options; hidden
 * when there is no next page. `toOptions(items)` gives [value, text] pairs. */
export function moreOptions(control, more, toOptions, text = t("common.earlier")) {
  let next = more;
  const button = h("button", { type: "button", class: "secondary more-options", hidden: !next }, text);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const page = await next();
      for (const [value, label] of toOptions(page.items)) control.append(h("option", { value }, label));
      next = page.more;
    } finally {
      button.disabled = false;
      button.hidden = !next;
    }
  });
  return button;
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

export function loading() {
  return h("p", { class: "loading", role: "status" }, t("common.loading"));
}

/** An implementation task's C5 status: the colour and the word (never the colour alone). */
export function taskBadge(status) {
  return h("span", { class: `badge-status status-${status}`, dataset: { status } }, t(`tstatus.${status}`));
}

/** A polite live region that announces what an action just did. */
export function liveStatus(id) {
  return h("p", { class: "live-status", id, role: "status", "aria-live": "polite" });
}

/** A form with a heading, fields, a submit button and an assertive error slot. */
export function form({ id, title, fields, submitLabel, onsubmit, headingLevel = "h3", confirm }) {
  const submit = h("button", { type: "submit" }, submitLabel);
  const errors = h("div", { "aria-live": "assertive", class: "form-errors" });
  const titleId = id ? `${id}-title` : null;
  const el = h("form", { id, "aria-labelledby": titleId }, title ? h(headingLevel, { id: titleId }, title) : null,
    fields, submit, errors);
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    // an irreversible step (confirm: () => the question) is asked before anything is sent
    if (confirm && !await confirmAction(confirm(), submitLabel)) return;
    act(submit, errors, () => onsubmit(el));
  });
  return el;
}

/**
 * Ask before an irreversible action: a modal <dialog> naming what will happen, with the action's
 * own button and a cancel button (Escape cancels). Resolves true only when the action is confirmed.
 */
export function confirmAction(message, confirmLabel) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "button", class: "danger", id: "confirm-ok" }, confirmLabel);
    const cancel = h("button", { type: "button", class: "secondary", id: "confirm-cancel" }, t("common.cancel"));
    const dialog = h("dialog", { class: "confirm", id: "confirm-dialog", "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, message), h("p", { class: "actions" }, ok, cancel));
    const done = (value) => { if (dialog.open) dialog.close(); dialog.remove(); resolve(value); };
    ok.addEventListener("click", () => done(true));
    cancel.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** Read a chosen file as base64 (without the data: prefix). */
export function fileToBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

/** Save base64 content as a file download. */
export function downloadBase64(filename, contentType, base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: contentType }));
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
