// The archive (A1/A2): records with the hash chain's verification status.
import { api, session } from "../api.js";
import { formatTime, label, t, valuesOf } from "../i18n.js";
import { dataTable, h, heading, link } from "../ui.js";
import { READ_LOG_READERS } from "./read-log.js";

const PAGE = 50;

// What a record is about, in words: its title, else its meeting's or topic's title, a name, a theme,
// a document number; never a raw identifier (the kinds without a title of their own link their meeting).
function subjectOf(r) {
  const c = r.content || {};
  // M10: an issued document is named by its issue number first, as offices cite it: 〔2027〕3号 title
  if (c.document_number && c.title) return t("records.numbered", { number: c.document_number, title: c.title });
  return c.title || c.meeting_title || c.topic_title || c.name || c.theme || c.document_number || "";
}

function subjectCell(r) {
  const text = subjectOf(r);
  if (r.kind === "decision") return link(`#/decision/${r.subject_id}`, text || t("records.noTitle"));
  if (!text && r.content?.meeting_id) return link(`#/meeting/${r.content.meeting_id}`, t("records.ofMeeting"));
  return text || t("records.noTitle");
}

export default {
  route: "records",
  nav: { label: "nav.records" },
  async render(root, _params, { navigate }) {
    // keyset paging: the URL keeps the trail of cursors (each page's next_cursor) that led here,
    // so "previous" drops the last one; an old ?offset= link still opens its page
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const trail = (params.get("trail") || "").split(".").filter(Boolean);
    const offset = trail.length ? 0 : Number(params.get("offset") || 0);
    const kind = params.get("kind") || undefined;          // A1: one kind of record at a time
    const query = { limit: PAGE, cursor: trail.at(-1), offset: offset || undefined, kind };
    const [verify, page] = await Promise.all([api("/records/verify"), api("/records", { query })]);
    const select = h("select", { id: "records-kind", name: "kind" },
      h("option", { value: "" }, t("records.allKinds")),
      valuesOf("reckind").map((k) => h("option", { value: k, selected: k === kind }, label("reckind", k))));
    const filter = h("form", { class: "filters", id: "records-filter", onsubmit: (ev) => {
      ev.preventDefault();
      navigate(select.value ? `records?kind=${encodeURIComponent(select.value)}` : "records");
    } }, h("label", { for: "records-kind" }, t("records.filterKind")), select,
    h("button", { type: "submit", class: "secondary" }, t("records.filter")));
    root.append(heading(t("records.title")),
      verify.ok
        ? h("p", { class: "ok-banner", id: "verify-status", role: "status", dataset: { ok: "true" } }, "✓ ", t("records.verifyOk", { n: verify.records }))
        : h("p", { class: "bad-banner", id: "verify-status", role: "alert", dataset: { ok: "false" } }, "✗ ",
          t("records.verifyBad", { seq: verify.first_bad?.seq ?? verify.first_bad ?? "?" })));
    root.append(filter);
    // A3: who read the confidential records, for the roles that may see it
    if (session.hasRole(...READ_LOG_READERS)) root.append(h("p", { class: "actions" }, link("#/read-log", t("readlog.title"), { id: "read-log-link" })));
    const items = page.items || [];
    root.append(dataTable({
      caption: t("records.title"), filename: "archive-records.csv", rows: items,
      columns: [
        // A1: each record opens on its own page (content, versions, corrections)
        { key: "seq", label: t("records.seq"), cell: (r) => link(`#/record/${r.record_id}`, String(r.seq), { class: "record-link" }) },
        { key: "created", label: t("col.created"), value: (r) => formatTime(r.created_at) },
        { key: "kind", label: t("records.kind"), value: (r) => label("reckind", r.kind) },
        { key: "subject", label: t("records.subject"), value: (r) => subjectOf(r) || r.subject_id, cell: subjectCell },
        { key: "classification", label: t("records.classification"), value: (r) => label("clsf", r.classification) },
        { key: "retention", label: t("records.retention"), value: (r) => label("retention", r.retention) },
        { key: "hash", label: t("records.hash"), value: (r) => r.hash, cell: (r) => h("span", { class: "mono" }, `${r.hash.slice(0, 16)}…`) },
      ],
    }));
    const nav = h("p", { class: "actions" });
    const kindPart = kind ? `kind=${encodeURIComponent(kind)}` : "";
    const at = (cursors) => {
      const parts = [cursors.length ? `trail=${cursors.join(".")}` : "", kindPart].filter(Boolean);
      return parts.length ? `records?${parts.join("&")}` : "records";
    };
    if (trail.length) nav.append(h("button", { type: "button", class: "secondary", onclick: () => navigate(at(trail.slice(0, -1))) }, t("common.prev")));
    else if (offset > 0) nav.append(h("button", { type: "button", class: "secondary", onclick: () => navigate(`records?offset=${Math.max(0, offset - PAGE)}`) }, t("common.prev")));
    if (page.next_cursor) nav.append(h("button", { type: "button", class: "secondary", onclick: () => navigate(at([...trail, page.next_cursor])) }, t("common.next")));
    root.append(nav);
  },
};
