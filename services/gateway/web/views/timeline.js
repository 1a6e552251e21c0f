// A decision's path: topic → notice → meeting → ballot → archive → accountability,
// assembled from the records each service holds (a step not reached yet shows as pending).
import { api } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { h, heading, link } from "../ui.js";

const quiet = (p) => p.catch(() => null);

export default {
  route: "decision/:id/timeline",
  async render(root, { id }) {
    const decision = await api(`/decisions/${encodeURIComponent(id)}`);
    const [meeting, ballot, record, resp, tasks, cases, kept] = await Promise.all([
      quiet(api(`/meetings/${encodeURIComponent(decision.meeting_id)}`)),
      quiet(api(`/ballots/${encodeURIComponent(decision.ballot_id)}`)),
      quiet(api(`/decisions/${encodeURIComponent(id)}/record`)),
      quiet(api(`/decisions/${encodeURIComponent(id)}/responsibility`)),
      quiet(api("/tasks", { query: { org_id: decision.org_id } })),       // C5: readers of tasks only
      quiet(api("/cases", { query: { org_id: decision.org_id } })),       // C4: readers of cases only
      // A1: every record of the meeting the archive holds, of whatever kind, in chain order
      quiet(api("/records", { query: { org_id: decision.org_id, meeting_id: decision.meeting_id, limit: 200 } })),
    ]);
    const myTasks = (tasks?.items || []).filter((x) => x.decision_id === id);
    const myCases = (cases?.items || []).filter((c) => c.decision_id === id);
    const tz = meeting?.timezone || "Asia/Shanghai";
    const topic = meeting?.topics?.find((tp) => tp.topic_id === decision.agenda_item_id);
    const links = resp?.links || [];
    const steps = [
      { key: "topic", done: true, at: null,
        detail: `${topic?.title || decision.title} · ${label("cat", topic?.category || decision.category)}` },
      { key: "notice", done: Boolean(meeting?.noticed_at), at: meeting?.noticed_at,
        detail: meeting ? `${meeting.title} · ${label("kind", meeting.kind)}` : "" },
      { key: "meeting", done: Boolean(meeting?.opened_at), at: meeting?.opened_at,
        detail: meeting?.n ? t("meeting.quorum", { present: decision.present, n: meeting.n, quorum: meeting.quorum }) : "" },
      { key: "ballot", done: true, at: decision.decided_at, from: ballot?.opened_at,
        detail: t("timeline.ballotDetail", { method: label("method", decision.method), yes: decision.yes, no: decision.no,
          abstain: decision.abstain, outcome: label("outcome", decision.outcome) }) },
      { key: "archive", done: Boolean(record), at: record?.created_at,
        detail: record ? t("decision.archived", { seq: record.seq, hash: `${record.hash.slice(0, 16)}…` }) : "" },
      { key: "accountability", done: links.length > 0, at: null,
        detail: links.length ? t("timeline.linksCount", { n: links.length, p: links.filter((l) => l.participant).length }) : "" },
    ];
    if (tasks) {
      steps.push({ key: "implementation", done: myTasks.length > 0, at: myTasks[0]?.assigned_at,
        detail: myTasks.length ? t("timeline.tasksDetail", { n: myTasks.length,
          statuses: myTasks.map((x) => t(`tstatus.${x.status}`)).join(", ") }) : "",
        links: myTasks.map((x) => [`#/task/${x.task_id}`, `${t("task.title")} · ${t(`tstatus.${x.status}`)}`]) });
    }
    if (cases) {
      for (const c of myCases.length ? myCases : [null]) {
        steps.push({ key: "case", done: Boolean(c), at: c?.opened_at,
          detail: c ? t("timeline.caseDetail", { trigger: `${c.trigger.code}. ${label("trigger", c.trigger.code)}`,
            status: label("cstatus", c.status) }) : "",
          links: c ? [[`#/case/${c.case_id}`, `${t("case.title")}: ${c.summary}`]] : [] });
      }
    }
    root.append(heading(`${t("timeline.title")} · ${decision.title}`),
      h("p", { class: "actions" }, link(`#/decision/${id}`, t("decision.title")), link(`#/decision/${id}/responsibility`, t("decision.links"))),
      h("section", {}, h("ol", { class: "timeline", id: "timeline" }, steps.map((s) => h("li", {
        class: s.done ? "done" : "pending", dataset: { step: s.key, done: String(s.done) } },
      h("span", { class: "step" }, t(`timeline.${s.key}`)),
      s.at ? h("time", { datetime: s.at }, (s.from ? `${formatTime(s.from, tz)} – ` : "") + formatTime(s.at, tz)) : null,
      !s.done ? h("span", { class: "when" }, t("timeline.pending")) : null,
      s.detail ? h("p", { class: "detail" }, s.detail) : null,
      (s.links || []).map(([href, text]) => h("p", {}, link(href, text, { class: `timeline-link-${s.key}` }))))))));
    const records = kept?.items || [];
    root.append(h("section", { "aria-labelledby": "timeline-records-h" },
      h("h2", { id: "timeline-records-h" }, t("timeline.records")),
      records.length
        ? h("ol", { class: "record-trail", id: "timeline-records" }, records.map((r) => h("li", { dataset: { kind: r.kind } },
          h("span", { class: "step" }, label("reckind", r.kind)), " ",
          h("time", { datetime: r.created_at }, formatTime(r.created_at, tz)),
          h("span", { class: "when" }, ` · ${t("records.seq")} ${r.seq} · ${label("retention", r.retention)}`))))
        : h("p", {}, t("timeline.recordsNone"))));
  },
};
