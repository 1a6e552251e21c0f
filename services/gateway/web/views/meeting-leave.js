// Leave and objections of one meeting: a group member asks leave with a written opinion on
// each topic (M9) or raises an objection 24 h ahead (M5); the meeting's chair approves or
// refuses each leave request (M9) and answers each objection once, with a reply (M5).
import { api, nameMap, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, dataTable, field, form, h, heading, link, liveStatus, select } from "../ui.js";

const GROUP = ["secretary", "deputy_secretary", "member"];
const BEFORE = ["draft", "noticed"];

export default {
  route: "meeting/:id/leave",
  async render(root, { id }, { navigate }) {
    const [meeting, leave, names, objections] = await Promise.all([
      api(`/meetings/${encodeURIComponent(id)}`), api(`/meetings/${encodeURIComponent(id)}/leave`), nameMap(),
      api(`/meetings/${encodeURIComponent(id)}/objections`)]);
    const tz = meeting.timezone || "Asia/Shanghai";
    const me = session.actor?.person_id;
    const chair = me && me === meeting.chair_person_id;
    const status = liveStatus("leave-status");
    const refresh = (message) => { sessionStorage.setItem("pg.flash", message); navigate(`meeting/${id}/leave`); };
    status.textContent = sessionStorage.getItem("pg.flash") || "";
    sessionStorage.removeItem("pg.flash");
    root.append(heading(`${t("leave.title")} · ${meeting.title}`),
      h("p", { class: "actions" }, link(`#/meeting/${id}`, t("meeting.title")), link(`#/meeting/${id}/minutes`, t("minutes.title"))),
      status);

    if (session.hasRole(...GROUP) && BEFORE.includes(meeting.status)) {
      const mine = (leave.leave || []).find((l) => l.person_id === me && ["requested", "approved"].includes(l.status));
      if (!mine) root.append(leaveForm(meeting, refresh));
      root.append(objectionForm(meeting, tz, status));
    } else if (session.hasRole(...GROUP)) {
      root.append(h("p", { class: "notice" }, t("leave.closed")));
    }

    const section = h("section", { "aria-labelledby": "leave-list-title", id: "leave-list" }, h("h2", { id: "leave-list-title" }, t("leave.list")));
    const errors = h("div", { "aria-live": "assertive" });
    const topics = new Map(meeting.topics.map((tp) => [tp.topic_id, tp.title]));
    section.append(errors, dataTable({
      caption: t("leave.list"), filename: `leave-${id}.csv`, rows: leave.leave || [],
      columns: [
        { key: "person", label: t("col.person"), value: (l) => names.get(l.person_id) || l.person_id },
        { key: "reason", label: t("leave.reason"), value: (l) => l.reason },
        { key: "opinions", label: t("leave.opinions"),
          value: (l) => Object.entries(l.opinions || {}).map(([tid, text]) => `${topics.get(tid) || tid}: ${text}`).join("；") },
        { key: "requested", label: t("leave.requestedAt"), value: (l) => formatTime(l.requested_at, tz) },
        { key: "status", label: t("col.status"), value: (l) => t(`leave.status.${l.status}`),
          cell: (l) => h("span", { class: "leave-state", dataset: { status: l.status } }, t(`leave.status.${l.status}`)) },
        { key: "decision", label: t("leave.decision"),
          value: (l) => (l.decided_by ? `${names.get(l.decided_by) || l.decided_by} ${formatTime(l.decided_at, tz)}` : ""),
          cell: (l) => (chair && l.status === "requested" && BEFORE.includes(meeting.status)
            ? decideButtons(l, names.get(l.person_id) || l.person_id, errors, refresh)
            : (l.decided_by ? `${names.get(l.decided_by) || l.decided_by} · ${formatTime(l.decided_at, tz)}` : "—")) },
      ],
    }));
    root.append(section);
    root.append(objectionsSection(meeting, objections.objections || [], names, chair, tz, refresh));
  },
};

