// One archived record (A1–A3): its content, its classification, every version (a correction is a
// new record that names the one it corrects; the old one stays) and its place in the hash chain.
// The confidential secretary, the office and the secretary correct the latest version, with a
// reason, after confirming: the correction cannot be taken back (A1).
import { api, nameMap, session } from "../api.js";
import { fieldLabel, formatTime, label, readableTimes, t } from "../i18n.js";
import { dataTable, field, form, h, heading, link, select } from "../ui.js";

const CORRECTORS = ["confidential_secretary", "office", "secretary"];        // A1
const CLASSIFICATIONS = ["public", "internal", "confidential"];             // A3
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

export default {
  route: "record/:id",
  async render(root, { id }, { navigate }) {
    const [record, names] = await Promise.all([api(`/records/${encodeURIComponent(id)}`), nameMap()]);
    const content = record.content || {};
    const title = content.title || content.meeting_title || content.topic_title || label("reckind", record.kind);
    const latest = record.latest_record_id === record.record_id;
    root.append(heading(`${t("archrec.title")} · ${title}`),
      h("p", { class: "actions" }, link("#/records", t("records.title")),
        record.kind === "decision" && record.subject_id ? link(`#/decision/${record.subject_id}`, t("decision.title")) : null),
      h("div", {}, latest ? null : h("p", { class: "notice", id: "not-latest" }, t("archrec.notLatest"), " ",
        link(`#/record/${record.latest_record_id}`, t("archrec.toLatest"), { id: "latest-link" }))),
      h("dl", { class: "facts card", id: "record-facts" },
        h("dt", {}, t("records.seq")), h("dd", { id: "record-seq" }, String(record.seq)),
        h("dt", {}, t("records.kind")), h("dd", {}, label("reckind", record.kind)),
        h("dt", {}, t("col.created")), h("dd", {}, formatTime(record.created_at)),
        h("dt", {}, t("records.classification")), h("dd", { id: "record-classification" }, label("classif", record.classification)),
        h("dt", {}, t("archrec.retention")), h("dd", {}, label("retention", record.retention)),
        record.reason ? [h("dt", {}, t("archrec.reason")), h("dd", { id: "record-reason" }, record.reason)] : null,
        record.recorded_by ? [h("dt", {}, t("archrec.recordedBy")), h("dd", {}, names.get(record.recorded_by) || "—")] : null,
        h("dt", {}, t("records.hash")), h("dd", { class: "mono" }, record.hash)));

    root.append(h("section", { "aria-labelledby": "content-title" }, h("h2", { id: "content-title" }, t("archrec.content")),
      h("dl", { class: "facts", id: "record-content" }, Object.entries(content).filter(([key]) => !isReference(key)).flatMap(([key, value]) => [
        h("dt", {}, fieldLabel(key)), h("dd", { dataset: { key } }, shown(value, names, key))]))));

    const versions = record.versions || [];
    root.append(h("section", { "aria-labelledby": "versions-title", id: "versions" },
      h("h2", { id: "versions-title" }, t("archrec.versions", { n: versions.length })),
      dataTable({
        caption: t("archrec.versions", { n: versions.length }), filename: `record-${record.seq}-versions.csv`, rows: versions,
        columns: [
          { key: "n", label: t("archrec.version"), value: (v) => String(versions.indexOf(v) + 1),
            cell: (v) => (v.record_id === record.record_id ? h("strong", {}, String(versions.indexOf(v) + 1))
              : link(`#/record/${v.record_id}`, String(versions.indexOf(v) + 1))) },
          { key: "seq", label: t("records.seq"), value: (v) => v.seq },
          { key: "created", label: t("col.created"), value: (v) => formatTime(v.created_at) },
          { key: "by", label: t("archrec.recordedBy"), value: (v) => (v.recorded_by ? names.get(v.recorded_by) || "—" : t("archrec.system")) },
          { key: "reason", label: t("archrec.reason"), value: (v) => v.reason || (v.corrects ? "" : t("archrec.original")) },
          { key: "classification", label: t("records.classification"), value: (v) => label("classif", v.classification) },
        ],
      })));

    // A1: only the latest version is corrected; only the correctors are offered the form
    if (latest && session.hasRole(...CORRECTORS)) root.append(correctionForm(record, content, navigate));
  },
};

/** The parts of a content shown and corrected: identifiers (…_id, …_ids) are references, not text. */
const isReference = (key) => /(^|_)ids?$/.test(key) || key === "hash" || key === "prev_hash";

/** Coded parts of a content, shown in words (the catalogue's prefix) and kept as they are when corrected. */
const CODED = { category: "cat", method: "method", outcome: "outcome", kind: "kind", status: "status", part: "prepart",
  classification: "classif", retention: "retention" };

/** A content value in words: codes by their names, names for person ids, times in the organization's
 * zone, a nested list or object by its size (the page it belongs to shows it in full). */
function shown(value, names, key) {
  if (value === null || value === undefined || value === "") return "—";
  if (CODED[key] && typeof value === "string") return label(CODED[key], value);
  if (Array.isArray(value)) {
    if (!value.length) return "—";
    return value.every((v) => typeof v !== "object" || v === null)
      ? value.map((v) => (typeof v === "string" ? names.get(v) || readableTimes(v) : String(v))).join("、")
      : t("archrec.items", { n: value.length });
  }
  if (typeof value === "object") return t("archrec.parts", { n: Object.keys(value).length });
  if (typeof value === "boolean") return value ? t("common.yes") : t("common.no");
  return typeof value === "string" ? names.get(value) || readableTimes(value) : String(value);
}

/**
 * The correction: each plain (text or number) part of the content is editable, the rest is kept
 * as it is; a reason is required and the classification may change with it (A3).
 */
function correctionForm(record, content, navigate) {
  const inputs = Object.entries(content)
    .filter(([key, v]) => !isReference(key) && !CODED[key] && (typeof v === "number" || (typeof v === "string" && !ISO.test(v))))
    .map(([key, value]) => {
      const long = typeof value === "string" && value.length > 80;
      const control = long
        ? h("textarea", { name: `content.${key}`, rows: 3 }, value)
        : h("input", { name: `content.${key}`, value: String(value), type: typeof value === "number" ? "number" : "text" });
      return { key, value, control };
    });
  const reason = h("textarea", { name: "reason", required: true, rows: 2, maxlength: 2000 });
  const classification = select("classification", CLASSIFICATIONS.map((c) => [c, label("classif", c)]), record.classification);
  return h("section", { "aria-labelledby": "correction-form-title" }, form({
    id: "correction-form", title: t("archrec.correct"), headingLevel: "h2", submitLabel: t("archrec.correctSubmit"),
    fields: [h("p", { class: "hint" }, t("archrec.correctHint")),
      inputs.map((i) => field(fieldLabel(i.key), i.control)),
      field(t("records.classification"), classification), field(t("archrec.reason"), reason)],
    confirm: () => t("archrec.correctConfirm", { seq: record.seq }),
    onsubmit: async () => {
      const next = { ...content };
      for (const i of inputs) next[i.key] = typeof i.value === "number" ? Number(i.control.value) : i.control.value;
      const body = { content: next, reason: reason.value.trim() };
      if (classification.value !== record.classification) body.classification = classification.value;
      const corrected = await api(`/records/${encodeURIComponent(record.record_id)}/corrections`, { method: "POST", body });
      navigate(`record/${corrected.record_id}`);
    },
  }));
}
