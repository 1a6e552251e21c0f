// A decision: the tally as an inline SVG bar chart with the V3 threshold line, the explanation,
// each member's stance, and links to its responsibility, timeline and archive record.
import { api, nameMap, remember, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { dataTable, field, form, h, heading, link, liveStatus, select } from "../ui.js";
import { recusedText } from "./ballot.js";

export default {
  route: "decision/:id",
  async render(root, { id }, { navigate }) {
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
    // V7 after the members: finding the items a reconsideration could be put to takes a few requests
    root.append(await reconsiderationSection(decision, navigate));
    const archive = h("section", { "aria-labelledby": "archive-title" }, h("h2", { id: "archive-title" }, t("decision.archive")));
    root.append(archive);
    try {
      const record = await api(`/decisions/${encodeURIComponent(id)}/record`);
      archive.append(h("p", { class: "mono", id: "archive-record" }, t("decision.archived", { seq: record.seq, hash: record.hash })),
        h("p", {}, link(`#/record/${record.record_id}`, t("archrec.open"), { id: "archive-record-link" })));
    } catch (err) {
      if (err.status !== 404) throw err;
      archive.append(h("p", {}, t("decision.notArchived")));
    }
  },
};

const GROUP = ["secretary", "deputy_secretary", "member"];
const METHODS = ["named", "show_of_hands", "oral", "secret"];

/** A linked decision named by its title and when it was decided (never its id). */
async function decisionLink(decisionId, id) {
  const other = await api(`/decisions/${encodeURIComponent(decisionId)}`).catch(() => null);
  const text = other ? `${other.title} · ${formatTime(other.decided_at)}` : t("recon.linked");
  return link(`#/decision/${decisionId}`, text, { id });
}

/**
 * V7: whether the decision is in force, what it reconsidered and what superseded it (both ways,
 * each a link); and for the secretary, the reconsideration of a decision in force: approved and
 * put to a new ballot on an item of a meeting in session that the secretary chairs. The form is
 * offered only when such an item exists, and the approval is asked to be confirmed first.
 */
async function reconsiderationSection(decision, navigate) {
  const sec = h("section", { "aria-labelledby": "recon-title", id: "reconsideration" },
    h("h2", { id: "recon-title" }, t("recon.title")),
    h("p", {}, t("recon.status"), " ",
      h("span", { id: "decision-status", dataset: { status: decision.status } }, label("dstatus", decision.status))));
  if (decision.superseded_by) {
    sec.append(h("p", { id: "superseded-by" }, t("recon.supersededBy"), " ",
      await decisionLink(decision.superseded_by, "successor-link")));
  }
  if (decision.reconsidered_decision_id) {
    sec.append(h("p", { id: "reconsiders" },
      t(decision.superseded_decision_id ? "recon.supersedes" : "recon.reconsidered"), " ",
      await decisionLink(decision.reconsidered_decision_id, "predecessor-link"),
      decision.superseded_decision_id ? "" : ` ${t("recon.stillInForce")}`));
  }
  if (!session.hasRole("secretary") || decision.status !== "in_force" || decision.outcome !== "passed") return sec;
  // the items the secretary could put it to now: meetings in session chaired by the secretary
  const me = session.actor.person_id;
  const opened = await api("/meetings", { query: { status: "opened" } }).catch(() => ({ items: [] }));
  const mine = (opened.items || []).filter((m) => m.chair_person_id === me);
  const details = await Promise.all(mine.map(async (m) => {
    const [meeting, ballots] = await Promise.all([api(`/meetings/${encodeURIComponent(m.meeting_id)}`),
      api("/ballots", { query: { meeting_id: m.meeting_id } }).catch(() => ({ items: [] }))]);
    return { meeting, ballots: ballots.items || [] };
  }));
  const running = details.flatMap((d) => d.ballots)
    .find((b) => b.status === "open" && b.reconsiders_decision_id === decision.decision_id);
  if (running) {
    sec.append(h("p", { id: "reconsideration-running" }, t("recon.running"), " ",
      link(`#/ballot/${running.ballot_id}`, running.title, { id: "reconsideration-ballot" })));
    return sec;
  }
  const options = details.flatMap(({ meeting, ballots }) => meeting.topics
    .filter((tp) => !ballots.some((b) => b.agenda_item_id === tp.topic_id && b.status === "open"))
    .map((tp) => [`${meeting.meeting_id}|${tp.topic_id}`, `${meeting.title} · ${tp.title}`]));
  if (!options.length) {
    sec.append(h("p", { class: "hint", id: "reconsider-how" }, t("recon.how"), " ",
      link("#/meetings", t("nav.meetings"))));
    return sec;
  }
  const item = select("reconsider_item", options, options[0][0]);
  const method = select("method", METHODS.map((m) => [m, label("method", m)]), "named");
  const reason = h("textarea", { name: "reason", required: true, rows: 3, maxlength: 2000 });
  const approve = h("input", { type: "checkbox", name: "approved_by_secretary", required: true });
  sec.append(form({
    id: "reconsider-form", title: t("recon.form"), headingLevel: "h3", submitLabel: t("recon.submit"),
    fields: [h("p", { class: "hint" }, t("recon.hint")), field(t("recon.item"), item), field(t("meeting.method"), method),
      field(t("recon.reason"), reason), h("label", { class: "choice" }, approve, t("recon.approve"))],
    confirm: () => t("recon.confirm", { title: decision.title }),
    onsubmit: async () => {
      const [meetingId, topicId] = item.value.split("|");
      const ballot = await api("/reconsiderations", { method: "POST", body: {
        decision_id: decision.decision_id, meeting_id: meetingId, topic_id: topicId,
        approved_by_secretary: approve.checked, reason: reason.value.trim(), method: method.value } });
      remember(`ballots.${meetingId}`, { ballot_id: ballot.ballot_id, title: ballot.title, method: ballot.method }, "ballot_id");
      navigate(`ballot/${ballot.ballot_id}`);
    },
  }));
  return sec;
}

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
