// One meeting: agenda, notice, opening with attendance and a live quorum indicator, ballots.
import { api, recall, remember, roster, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, dataTable, field, h, heading, link, select } from "../ui.js";
import { rememberMeeting } from "./home.js";

const CHAIRS = ["secretary", "deputy_secretary"];
const CATEGORIES = ["work_plan", "organization", "major_decision", "personnel", "ideology", "party_building",
  "clean_governance", "other", "report", "statement"];
const METHODS = ["named", "show_of_hands", "oral", "secret"];

export default {
  route: "meeting/:id",
  async render(root, { id }, { navigate }) {
    const refresh = () => navigate(`meeting/${id}`);
    const [meeting, members] = await Promise.all([
      api(`/meetings/${encodeURIComponent(id)}`),
      roster().catch(() => ({ n: null, quorum: null, members: [] })),
    ]);
    rememberMeeting(meeting);
    const tz = meeting.timezone || "Asia/Shanghai";
    const chair = session.hasRole(...CHAIRS);
    const names = new Map(members.members.map((m) => [m.person_id, m.name]));

    root.append(heading(`${t("meeting.title")} · ${meeting.title}`),
      h("dl", { class: "facts card" },
        h("dt", {}, t("meeting.kind")), h("dd", {}, label("kind", meeting.kind)),
        h("dt", {}, t("meeting.status")), h("dd", { id: "meeting-status", dataset: { status: meeting.status } }, label("status", meeting.status)),
        h("dt", {}, t("meeting.when")), h("dd", {}, `${formatTime(meeting.scheduled_at, tz)} (${tz})`),
        h("dt", {}, t("common.id")), h("dd", { class: "mono", id: "meeting-id" }, meeting.meeting_id)),
      h("p", { class: "actions" }, link(`#/meeting/${id}/leave`, t("leave.title"), { id: "leave-page-link" }),
        link(`#/meeting/${id}/minutes`, t("minutes.title"), { id: "minutes-page-link" })));

    root.append(topicsSection(meeting, chair, refresh));
    root.append(noticeSection(meeting, tz, refresh));
    root.append(attendanceSection(meeting, members, names, chair, tz, refresh));
    if (meeting.status === "opened" || recall(`ballots.${id}`).length) root.append(ballotsSection(meeting, chair, navigate));
  },
};

function topicsSection(meeting, chair, refresh) {
  const sec = h("section", { "aria-labelledby": "topics-title" }, h("h2", { id: "topics-title" }, t("meeting.topics")));
  sec.append(meeting.topics.length
    ? h("ol", { class: "topics" }, meeting.topics.map((tp) => h("li", {}, h("strong", {}, tp.title), " · ", label("cat", tp.category))))
    : h("p", {}, t("meeting.noTopics")));
  if (chair && ["draft", "noticed", "opened"].includes(meeting.status)) {
    const title = h("input", { name: "topic_title", required: true, maxlength: 200 });
    const category = select("category", CATEGORIES.map((c) => [c, label("cat", c)]), "work_plan");
    const submit = h("button", { type: "submit", class: "secondary" }, t("meeting.addTopicSubmit"));
    const errors = h("div", { "aria-live": "assertive" });
    const form = h("form", { id: "add-topic" }, h("h3", {}, t("meeting.addTopic")),
      field(t("meeting.topicTitle"), title), field(t("meeting.category"), category), submit, errors);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      act(submit, errors, async () => {
        await api(`/meetings/${meeting.meeting_id}/topics`, { method: "POST", body: { title: title.value.trim(), category: category.value } });
        refresh();
      });
    });
    sec.append(form);
  }
  return sec;
}

function noticeSection(meeting, tz, refresh) {
  const sec = h("section", { "aria-labelledby": "notice-title" }, h("h2", { id: "notice-title" }, t("timeline.notice")));
  if (meeting.noticed_at) {
    sec.append(h("p", { id: "noticed" }, t("meeting.noticed", { when: formatTime(meeting.noticed_at, tz) })));
  } else if (session.hasRole("secretary", "deputy_secretary", "office") && meeting.status === "draft") {
    const button = h("button", { type: "button", id: "notice-button" }, t("meeting.notice"));
    const errors = h("div", { "aria-live": "assertive" });
    button.addEventListener("click", () => act(button, errors, async () => {
      await api(`/meetings/${meeting.meeting_id}/notice`, { method: "POST" });
      refresh();
    }));
    sec.append(button, errors);
  } else {
    sec.append(h("p", {}, t("timeline.pending")));
  }
  return sec;
}

