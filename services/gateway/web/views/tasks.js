// Implementation supervision (C5): every task of the organization's decisions with its
// red / yellow / green status; the secretary or the office assigns a passed decision's
// implementation (leader, units, deadline).
import { api, listPage, nameMap, roster, session } from "../api.js";
import { label, t } from "../i18n.js";
import { dataTable, field, form, h, heading, link, moreOptions, select, taskBadge } from "../ui.js";

export const TASK_ROLES = ["secretary", "deputy_secretary", "member", "office", "discipline", "org_department", "discipline_commission"];
const ASSIGNERS = ["secretary", "office"];
const STATUSES = ["red", "yellow", "green", "closed"];

export default {
  route: "tasks",
  nav: { label: "nav.tasks", roles: TASK_ROLES },
  async render(root, _params, { navigate }) {
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
    const [tasks, decisions, names] = await Promise.all([
      api("/tasks", { query: { status: status || undefined } }),
      listPage("/decisions", { limit: 100 }).catch(() => ({ items: [], more: null })),
      nameMap()]);
    const titles = new Map((decisions.items || []).map((d) => [d.decision_id, d.title]));
    root.append(heading(t("tasks.title")), h("p", {}, t("tasks.intro")));

    const filter = select("status", [["", t("common.all")], ...STATUSES.map((s) => [s, t(`tstatus.${s}`)])], status);
    const filterForm = h("form", { class: "row-form", id: "task-filter" }, field(t("tasks.filter"), filter),
      h("button", { type: "submit", class: "secondary" }, t("tasks.show")));
    filterForm.addEventListener("submit", (e) => { e.preventDefault(); navigate(filter.value ? `tasks?status=${filter.value}` : "tasks"); });
    root.append(filterForm);

    root.append(dataTable({
      caption: t("tasks.title"), filename: "implementation-tasks.csv", rows: tasks.items || [],
      columns: [
        { key: "status", label: t("task.status"), value: (x) => t(`tstatus.${x.status}`), cell: (x) => taskBadge(x.status) },
        { key: "decision", label: t("tasks.decision"), value: (x) => titles.get(x.decision_id) || x.decision_id,
          cell: (x) => link(`#/task/${x.task_id}`, titles.get(x.decision_id) || x.decision_id, { class: "task-link" }) },
        { key: "leader", label: t("tasks.leader"), value: (x) => names.get(x.leader_person_id) || x.leader_person_id },
        { key: "units", label: t("tasks.units"), value: (x) => x.units.join("、") },
        { key: "deadline", label: t("tasks.deadline"), value: (x) => x.deadline },
        { key: "days", label: t("tasks.daysLeft"), value: (x) => (x.status === "closed" ? "" : x.days_left) },
        { key: "percent", label: t("tasks.percent"), value: (x) => `${x.percent}%` },
      ],
    }));
    if (session.hasRole(...ASSIGNERS)) root.append(await assignForm(decisions, params.get("decision"), navigate));
  },
};

async function assignForm(decisions, wanted, navigate) {
  const passed = decisions.items.filter((d) => d.outcome === "passed");
  const section = h("section", { "aria-labelledby": "assign-title" }, h("h2", { id: "assign-title" }, t("tasks.assign")));
  if (!passed.length && !decisions.more) { section.append(h("p", {}, t("tasks.noPassed"))); return section; }
  const members = (await roster().catch(() => ({ members: [] }))).members;
  const option = (d) => [d.decision_id, `${d.title} · ${label("outcome", d.outcome)}`];
  const decision = select("decision_id", passed.map(option),
    passed.some((d) => d.decision_id === wanted) ? wanted : passed[0]?.decision_id);
  // older decisions page by page (keyset: the list's next_cursor), never all at once
  const earlier = moreOptions(decision, decisions.more, (items) => items.filter((d) => d.outcome === "passed").map(option));
  const leader = select("leader_person_id", members.map((m) => [m.person_id, `${m.name}（${label("role", m.role)}）`]),
    members[0]?.person_id);
  const units = h("textarea", { name: "units", required: true, rows: 2 });
  const deadline = h("input", { type: "date", name: "deadline", required: true,
    value: new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10) });
  const important = h("input", { type: "checkbox", name: "important" });
  section.append(form({
    id: "assign-form", submitLabel: t("tasks.assignSubmit"),
    fields: [field(t("tasks.decision"), decision), earlier, field(t("tasks.leader"), leader),
      field(t("tasks.units"), units, t("tasks.unitsHint")), field(t("tasks.deadline"), deadline),
      h("label", { class: "choice" }, important, t("tasks.important"))],
    onsubmit: async () => {
      const task = await api(`/decisions/${decision.value}/tasks`, { method: "POST", body: {
        leader_person_id: leader.value, deadline: deadline.value, important: important.checked,
        units: units.value.split(/\n|[,，、]/).map((u) => u.trim()).filter(Boolean) } });
      navigate(`task/${task.task_id}`);
    },
  }));
  return section;
}
