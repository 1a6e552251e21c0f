// The caller's in-app inbox (N1): unread count, mark read, links to what a notification is about.
import { api } from "../api.js";
import { formatTime, label, readableTimes, t, withNames } from "../i18n.js";
import { orgZone } from "../zone.js";
import { act, dataTable, h, heading, link } from "../ui.js";

export default {
  route: "inbox",
  nav: { label: "nav.inbox" },
  async render(root, _params, { navigate }) {
    // keyset paging: the URL keeps the cursor trail of the pages walked ("earlier" goes on)
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const trail = (params.get("trail") || "").split(".").filter(Boolean);
    const inbox = await api("/notifications", { query: { limit: 100, cursor: trail.at(-1) } });
    const errors = h("div", { "aria-live": "assertive" });
    root.append(heading(t("inbox.title")),
      h("p", { class: "actions" }, h("span", { class: "badge", id: "unread-count" }, inbox.unread), t("inbox.unread", { n: inbox.unread }),
        h("button", { type: "button", class: "secondary", onclick: () => navigate("inbox") }, t("common.refresh"))),
      errors);
    const table = dataTable({
      caption: t("inbox.title"), filename: "notifications.csv", rows: inbox.items, empty: t("inbox.empty"),
      columns: [
        { key: "created", label: t("col.created"), value: (n) => formatTime(n.created_at) },
        { key: "kind", label: t("col.kind"), value: (n) => label("notif", n.kind) },
        { key: "title", label: t("col.title"), value: (n) => n.title,
          cell: (n) => h("div", {}, h("strong", {}, n.title), h("p", { class: "hint", style: "white-space: pre-line" }, readableTimes(withNames(n.body), orgZone()))) },
        { key: "status", label: t("col.status"), value: (n) => (n.read_at ? t("inbox.read") : "●"),
          cell: (n) => actions(n, errors, navigate) },
      ],
    });
    table.querySelectorAll("tbody tr").forEach((tr, i) => {
      const n = inbox.items[i];
      if (n && !n.read_at) tr.classList.add("unread");
      if (n) tr.dataset.kind = n.kind;
    });
    root.append(table);
    const pager = h("p", { class: "actions" });
    if (trail.length) {
      pager.append(h("button", { type: "button", class: "secondary", id: "inbox-newer", onclick: () => navigate(
        trail.length > 1 ? `inbox?trail=${trail.slice(0, -1).join(".")}` : "inbox") }, t("common.prev")));
    }
    if (inbox.next_cursor) {
      pager.append(h("button", { type: "button", class: "secondary", id: "inbox-earlier", onclick: () => navigate(
        `inbox?trail=${[...trail, inbox.next_cursor].join(".")}`) }, t("common.earlier")));
    }
    root.append(pager);
  },
};

const ACKNOWLEDGEABLE = ["meeting_notice", "objection_received"];

function actions(n, errors, navigate) {
  const box = h("div", { class: "actions" });
  const target = { ballot_opened: ["ballot", "inbox.goBallot"], decision_distributed: ["decision", "inbox.goDecision"],
    meeting_notice: ["meeting", "inbox.goMeeting"], objection_reminder: ["meeting", "inbox.goMeeting"],
    objection_received: ["meeting", "inbox.goMeeting"], objection_answered: ["meeting", "inbox.goMeeting"],
    implementation_postponed: ["task", "inbox.goTask"],
    implementation_not_executable: ["task", "inbox.goTask"], implementation_due_soon: ["task", "inbox.goTask"],
    implementation_overdue: ["task", "inbox.goTask"] }[n.kind];
  // C7: an alert opens the alerts page of the organization
  if (n.kind === "compliance_alert") box.append(link("#/alerts", t("nav.alerts"), { class: "go-alerts" }));
  if (target && n.ref_id) box.append(link(`#/${target[0]}/${n.ref_id}`, t(target[1]), { class: `go-${target[0]}` }));
  // M5: receipt of a notice, or of an objection by the chair, is acknowledged — the proof it arrived
  if (ACKNOWLEDGEABLE.includes(n.kind)) {
    if (n.acknowledged_at) {
      box.append(h("span", { class: "acknowledged" }, `${t("inbox.acknowledged")} ${formatTime(n.acknowledged_at)}`));
    } else {
      const ack = h("button", { type: "button", class: "acknowledge", "aria-label": `${t("inbox.acknowledge")}: ${n.title}` },
        t("inbox.acknowledge"));
      ack.addEventListener("click", () => act(ack, errors, async () => {
        await api(`/notifications/${n.notification_id}/acknowledge`, { method: "POST" });
        navigate("inbox");
      }));
      box.append(ack);
    }
  }
  if (n.read_at) box.append(h("span", {}, t("inbox.read")));
  else {
    const b = h("button", { type: "button", class: "secondary mark-read", "aria-label": `${t("inbox.markRead")}: ${n.title}` }, t("inbox.markRead"));
    b.addEventListener("click", () => act(b, errors, async () => {
      await api(`/notifications/${n.notification_id}/read`, { method: "POST" });
      navigate("inbox");
    }));
    box.append(b);
  }
  return box;
}
