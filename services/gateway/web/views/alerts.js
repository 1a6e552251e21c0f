// Compliance alerts (C7) — open ones by default — with acknowledgement by the secretary or a
// discipline inspector, and the M2/M11 findings of a chosen month. A discipline inspector opens
// a case from an alert: on the decision it names, or on the member whose report is overdue (C6).
import { api, nameMap, session } from "../api.js";
import { formatTime, getLang, label, t, withNames } from "../i18n.js";
import { act, dataTable, field, h, heading, link, liveStatus } from "../ui.js";

/** An alert's (or finding's) text in the reader's language, people by name; an alert raised before
 * it had a Chinese text shows the English one. */
export function alertText(a) {
  return withNames(getLang() === "en" ? a.message : a.message_zh || a.message);
}

export const ALERT_ROLES = ["secretary", "discipline", "discipline_commission", "org_department"];
const ACK_ROLES = ["secretary", "discipline"];
const SUBJECT_LINK = { decision: "decision", meeting: "meeting", task: "task", implementation_task: "task" };

export default {
  route: "alerts",
  nav: { label: "nav.alerts", roles: ALERT_ROLES },
  async render(root, _params, { navigate }) {
    const all = new URLSearchParams(location.hash.split("?")[1] || "").get("all") === "1";
    const month = new Date().toISOString().slice(0, 7);
    const alerts = await api("/alerts", { query: { open_only: all ? "false" : "true" } });
    const items = alerts.items || [];
    // C6 alerts name a duty: its kind, person and year come from the duties (read by every alert reader)
    const [duties, names] = await Promise.all([
      items.some((a) => a.subject_type === "duty") ? api("/duties").catch(() => ({ items: [] })) : { items: [] },
      nameMap()]);
    const dutyById = new Map((duties.items || []).map((d) => [d.duty_id, d]));
    const ctx = { dutyById, names, navigate, canAck: session.hasRole(...ACK_ROLES) };
    const status = liveStatus("alerts-status");
    status.textContent = sessionStorage.getItem("pg.flash") || "";
    sessionStorage.removeItem("pg.flash");
    ctx.errors = h("div", { "aria-live": "assertive" });
    const openOnly = h("input", { type: "checkbox", id: "open-only", checked: !all });
    openOnly.addEventListener("change", () => navigate(openOnly.checked ? "alerts" : "alerts?all=1"));
    root.append(heading(t("alerts.title")), h("p", { class: "choice" }, openOnly, h("label", { for: "open-only" }, t("alerts.openOnly"))),
      status, ctx.errors);
    root.append(h("div", { id: "alert-list" }, dataTable({
      caption: t("alerts.title"), filename: "compliance-alerts.csv", rows: items, empty: t("alerts.none"),
      columns: [
        { key: "raised", label: t("alerts.raised"), value: (a) => formatTime(a.raised_at) },
        { key: "rule", label: t("alerts.rule"), value: (a) => `${a.rule} ${ruleName(a.rule)}`,
          cell: (a) => h("span", { class: "alert-rule", dataset: { rule: a.rule } }, `${a.rule} · ${ruleName(a.rule)}`) },
        { key: "subject", label: t("alerts.subject"), value: (a) => subjectText(a, ctx), cell: (a) => subjectCell(a, ctx) },
        { key: "message", label: t("alerts.message"), value: (a) => alertText(a) },
        { key: "status", label: t("col.status"), value: (a) => (a.acknowledged ? `${t("alerts.acked")}: ${a.note || ""}` : t("alerts.open")),
          cell: (a) => (a.acknowledged
            ? h("span", { class: "alert-state", dataset: { acknowledged: "true" } }, `${t("alerts.acked")} · ${a.note || ""}`)
            : actions(a, ctx)) },
      ],
    })));
    root.append(complianceSection(month));
  },
};

function ruleName(rule) {
  const name = t(`rule.${rule}`);
  return name === `rule.${rule}` ? "" : name;
}

function subjectId(a) {
  // a C5 alert names its task and the deadline it missed: "<task id>@<date>"
  return a.subject_type === "implementation_task" ? a.subject_id.split("@")[0] : a.subject_id;
}

function dutyText(d, ctx) {
  const who = d.person_id ? ` · ${ctx.names.get(d.person_id) || d.person_id}` : "";
  return `${label("duty", d.kind)}${who} · ${d.year} · ${t("alerts.dueDate", { date: d.due_date })}`;
}

