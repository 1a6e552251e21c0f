// One accountability case (C4): trigger, subject, each person's proposed responsibility
// (C1/C3) and, once concluded, the outcome per person from the ladder of §5.3.
import { api, nameMap, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { dataTable, field, form, h, heading, link, select } from "../ui.js";

const LADDER = ["criticism_education", "ordered_self_examination", "admonishment_talk", "circulated_criticism", "transfer",
  "ordered_resignation", "removal", "demotion", "party_discipline", "administrative_discipline", "referral"];
const FINAL = ["exempted", "no_action"];

export default {
  route: "case/:id",
  async render(root, { id }, { navigate }) {
    const [c, names] = await Promise.all([api(`/cases/${encodeURIComponent(id)}`), nameMap()]);
    const decision = c.decision_id ? await api(`/decisions/${encodeURIComponent(c.decision_id)}`).catch(() => null) : null;
    const who = (pid) => names.get(pid) || pid;
    const subject = c.decision_id ? decision?.title || c.decision_id : who(c.person_id);
    root.append(heading(`${t("case.title")} · ${subject}`),
      h("p", { class: "actions" }, link("#/cases", t("cases.title")),
        c.decision_id ? link(`#/decision/${c.decision_id}`, t("decision.title")) : null,
        c.decision_id ? link(`#/decision/${c.decision_id}/timeline`, t("decision.timeline"), { id: "case-timeline-link" }) : null),
      h("dl", { class: "facts card" },
        h("dt", {}, t("col.status")), h("dd", { id: "case-status", dataset: { status: c.status } }, label("cstatus", c.status)),
        h("dt", {}, t("cases.trigger")), h("dd", { id: "case-trigger" }, `${c.trigger.code}. ${label("trigger", c.trigger.code)}`),
        h("dt", {}, t("cases.subject")), h("dd", { id: "case-subject" }, subject),
        h("dt", {}, t("cases.summary")), h("dd", { id: "case-summary", class: "prewrap" }, c.summary),
        h("dt", {}, t("cases.opened")), h("dd", {}, `${formatTime(c.opened_at)} · ${who(c.opened_by)}`),
        c.major_error ? [h("dt", {}, t("cases.majorError")), h("dd", {}, t("common.yes"))] : null,
        c.concluded_at ? [h("dt", {}, t("case.note")), h("dd", { id: "case-note" }, `${c.note} — ${t("case.concluded", { when: formatTime(c.concluded_at) })}`)] : null));
    const persons = c.persons || [];
    root.append(h("section", { "aria-labelledby": "persons-title" }, h("h2", { id: "persons-title" }, t("case.persons")),
      dataTable({
        caption: t("case.persons"), filename: `case-${id}-persons.csv`, rows: persons,
        columns: [
          { key: "person", label: t("col.person"), value: (p) => who(p.person_id) },
          { key: "proposal", label: t("case.proposal"), value: (p) => (p.proposal ? label("proposal", p.proposal.proposal) : "") },
          { key: "rule", label: t("case.rule"), value: (p) => p.proposal?.rule },
          { key: "outcome", label: t("case.outcome"), value: (p) => (p.outcome || []).map((s) => label("ladder", s)).join("、") },
        ],
      })));
    if (session.hasRole("discipline") && c.status === "open" && persons.length) {
      // the inspector chooses each outcome: nothing is pre-filled (the C3 proposal is shown beside it)
      const choices = [["", t("case.choose")], ...[...LADDER, ...FINAL].map((s) => [s, label("ladder", s)])];
      const selects = persons.map((p) => ({ p, el: select(`outcome-${p.person_id}`, choices, "") }));
      selects.forEach(({ el }) => { el.required = true; });
      const note = h("textarea", { name: "note", required: true, maxlength: 5000, rows: 3 });
      root.append(form({
        id: "conclude-form", title: t("case.conclude"), headingLevel: "h2", submitLabel: t("case.concludeSubmit"),
        fields: [selects.map(({ p, el }) => field(`${t("case.outcome")} · ${who(p.person_id)}`, el,
          p.proposal ? `${t("case.proposal")}: ${label("proposal", p.proposal.proposal)}` : null)), field(t("case.note"), note)],
        confirm: () => t("case.concludeConfirm"),
        onsubmit: async () => {
          await api(`/cases/${id}/conclusion`, { method: "POST", body: {
            note: note.value.trim(), outcomes: Object.fromEntries(selects.map(({ p, el }) => [p.person_id, [el.value]])) } });
          navigate(`case/${id}`);
        },
      }));
    }
  },
};
