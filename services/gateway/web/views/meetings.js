// The meeting calendar for everyone in the organization who works with meetings: members
// find a meeting to ask leave for or object to (M5, M9), the confidential secretary the
// meeting to record minutes of (M10).
import { api, download } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, dataTable, h, heading, link } from "../ui.js";

export const MEETING_ROLES = ["secretary", "deputy_secretary", "member", "office", "hr", "confidential_secretary", "discipline"];
const DAY = 86400000;

export default {
  route: "meetings",
  nav: { label: "nav.meetings", roles: MEETING_ROLES },
  async render(root) {
    const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
    const listed = await api("/meetings", { query: { from: iso(Date.now() - 92 * DAY), to: iso(Date.now() + 92 * DAY) } });
    const rows = [...(listed.items || [])].sort((a, b) => b.scheduled_at.localeCompare(a.scheduled_at));
    // issue 19: the calendar for a calendar program (iCalendar, from 90 days ago to a year ahead)
    const ics = h("button", { type: "button", class: "secondary", id: "calendar-download" }, t("meetingList.ical"));
    const icsErrors = h("div", { "aria-live": "assertive" });
    ics.addEventListener("click", () => act(ics, icsErrors, () => download("/calendar.ics", "meetings.ics")));
    root.append(heading(t("meetingList.title")), h("p", {}, t("meetingList.intro")),
      h("p", { class: "actions" }, ics, h("span", { class: "hint" }, t("meetingList.icalHint"))), icsErrors,
      dataTable({
        caption: t("meetingList.title"), filename: "meetings.csv", rows,
        columns: [
          { key: "when", label: t("meeting.when"), value: (m) => formatTime(m.scheduled_at, m.timezone) },
          { key: "title", label: t("col.title"), value: (m) => m.title,
            cell: (m) => link(`#/meeting/${m.meeting_id}`, m.title, { class: "meeting-link" }) },
          { key: "kind", label: t("col.kind"), value: (m) => label("kind", m.kind) },
          { key: "status", label: t("col.status"), value: (m) => label("status", m.status) },
          { key: "pages", label: t("meeting.links"), value: (m) => m.meeting_id, cell: (m) => h("span", { class: "actions" },
            link(`#/meeting/${m.meeting_id}/leave`, t("meetingList.leave"),
              { class: "leave-link", "aria-label": `${t("meetingList.leave")}: ${m.title}` }),
            link(`#/meeting/${m.meeting_id}/minutes`, t("meetingList.minutes"),
              { class: "minutes-link", "aria-label": `${t("meetingList.minutes")}: ${m.title}` })) },
        ],
      }));
  },
};
