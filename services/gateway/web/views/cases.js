// Accountability cases (C4): the list for the discipline inspectors and the higher bodies,
// and the form a discipline inspector opens a case with — on a decision (each member's
// responsibility proposed by C3 when judged a major error) or on one member.
import { api, listPage, nameMap, roster, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { dataTable, field, form, h, heading, link, moreOptions, select } from "../ui.js";

export const CASE_ROLES = ["discipline", "discipline_commission", "org_department"];
export const TRIGGERS = [1, 2, 3, 4, 5, 6, 7, 8];

export default {
  route: "cases",
  nav: { label: "nav.cases", roles: CASE_ROLES },
  async render(root, _params, { navigate }) {
    // linked from a decision, or from an alert on a decision or on a member's overdue report (C6)
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const wanted = { decision: params.get("decision"), person: params.get("person") };
    const [cases, decisions, names] = await Promise.all([
      api("/cases"), listPage("/decisions", { limit: 100 }).catch(() => ({ items: [], more: null })), nameMap()]);
    const titles = new Map((decisions.items || []).map((d) => [d.decision_id, d.title]));
    root.append(heading(t("cases.title")));
    if (session.hasRole("discipline")) root.append(await openForm(decisions.items, decisions.more, wanted, navigate));
    root.append(h("section", { "aria-labelledby": "case-list-title" }, h("h2", { id: "case-list-title" }, t("cases.title")),
      dataTable({
        caption: t("cases.title"), filename: "accountability-cases.csv", rows: cases.items || [],
        columns: [
          { key: "opened", label: t("cases.opened"), value: (c) => formatTime(c.opened_at) },
          { key: "trigger", label: t("cases.trigger"), value: (c) => `${c.trigger.code} ${label("trigger", c.trigger.code)}` },
          { key: "subject", label: t("cases.subject"),
            value: (c) => (c.decision_id ? titles.get(c.decision_id) || c.decision_id : names.get(c.person_id) || c.person_id),
            cell: (c) => link(`#/case/${c.case_id}`,
              c.decision_id ? titles.get(c.decision_id) || c.decision_id : names.get(c.person_id) || c.person_id, { class: "case-link" }) },
          { key: "summary", label: t("cases.summary"), value: (c) => c.summary },
          { key: "status", label: t("col.status"), value: (c) => label("cstatus", c.status) },
        ],
      })));
  },
};

async function openForm(decisions, more, wanted, navigate) {
  const members = (await roster().catch(() => ({ members: [] }))).members;
  const secretary = members.find((m) => m.role === "secretary");
  const personWanted = !wanted.decision && members.some((m) => m.person_id === wanted.person);
  const onDecision = h("input", { type: "radio", name: "subject_kind", value: "decision", id: "subject-decision", checked: !personWanted });
  const onMember = h("input", { type: "radio", name: "subject_kind", value: "person", id: "subject-person", checked: personWanted });
  const option = (d) => [d.decision_id, `${d.title} · ${label("outcome", d.outcome)} · ${formatTime(d.decided_at)}`];
  const decision = select("decision_id", decisions.map(option),
    decisions.some((d) => d.decision_id === wanted.decision) ? wanted.decision : decisions[0]?.decision_id);
  const person = select("person_id", members.map((m) => [m.person_id, `${m.name}（${label("role", m.role)}）`]),
    personWanted ? wanted.person : members[0]?.person_id);
  const trigger = select("trigger", TRIGGERS.map((c) => [String(c), `${c}. ${label("trigger", c)}`]), "2");
  const summary = h("textarea", { name: "summary", required: true, maxlength: 5000, rows: 3 });
  const major = h("input", { type: "checkbox", name: "major_error", id: "major-error" });
  const broke = h("input", { type: "checkbox", name: "group_broke_rules", id: "group-broke" });
  const decisionField = field(t("cases.decision"), decision);
  decisionField.append(moreOptions(decision, more, (items) => items.map(option)));   // older ones, page by page
  const personField = field(t("cases.member"), person);
  const majorField = h("p", { class: "choice" }, major, h("label", { for: "major-error" }, t("cases.majorError")));
  const sync = () => {
    decisionField.hidden = !onDecision.checked;
    majorField.hidden = !onDecision.checked;
    personField.hidden = onDecision.checked;
  };
  onDecision.addEventListener("change", sync);
  onMember.addEventListener("change", sync);
  sync();
  const f = form({
    id: "open-case", title: t("cases.open"), headingLevel: "h2", submitLabel: t("cases.submit"),
    fields: [
      h("fieldset", { class: "inline" }, h("legend", {}, t("cases.subjectKind")),
        h("span", { class: "choice" }, onDecision, h("label", { for: "subject-decision" }, t("cases.onDecision"))),
        h("span", { class: "choice" }, onMember, h("label", { for: "subject-person" }, t("cases.onMember")))),
      decisions.length ? decisionField : h("p", {}, t("cases.noDecisions")), personField,
      field(t("cases.trigger"), trigger), field(t("cases.summary"), summary), majorField,
      h("p", { class: "choice" }, broke, h("label", { for: "group-broke" }, t("cases.groupBroke")))],
    onsubmit: async () => {
      const body = { trigger: Number(trigger.value), summary: summary.value.trim(),
        group_broke_rules: broke.checked, secretary_person_id: broke.checked ? secretary?.person_id || null : null };
      if (onDecision.checked) Object.assign(body, { decision_id: decision.value || null, major_error: major.checked });
      else body.person_id = person.value;
      const opened = await api("/cases", { method: "POST", body });
      navigate(`case/${opened.case_id}`);
    },
  });
  return h("section", {}, f);
}
