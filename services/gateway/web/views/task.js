// One implementation task (C5): its status colour, progress and history; the responsible
// leader reports progress, the office and discipline inspectors supervise, and the leader,
// the secretary or the office postpone or declare it not executable — with an explanation.
import { api, nameMap, session } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { dataTable, field, form, h, heading, link, liveStatus, taskBadge } from "../ui.js";

const EXPLAINERS = ["secretary", "office"];

export default {
  route: "task/:id",
  async render(root, { id }, { navigate }) {
    const [task, names] = await Promise.all([api(`/tasks/${encodeURIComponent(id)}`), nameMap()]);
    const decision = await api(`/decisions/${encodeURIComponent(task.decision_id)}`).catch(() => null);
    const who = (pid) => names.get(pid) || pid;
    const me = session.actor?.person_id;
    const status = liveStatus("task-status-message");
    status.textContent = sessionStorage.getItem("pg.flash") || "";
    sessionStorage.removeItem("pg.flash");
    const post = async (path, body) => {
      const updated = await api(`/tasks/${id}/${path}`, { method: "POST", body });
      sessionStorage.setItem("pg.flash", t("task.updated", { status: t(`tstatus.${updated.status}`) }));
      navigate(`task/${id}`);
    };

    root.append(heading(`${t("task.title")} · ${decision?.title || task.decision_id}`),
      h("p", { class: "actions" }, link("#/tasks", t("tasks.title")),
        link(`#/decision/${task.decision_id}`, t("decision.title")), link(`#/decision/${task.decision_id}/timeline`, t("decision.timeline"))),
      status,
      h("dl", { class: "facts card" },
        h("dt", {}, t("task.status")), h("dd", { id: "task-status" }, taskBadge(task.status)),
        h("dt", {}, t("tasks.percent")), h("dd", {},
          h("progress", { max: 100, value: task.percent, id: "task-progress", "aria-label": t("tasks.percent") }), ` ${task.percent}%`),
        h("dt", {}, t("tasks.deadline")), h("dd", { id: "task-deadline" }, task.deadline,
          task.status === "closed" ? "" : ` (${t("tasks.daysLeft")} ${task.days_left})`),
        h("dt", {}, t("tasks.leader")), h("dd", {}, who(task.leader_person_id)),
        h("dt", {}, t("tasks.units")), h("dd", {}, task.units.join("、")),
        task.important ? [h("dt", {}, t("task.special")), h("dd", {}, t("tasks.important"))] : null));

    const open = task.state === "open";
    if (open && me === task.leader_person_id) {
      const text = h("textarea", { name: "progress_text", required: true, maxlength: 5000, rows: 3 });
      const percent = h("input", { type: "number", name: "percent", min: task.percent, max: 100, step: 1, required: true, value: task.percent });
      const special = h("textarea", { name: "special_report", maxlength: 20000, rows: 3 });
      root.append(form({
        id: "progress-form", title: t("task.progress"), headingLevel: "h2", submitLabel: t("task.progressSubmit"),
        fields: [field(t("task.progressText"), text), field(t("task.percentField"), percent),
          task.important ? field(t("task.special"), special) : null],
        onsubmit: () => post("progress", { text: text.value.trim(), percent: Number(percent.value),
          special_report: special.value.trim() || null }),
      }));
    } else if (open && session.hasRole("office", "secretary")) {
      root.append(h("p", { class: "hint" }, t("task.leaderOnly")));
    }
    const kind = session.hasRole("office") ? "office" : session.hasRole("discipline") ? "discipline" : null;
    if (kind) {
      const note = h("textarea", { name: "supervision_note", required: true, maxlength: 5000, rows: 3 });
      const feedback = h("textarea", { name: "feedback", maxlength: 5000, rows: 2 });
      root.append(form({
        id: "supervision-form", title: t("task.supervise"), headingLevel: "h2", submitLabel: t("task.superviseSubmit"),
        fields: [field(t("task.supervisionNote"), note), field(t("task.feedback"), feedback)],
        onsubmit: () => post("supervision", { kind, note: note.value.trim(), feedback: feedback.value.trim() || null }),
      }));
    }
    if (open && (me === task.leader_person_id || session.hasRole(...EXPLAINERS))) {
      const newDeadline = h("input", { type: "date", name: "new_deadline", required: true });
      const why = h("textarea", { name: "postpone_explanation", required: true, maxlength: 5000, rows: 2 });
      const whyNot = h("textarea", { name: "not_executable_explanation", required: true, maxlength: 5000, rows: 2 });
      root.append(
        form({ id: "postpone-form", title: t("task.postpone"), headingLevel: "h2", submitLabel: t("task.postponeSubmit"),
          fields: [field(t("task.newDeadline"), newDeadline), field(t("task.explanation"), why)],
          onsubmit: () => post("postpone", { new_deadline: newDeadline.value, explanation: why.value.trim() }) }),
        form({ id: "not-executable-form", title: t("task.notExecutable"), headingLevel: "h2", submitLabel: t("task.notExecutableSubmit"),
          fields: [field(t("task.explanation"), whyNot)], confirm: () => t("task.notExecutableConfirm"),
          onsubmit: () => post("not-executable", { explanation: whyNot.value.trim() }) }));
    }

    const describe = (e) => [e.text, e.percent !== undefined && e.percent !== null ? `${e.percent}%` : null, e.special_report,
      e.note, e.feedback, e.new_deadline ? `${e.old_deadline} → ${e.new_deadline}` : null, e.explanation].filter(Boolean).join(" · ");
    root.append(h("section", { "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, t("task.history")),
      dataTable({
        caption: t("task.history"), filename: `task-${id}-history.csv`, rows: task.entries || [],
        columns: [
          { key: "at", label: t("common.time"), value: (e) => formatTime(e.at) },
          { key: "kind", label: t("col.kind"), value: (e) => t(`task.entry.${e.kind}`) },
          { key: "author", label: t("col.person"), value: (e) => who(e.author_person_id) },
          { key: "content", label: t("common.note"), value: describe },
        ],
      })));
  },
};
