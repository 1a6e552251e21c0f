// The minutes of a meeting (M10): the confidential secretary records them (a new version
// each time) once the meeting is held; the chair approves them after it closes, and then
// they are final. The written opinions of members on leave are attached (M9).
import { api, nameMap, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, confirmAction, dataTable, field, form, h, heading, link, liveStatus } from "../ui.js";

const HELD = ["opened", "closed"];

export default {
  route: "meeting/:id/minutes",
  async render(root, { id }, { navigate }) {
    const [meeting, names] = await Promise.all([api(`/meetings/${encodeURIComponent(id)}`), nameMap()]);
    let minutes = null;
    try {
      minutes = await api(`/meetings/${encodeURIComponent(id)}/minutes`);
    } catch (err) {
      if (err.status !== 404) throw err;
    }
    const tz = meeting.timezone || "Asia/Shanghai";
    const who = (pid) => names.get(pid) || pid;
    const status = liveStatus("minutes-status");
    status.textContent = sessionStorage.getItem("pg.flash") || "";
    sessionStorage.removeItem("pg.flash");
    const refresh = (message) => { sessionStorage.setItem("pg.flash", message); navigate(`meeting/${id}/minutes`); };

    root.append(heading(`${t("minutes.title")} · ${meeting.title}`),
      h("p", { class: "actions" }, link(`#/meeting/${id}`, t("meeting.title")), link(`#/meeting/${id}/leave`, t("leave.title"))),
      h("p", {}, `${t("meeting.status")}: `, h("span", { id: "meeting-status", dataset: { status: meeting.status } }, label("status", meeting.status))),
      status);

    const current = h("section", { "aria-labelledby": "minutes-current-title", id: "minutes" },
      h("h2", { id: "minutes-current-title" }, t("minutes.title")));
    if (minutes) {
      current.dataset.version = String(minutes.version);
      current.append(
        h("p", { id: "minutes-version" }, t("minutes.version", { version: minutes.version, who: who(minutes.recorded_by), when: formatTime(minutes.recorded_at, tz) })),
        h("p", { id: "minutes-approval", dataset: { approved: String(Boolean(minutes.approved_at)) } }, minutes.approved_at
          ? t("minutes.approved", { who: who(minutes.approved_by), when: formatTime(minutes.approved_at, tz) }) : t("minutes.notApproved")),
        h("div", { class: "minutes-text prewrap", id: "minutes-text" }, minutes.text));
    } else {
      current.append(h("p", { id: "minutes-none" }, HELD.includes(meeting.status) ? t("minutes.none") : t("minutes.notYet")));
    }
    root.append(current);

    const approved = Boolean(minutes?.approved_at) || meeting.status === "minutes_approved";
    if (session.hasRole("confidential_secretary") && HELD.includes(meeting.status) && !approved) {
      const text = h("textarea", { name: "minutes", required: true, maxlength: 500000, rows: 12 });
      text.value = minutes?.text || "";
      root.append(form({
        id: "minutes-form", title: t("minutes.record"), headingLevel: "h2", submitLabel: t("minutes.record"),
        fields: [field(t("minutes.text"), text)],
        onsubmit: async () => {
          const saved = await api(`/meetings/${id}/minutes`, { method: "POST", body: { text: text.value } });
          refresh(t("minutes.recorded", { version: saved.version }));
        },
      }));
    }
    if (minutes && !approved && meeting.status === "closed" && session.actor?.person_id === meeting.chair_person_id) {
      const button = h("button", { type: "button", id: "approve-minutes" }, t("minutes.approve"));
      const errors = h("div", { "aria-live": "assertive" });
      // M10: approved minutes are final, so the chair confirms first
      button.addEventListener("click", async () => {
        if (!await confirmAction(t("minutes.approveConfirm", { version: minutes.version }), t("minutes.approve"))) return;
        act(button, errors, async () => {
          await api(`/meetings/${id}/minutes/approval`, { method: "POST" });
          refresh(t("minutes.approve"));
        });
      });
      root.append(h("section", {}, button, errors));
    }

    const topics = new Map(meeting.topics.map((tp) => [tp.topic_id, tp.title]));
    root.append(h("section", { "aria-labelledby": "leave-opinions-title" }, h("h2", { id: "leave-opinions-title" }, t("minutes.leaveOpinions")),
      dataTable({
        caption: t("minutes.leaveOpinions"), filename: `minutes-${id}-leave-opinions.csv`, rows: minutes?.leave_opinions || [],
        columns: [
          { key: "person", label: t("col.person"), value: (o) => who(o.person_id) },
          { key: "opinions", label: t("leave.opinions"),
            value: (o) => Object.entries(o.opinions || {}).map(([tid, text]) => `${topics.get(tid) || tid}: ${text}`).join("；") },
        ],
      })));
  },
};
