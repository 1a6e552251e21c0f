// Provisional handling (M6): a group member records a matter handled provisionally when it could
// not wait for a meeting; the secretary approves it with a button (never by typing an id), and its
// report then goes on the next meeting's agenda. Everyone of the organization reads the list.
import { api, nameMap, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, confirmAction, dataTable, field, form, h, heading, link, select } from "../ui.js";

const GROUP = ["secretary", "deputy_secretary", "member"];
const STATUSES = ["awaiting_approval", "approved"];

export default {
  route: "provisional",
  nav: { label: "nav.provisional", roles: [...GROUP, "office", "discipline"] },
  async render(root, _params, { navigate }) {
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
    const org = session.actor.org_id;
    const [list, names, organization] = await Promise.all([
      api("/provisional-handlings", { query: { status: status || undefined } }), nameMap(),
      api(`/organizations/${encodeURIComponent(org)}`).catch(() => null)]);
    const tz = organization?.timezone;
    const refresh = () => navigate(status ? `provisional?status=${status}` : "provisional");
    root.append(heading(t("provisional.title")), h("p", {}, t("provisional.intro")));

    const filter = select("status", [["", t("common.all")], ...STATUSES.map((s) => [s, label("hstatus", s)])], status);
    const filterForm = h("form", { class: "row-form", id: "provisional-filter" }, field(t("provisional.filter"), filter),
      h("button", { type: "submit", class: "secondary" }, t("tasks.show")));
    filterForm.addEventListener("submit", (e) => { e.preventDefault(); navigate(filter.value ? `provisional?status=${filter.value}` : "provisional"); });
    root.append(filterForm);

    const errors = h("div", { "aria-live": "assertive" });
    const secretary = session.hasRole("secretary");
    const approve = (x) => {
      const button = h("button", { type: "button", class: "approve-handling", dataset: { title: x.title } }, t("provisional.approve"));
      button.addEventListener("click", async () => {
        if (!await confirmAction(t("provisional.approveConfirm", { title: x.title }), t("provisional.approve"))) return;
        act(button, errors, async () => {
          await api(`/provisional-handlings/${encodeURIComponent(x.handling_id)}/approval`, { method: "POST" });
          refresh();
        });
      });
      return button;
    };
    root.append(dataTable({
      caption: t("provisional.list"), filename: "provisional-handlings.csv", rows: [...(list.items || [])].reverse(),
      columns: [
        { key: "recorded", label: t("provisional.recorded"), value: (x) => formatTime(x.recorded_at, tz) },
        { key: "title", label: t("col.title") },
        { key: "description", label: t("provisional.description") },
        { key: "by", label: t("provisional.by"), value: (x) => names.get(x.handled_by) || "—" },
        { key: "status", label: t("col.status"), value: (x) => label("hstatus", x.status),
          cell: (x) => h("span", { class: "handling-status", dataset: { status: x.status } }, label("hstatus", x.status)) },
        { key: "approved", label: t("provisional.approvedBy"), value: (x) => (x.approved_by
          ? t("provisional.approvedAt", { name: names.get(x.approved_by) || "—", when: formatTime(x.approved_at, tz) }) : "") },
        { key: "report", label: t("provisional.report"), value: (x) => (x.report_meeting_id ? t("provisional.onAgenda") : ""),
          cell: (x) => (x.report_meeting_id ? link(`#/meeting/${x.report_meeting_id}`, t("provisional.onAgenda"))
            : (x.report_topic_id ? t("provisional.awaitingMeeting") : "—")) },
        ...(secretary ? [{ key: "actions", label: t("common.actions"), value: () => "",
          cell: (x) => (x.status === "awaiting_approval" ? approve(x) : "—") }] : []),
      ],
      empty: t("provisional.none"),
    }), errors);

    if (session.hasRole(...GROUP)) {
      const title = h("input", { name: "title", required: true, maxlength: 300 });
      const description = h("textarea", { name: "description", required: true, rows: 4, maxlength: 20000 });
      root.append(form({
        id: "provisional-form", title: t("provisional.record"), headingLevel: "h2", submitLabel: t("provisional.recordSubmit"),
        fields: [h("p", { class: "hint" }, t(secretary ? "provisional.recordHintSecretary" : "provisional.recordHint")),
          field(t("col.title"), title), field(t("provisional.description"), description)],
        onsubmit: async () => {
          await api("/provisional-handlings", { method: "POST", body: { title: title.value.trim(), description: description.value.trim() } });
          refresh();
        },
      }));
    }
  },
};
