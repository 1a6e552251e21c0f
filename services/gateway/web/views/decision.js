// A decision: the tally as an inline SVG bar chart with the V3 threshold line, the explanation,
// each member's stance, and links to its responsibility, timeline and archive record.
import { api, nameMap, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { dataTable, field, form, h, heading, link, liveStatus } from "../ui.js";
import { recusedText } from "./ballot.js";

export default {
  route: "decision/:id",
  async render(root, { id }) {
    const [decision, names] = await Promise.all([api(`/decisions/${encodeURIComponent(id)}`), nameMap()]);
    const outcome = label("outcome", decision.outcome);
    root.append(heading(`${t("decision.title")} · ${decision.title}`));
    const summary = h("section", { "aria-labelledby": "outcome-title" },
      h("h2", { id: "outcome-title" }, t("decision.outcome"), " ",
        h("span", { class: `outcome ${decision.outcome}`, id: "outcome", dataset: { outcome: decision.outcome } }, outcome)),
      tallyChart(decision),
      h("p", { class: "explanation", id: "explanation" }, t("decision.explain", { ...decision, outcome })),
      decision.explanation ? h("details", {}, h("summary", {}, t("decision.systemExplain")), h("p", { lang: "en" }, decision.explanation)) : null,
      h("p", { id: "decision-recused" }, t("decision.recused", { names: recusedText(decision.recused || [], names) })),
      h("p", {}, t("decision.decidedAt", { when: formatTime(decision.decided_at), method: label("method", decision.method) })),
      h("p", { class: "actions" },
        link(`#/decision/${decision.decision_id}/responsibility`, t("decision.links"), { id: "responsibility-link" }),
        link(`#/decision/${decision.decision_id}/timeline`, t("decision.timeline"), { id: "timeline-link" }),
        session.hasRole("discipline") ? link(`#/cases?decision=${decision.decision_id}`, t("decision.openCase"), { id: "open-case-link" }) : null,
        session.hasRole("secretary", "office") && decision.outcome === "passed"
          ? link(`#/tasks?decision=${decision.decision_id}`, t("decision.assign"), { id: "assign-link" }) : null));
    root.append(summary);
    root.append(h("section", { "aria-labelledby": "members-title" }, h("h2", { id: "members-title" }, t("decision.members")),
      dataTable({
        caption: t("decision.members"), filename: `decision-${decision.decision_id}-members.csv`, rows: decision.members || [],
        columns: [
          { key: "person", label: t("col.person"), value: (m) => names.get(m.person_id) || m.person_id },
          { key: "presence", label: t("col.presence"), value: (m) => label("presence", m.presence) },
          { key: "voted", label: t("col.voted"), value: (m) => (m.voted ? t("common.yes") : t("common.no")) },
          { key: "recused", label: t("col.recused"), value: (m) => (m.recused ? t("common.yes") : "") },
          { key: "stance", label: t("col.stance"), value: (m) => (m.voted || m.stance ? label("choice", m.stance) : "—") },
          { key: "reserved", label: t("col.reserved"), value: (m) => m.reserved_opinion },
          { key: "written", label: t("col.written"), value: (m) => m.written_opinion },
        ],
      })));
    if (session.hasRole(...GROUP) && decision.outcome !== "deferred") root.append(reserveForm(decision, names));
    const archive = h("section", { "aria-labelledby": "archive-title" }, h("h2", { id: "archive-title" }, t("decision.archive")));
    root.append(archive);
    try {
      const record = await api(`/decisions/${encodeURIComponent(id)}/record`);
      archive.append(h("p", { class: "mono", id: "archive-record" }, t("decision.archived", { seq: record.seq, hash: record.hash })));
    } catch (err) {
      if (err.status !== 404) throw err;
      archive.append(h("p", {}, t("decision.notArchived")));
    }
  },
};

const GROUP = ["secretary", "deputy_secretary", "member"];

/** V6: a group member present at the ballot keeps a reserved opinion on its decision, once. */
function reserveForm(decision, names) {
  const mine = (decision.members || []).find((m) => m.person_id === session.actor?.person_id);
  const section = h("section", { class: "reserve" });
  if (mine?.reserved_opinion) return section;
  const text = h("textarea", { name: "reserved_text", required: true, maxlength: 5000, rows: 3 });
  const done = liveStatus("reserve-status");
  section.append(form({
    id: "reserve-form", title: t("decision.reserve"), headingLevel: "h2", submitLabel: t("decision.reserveSubmit"),
    fields: [h("p", { class: "hint" }, t("decision.reserveHint")), field(t("decision.reserve"), text)],
    onsubmit: async (el) => {
      await api(`/decisions/${decision.decision_id}/reserved-opinions`, { method: "POST", body: { text: text.value.trim() } });
      el.remove();
      done.textContent = t("decision.reserved");
    },
  }), done);
  return section;
}

/** Horizontal bars for yes / no / abstain on a scale of N, with a dashed line at the V3 threshold. */
export function tallyChart(d) {
  const W = 600, left = 110, right = 30, top = 34, barH = 38, gap = 16;
  const n = Math.max(d.n || 0, d.yes + d.no + d.abstain, 1);
  const plot = W - left - right;
  const x = (v) => left + (plot * v) / n;
  const rows = [["yes", d.yes], ["no", d.no], ["abstain", d.abstain]];
  const H = top + rows.length * (barH + gap) + 24;
  const svg = h("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-labelledby": "chart-title chart-desc", id: "tally-chart" },
    h("title", { id: "chart-title" }, t("decision.title")),
    h("desc", { id: "chart-desc" }, t("decision.chart", d)));
  rows.forEach(([key, value], i) => {
    const y = top + i * (barH + gap);
    svg.append(
      h("text", { x: left - 10, y: y + barH / 2 + 5, "text-anchor": "end" }, label("choice", key)),
      h("rect", { x: left, y, width: Math.max(x(value) - left, 0), height: barH, class: `bar bar-${key}`, dataset: { choice: key, value } }),
      h("text", { x: x(value) + 6, y: y + barH / 2 + 5, class: "bar-value" }, String(value)));
  });
  // axis ticks 0 and N
  const axisY = top + rows.length * (barH + gap) + 4;
  svg.append(h("line", { x1: left, x2: x(n), y1: axisY - 8, y2: axisY - 8, stroke: "#888", "stroke-width": 1 }),
    h("text", { x: left, y: axisY + 14, "text-anchor": "middle" }, "0"),
    h("text", { x: x(n), y: axisY + 14, "text-anchor": "middle" }, `N=${d.n}`));
  const tx = x(d.threshold);
  svg.append(h("line", { x1: tx, x2: tx, y1: top - 12, y2: axisY - 8, class: "threshold", id: "threshold-line", dataset: { threshold: d.threshold } }),
    h("text", { x: tx, y: top - 16, "text-anchor": "middle", class: "threshold-label" }, t("decision.threshold", d)));
  return svg;
}