function subjectText(a, ctx) {
  const duty = a.subject_type === "duty" && ctx.dutyById.get(a.subject_id);
  if (duty) return dutyText(duty, ctx);
  return `${label("subject", a.subject_type)} ${subjectId(a)}`;
}

function subjectCell(a, ctx) {
  const route = SUBJECT_LINK[a.subject_type];
  if (route) return link(`#/${route}/${subjectId(a)}`, label("subject", a.subject_type), { class: "subject-link" });
  const duty = a.subject_type === "duty" && ctx.dutyById.get(a.subject_id);
  if (duty) return h("span", { class: "alert-duty" }, dutyText(duty, ctx));
  if (a.subject_type === "month" || a.subject_type === "year") return `${label("subject", a.subject_type)} ${a.subject_id}`;
  return subjectText(a, ctx);
}

function actions(a, { canAck, errors, navigate, dutyById, names }) {
  const box = h("div", { class: "row-form" });
  const about = `${a.rule} ${alertText(a)}`;
  if (canAck) {
    const note = h("input", { name: "note", required: true, maxlength: 5000, placeholder: t("alerts.ackNote"),
      "aria-label": `${t("alerts.ackNote")}: ${about}` });
    const b = h("button", { type: "button", class: "secondary ack", "aria-label": `${t("alerts.ack")}: ${about}` }, t("alerts.ack"));
    const ack = () => act(b, errors, async () => {
      await api(`/alerts/${a.alert_id}/acknowledgement`, { method: "POST", body: { note: note.value.trim() } });
      sessionStorage.setItem("pg.flash", `${t("alerts.acked")}: ${a.rule}`);
      navigate("alerts");
    });
    b.addEventListener("click", ack);
    note.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); ack(); } });
    box.append(note, b);
  }
  if (session.hasRole("discipline")) {
    if (a.subject_type === "decision") {
      box.append(link(`#/cases?decision=${a.subject_id}`, t("alerts.openCase"), { class: "open-case-link" }));
    }
    const duty = a.subject_type === "duty" && dutyById.get(a.subject_id);
    if (duty && duty.person_id) {     // C6 §五(一): a personal report overdue — a case on that member (C4)
      const who = names.get(duty.person_id) || duty.person_id;
      box.append(link(`#/cases?person=${duty.person_id}`, t("alerts.caseOn", { name: who }), { class: "open-case-link" }));
    }
  }
  return box;
}

function complianceSection(month) {
  const comp = h("section", { "aria-labelledby": "compliance-title", id: "compliance" },
    h("h2", { id: "compliance-title" }, t("alerts.complianceOf")));
  const picker = h("input", { type: "month", name: "month", id: "compliance-month", value: month, max: month, required: true });
  const body = h("div", { id: "compliance-findings", "aria-live": "polite" });
  const load = async () => {
    const chosen = /^\d{4}-\d{2}$/.test(picker.value) ? picker.value : month;
    let findings;
    try {
      findings = await api("/compliance", { query: { month: chosen } });
    } catch {
      body.replaceChildren(h("p", { class: "muted" }, t("common.noRole")));
      return;
    }
    body.dataset.month = chosen;
    body.replaceChildren(dataTable({
      caption: `${t("alerts.complianceOf")} · ${chosen}`, filename: `compliance-${chosen}.csv`, rows: findings.items || [],
      empty: t("alerts.complianceNone"),
      columns: [
        { key: "rule", label: t("alerts.rule"), value: (f) => f.rule,
          cell: (f) => h("span", { class: "finding-rule", dataset: { rule: f.rule } }, `${f.rule} · ${ruleName(f.rule)}`) },
        { key: "period", label: t("alerts.period"), value: (f) => f.period },
        { key: "severity", label: t("alerts.severity"), value: (f) => label("severity", f.severity),
          cell: (f) => h("span", { class: "finding-severity", dataset: { severity: f.severity } }, label("severity", f.severity)) },
        { key: "message", label: t("alerts.message"), value: (f) => alertText(f) },
      ],
    }));
  };
  picker.addEventListener("change", load);
  comp.append(field(t("alerts.complianceMonth"), picker), body);
  load();
  return comp;
}