// M5: every objection with the chair's answer; the chair answers an unanswered one while the
// meeting is not over (the server refuses anyone else, and a second answer)
function objectionsSection(meeting, rows, names, chair, tz, refresh) {
  const topics = new Map(meeting.topics.map((tp) => [tp.topic_id, tp.title]));
  const open = ["draft", "noticed", "opened"].includes(meeting.status);
  const section = h("section", { "aria-labelledby": "objections-title", id: "objections" },
    h("h2", { id: "objections-title" }, t("objection.list")));
  section.append(dataTable({
    caption: t("objection.list"), filename: `objections-${meeting.meeting_id}.csv`, rows,
    columns: [
      { key: "by", label: t("objection.by"), value: (o) => names.get(o.person_id) || o.person_id },
      { key: "topic", label: t("objection.topic"), value: (o) => (o.topic_id ? topics.get(o.topic_id) || "—" : t("objection.wholeMeeting")) },
      { key: "text", label: t("objection.text"), value: (o) => o.text },
      { key: "raised", label: t("objection.raisedAt"), value: (o) => formatTime(o.raised_at, tz) },
      { key: "answer", label: t("objection.answer"),
        value: (o) => (o.disposition ? `${label("objection.disp", o.disposition)}：${o.reply}` : t("objection.unanswered")),
        cell: (o) => (o.disposition
          ? h("span", { class: "objection-answer", dataset: { disposition: o.disposition } },
            `${label("objection.disp", o.disposition)}：${o.reply} · ${names.get(o.disposed_by) || o.disposed_by} ${formatTime(o.disposed_at, tz)}`)
          : (chair && open ? answerForm(o, names.get(o.person_id) || o.person_id, refresh) : t("objection.unanswered"))) },
    ],
  }));
  return section;
}

function answerForm(o, who, refresh) {
  const disposition = select("disposition", [["accepted", t("objection.disp.accepted")], ["not_accepted", t("objection.disp.not_accepted")]], "accepted");
  const reply = h("textarea", { name: "reply", required: true, maxlength: 20000, rows: 2 });
  return form({
    id: `answer-${o.objection_id}`, title: `${t("objection.answerSubmit")}：${who}`, headingLevel: "h3",
    submitLabel: t("objection.answerSubmit"),
    fields: [field(t("objection.disposition"), disposition), field(t("objection.reply"), reply)],
    onsubmit: async () => {
      await api(`/objections/${o.objection_id}/disposition`, { method: "POST",
        body: { disposition: disposition.value, reply: reply.value.trim() } });
      refresh(t("objection.answered"));
    },
  });
}

function leaveForm(meeting, refresh) {
  const reason = h("textarea", { name: "reason", required: true, maxlength: 5000, rows: 2 });
  const opinions = meeting.topics.map((tp) => ({ tp, box: h("textarea", { name: `opinion-${tp.topic_id}`, maxlength: 5000, rows: 3 }) }));
  return form({
    id: "leave-form", title: t("leave.ask"), headingLevel: "h2", submitLabel: t("leave.submit"),
    fields: [field(t("leave.reason"), reason), h("p", { class: "hint" }, t("leave.opinionHint")),
      opinions.map(({ tp, box }) => field(t("leave.opinion", { topic: tp.title }), box))],
    onsubmit: async () => {
      const body = { reason: reason.value.trim(),
        opinions: Object.fromEntries(opinions.map(({ tp, box }) => [tp.topic_id, box.value.trim()]).filter(([, v]) => v)) };
      await api(`/meetings/${meeting.meeting_id}/leave`, { method: "POST", body });
      refresh(t("leave.sent"));
    },
  });
}

function objectionForm(meeting, tz, status) {
  const topic = select("topic_id", [["", t("objection.wholeMeeting")], ...meeting.topics.map((tp) => [tp.topic_id, tp.title])], "");
  const text = h("textarea", { name: "objection", required: true, maxlength: 20000, rows: 3 });
  const f = form({
    id: "objection-form", title: t("objection.title"), headingLevel: "h2", submitLabel: t("objection.submit"),
    fields: [meeting.objection_deadline ? h("p", { class: "hint" }, t("objection.deadline", { when: formatTime(meeting.objection_deadline, tz) })) : null,
      field(t("objection.topic"), topic), field(t("objection.text"), text)],
    onsubmit: async () => {
      const row = await api(`/meetings/${meeting.meeting_id}/objections`, { method: "POST",
        body: { text: text.value.trim(), topic_id: topic.value || null } });
      text.value = "";
      status.textContent = t("objection.sent", { when: formatTime(row.raised_at, tz) });
    },
  });
  return f;
}

function decideButtons(l, who, errors, refresh) {
  const box = h("span", { class: "actions" });
  for (const approve of [true, false]) {
    const b = h("button", { type: "button", class: approve ? "approve-leave" : "secondary refuse-leave",
      "aria-label": `${t(approve ? "leave.approve" : "leave.refuse")}: ${who}` }, t(approve ? "leave.approve" : "leave.refuse"));
    b.addEventListener("click", () => act(b, errors, async () => {
      await api(`/leave/${l.leave_id}/decision`, { method: "POST", body: { approve } });
      refresh(t("leave.decided"));
    }));
    box.append(b);
  }
  return box;
}
