// Compliance alerts (C7) — open ones by default — with acknowledgement by the secretary or a
// discipline inspector, and this month's M2/M11 findings. A discipline inspector opens a
// case from an alert on a decision.
import { api, session } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { act, dataTable, h, heading, link, liveStatus } from "../ui.js";

export const ALERT_ROLES = ["secretary", "discipline", "discipline_commission", "org_department"];
const ACK_ROLES = ["secretary", "discipline"];
const SUBJECT_LINK = { decision: "decision", meeting: "meeting", task: "task" };

export default {
  route: "alerts",
  nav: { label: "nav.alerts", roles: ALERT_ROLES },
  async render(root, _params, { navigate }) {
    const all = new URLSearchParams(location.hash.split("?")[1] || "").get("all") === "1";
    const month = new Date().toISOString().slice(0, 7);
    const [alerts, findings] = await Promise.all([
      api("/alerts", { query: { open_only: all ? "false" : "true" } }),
      api("/compliance", { query: { month } }).catch((err) => err)]);
    const status = liveStatus("alerts-status");
    status.textContent = sessionStorage.getItem("pg.flash") || "";
    sessionStorage.removeItem("pg.flash");
    const errors = h("div", { "aria-live": "assertive" });
    const openOnly = h("input", { type: "checkbox", id: "open-only", checked: !all });
    openOnly.addEventListener("change", () => navigate(openOnly.checked ? "alerts" : "alerts?all=1"));
    root.append(heading(t("alerts.title")), h("p", { class: "choice" }, openOnly, h("label", { for: "open-only" }, t("alerts.openOnly"))),
      status, errors);
    const canAck = session.hasRole(...ACK_ROLES);
    root.append(dataTable({
      caption: t("alerts.title"), filename: "compliance-alerts.csv", rows: alerts.items || [],
      columns: [
        { key: "raised", label: t("alerts.raised"), value: (a) => formatTime(a.raised_at) },
        { key: "rule", label: t("alerts.rule"), value: (a) => a.rule },
        { key: "subject", label: t("alerts.subject"), value: (a) => `${t(`subject.${a.subject_type}`)} ${a.subject_id}`,
          cell: (a) => (SUBJECT_LINK[a.subject_type]
            ? link(`#/${SUBJECT_LINK[a.subject_type]}/${a.subject_id}`, t(`subject.${a.subject_type}`))
            : `${t(`subject.${a.subject_type}`)} ${a.subject_id}`) },
        { key: "message", label: t("alerts.message"), value: (a) => a.message },
        { key: "status", label: t("col.status"), value: (a) => (a.acknowledged ? `${t("alerts.acked")}: ${a.note || ""}` : t("alerts.open")),
          cell: (a) => (a.acknowledged ? `${t("alerts.acked")} · ${a.note || ""}` : actions(a, canAck, errors, navigate)) },
      ],
    }));
    const comp = h("section", { "aria-labelledby": "compliance-title" }, h("h2", { id: "compliance-title" }, t("alerts.compliance")));
    if (findings instanceof Error) comp.append(h("p", { class: "muted" }, t("common.noRole")));
    else comp.append(dataTable({
      caption: `${t("alerts.compliance")} · ${month}`, filename: `compliance-${month}.csv`, rows: findings.items || [],
      empty: t("alerts.complianceOk"),
      columns: [
        { key: "rule", label: t("alerts.rule"), value: (f) => f.rule },
        { key: "period", label: t("alerts.period"), value: (f) => f.period },
        { key: "message", label: t("alerts.message"), value: (f) => f.message },
      ],
    }));
    root.append(comp);
  },
};

function actions(a, canAck, errors, navigate) {
  const box = h("div", { class: "row-form" });
  if (canAck) {
    const note = h("input", { name: "note", required: true, maxlength: 5000, "aria-label": `${t("alerts.ackNote")}: ${a.rule} ${a.message}` });
    const b = h("button", { type: "button", class: "secondary ack" }, t("alerts.ack"));
    b.addEventListener("click", () => act(b, errors, async () => {
      await api(`/alerts/${a.alert_id}/acknowledgement`, { method: "POST", body: { note: note.value.trim() } });
      sessionStorage.setItem("pg.flash", t("alerts.acked"));
      navigate("alerts");
    }));
    box.append(note, b);
  }
  if (session.hasRole("discipline") && a.subject_type === "decision") {
    box.append(link(`#/cases?decision=${a.subject_id}`, t("alerts.openCase"), { class: "open-case-link" }));
  }
  return box;
}