function attendanceSection(meeting, members, names, chair, tz, refresh) {
  const sec = h("section", { "aria-labelledby": "attendance-title" }, h("h2", { id: "attendance-title" }, t("meeting.attendance")));
  if (meeting.status === "opened" || meeting.status === "closed") {
    sec.append(h("p", {}, t("meeting.opened", { when: formatTime(meeting.opened_at, tz) })),
      h("p", { class: "quorum met", id: "quorum" },
        t("meeting.quorum", { present: meeting.attendance.filter((a) => a.status === "present").length, n: meeting.n, quorum: meeting.quorum })),
      dataTable({
        caption: t("meeting.attendance"), filename: `attendance-${meeting.meeting_id}.csv`, rows: meeting.attendance,
        columns: [
          { key: "person", label: t("col.person"), value: (a) => names.get(a.person_id) || a.person_id },
          { key: "status", label: t("col.presence"), value: (a) => label("presence", a.status) },
          { key: "opinions", label: t("col.written"), value: (a) => Object.values(a.written_opinions || {}).join("；") },
        ],
      }));
    return sec;
  }
  if (!chair || !["draft", "noticed"].includes(meeting.status)) { sec.append(h("p", {}, t("timeline.pending"))); return sec; }

  const quorum = h("p", { class: "quorum unmet", id: "quorum", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  const rows = members.members.map((m) => {
    const present = h("input", { type: "checkbox", name: "present", value: m.person_id });
    const leave = h("input", { type: "checkbox", name: "leave", value: m.person_id });
    const opinion = h("textarea", { name: `opinion-${m.person_id}`, rows: 2 });
    const opinionField = field(t("meeting.leaveOpinion", { name: m.name }), opinion);
    opinionField.classList.add("opinion");
    opinionField.hidden = true;
    present.addEventListener("change", () => { if (present.checked) { leave.checked = false; opinionField.hidden = true; } update(); });
    leave.addEventListener("change", () => { if (leave.checked) present.checked = false; opinionField.hidden = !leave.checked; update(); });
    const row = h("div", { class: "attendance-row", dataset: { person: m.person_id } },
      h("span", { class: "who", id: `who-${m.person_id}` }, `${m.name}（${label("role", m.role)}）`),
      h("label", { class: "choice" }, present, t("meeting.present")),
      h("label", { class: "choice" }, leave, t("meeting.onLeave")),
      opinionField);
    present.setAttribute("aria-describedby", `who-${m.person_id}`);
    leave.setAttribute("aria-describedby", `who-${m.person_id}`);
    return { m, present, leave, opinion, row };
  });
  function update() {
    const count = rows.filter((r) => r.present.checked).length;
    const met = members.quorum !== null && count >= members.quorum;
    quorum.textContent = `${t("meeting.quorum", { present: count, n: members.n, quorum: members.quorum })} — ${met ? t("meeting.quorumMet") : t("meeting.quorumNotMet")}`;
    quorum.className = `quorum ${met ? "met" : "unmet"}`;
    quorum.dataset.met = String(met);
  }
  update();
  const submit = h("button", { type: "submit", id: "open-meeting" }, t("meeting.openSubmit"));
  const errors = h("div", { "aria-live": "assertive", id: "open-errors" });
  const form = h("form", { id: "open-form" },
    h("fieldset", {}, h("legend", {}, t("meeting.attendance")), rows.map((r) => r.row)), quorum, submit, errors);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(submit, errors, async () => {
      const present = rows.filter((r) => r.present.checked).map((r) => r.m.person_id);
      const leave = rows.filter((r) => r.leave.checked).map((r) => ({
        person_id: r.m.person_id,
        opinions: Object.fromEntries(meeting.topics.map((tp) => [tp.topic_id, r.opinion.value.trim()]).filter(([, v]) => v)),
      }));
      await api(`/meetings/${meeting.meeting_id}/open`, { method: "POST", body: { present, leave } });
      refresh();
    });
  });
  sec.append(form);
  return sec;
}

function ballotsSection(meeting, chair, navigate) {
  const sec = h("section", { "aria-labelledby": "ballots-title" }, h("h2", { id: "ballots-title" }, t("meeting.ballots")));
  if (chair && meeting.status === "opened") {
    for (const tp of meeting.topics) {
      const method = select("method", METHODS.map((m) => [m, label("method", m)]), "named");
      const submit = h("button", { type: "submit" }, t("meeting.openBallot"));
      const errors = h("div", { "aria-live": "assertive" });
      const form = h("form", { class: "open-ballot", dataset: { topic: tp.topic_id } },
        h("h3", {}, tp.title), field(t("meeting.method"), method), submit, errors);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        act(submit, errors, async () => {
          const ballot = await api("/ballots", { method: "POST", body: { meeting_id: meeting.meeting_id, topic_id: tp.topic_id, method: method.value } });
          remember(`ballots.${meeting.meeting_id}`, { ballot_id: ballot.ballot_id, title: ballot.title, method: ballot.method }, "ballot_id");
          navigate(`ballot/${ballot.ballot_id}`);
        });
      });
      sec.append(form);
    }
  }
  const opened = recall(`ballots.${meeting.meeting_id}`);
  if (opened.length) {
    sec.append(h("h3", {}, t("meeting.ballotsSession")),
      h("ul", {}, opened.map((b) => h("li", {}, link(`#/ballot/${b.ballot_id}`, `${b.title} · ${label("method", b.method)}`)))));
  }
  return sec;
}
