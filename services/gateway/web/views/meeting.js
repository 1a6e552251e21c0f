// One meeting: agenda, notice, opening with attendance and a live quorum indicator, ballots.
import { api, recall, remember, roster, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, confirmAction, dataTable, field, form, h, heading, link, select } from "../ui.js";
import { defaultLocalTime, MIN_NOTICE_MINUTES, zonedToUtc } from "../zone.js";
import { rememberMeeting } from "./home.js";
import { materialsBlock } from "./materials.js";
import { documentsSection, livePresence, observersSection, RECEIPT_READERS, receiptsSection } from "./meeting-parts.js";

const CHAIRS = ["secretary", "deputy_secretary"];
const CATEGORIES = ["work_plan", "organization", "major_decision", "personnel", "ideology", "party_building",
  "clean_governance", "other", "report", "statement"];
const METHODS = ["named", "show_of_hands", "oral", "secret"];

export default {
  route: "meeting/:id",
  async render(root, { id }, { navigate, isCurrent }) {
    const refresh = () => navigate(`meeting/${id}`);
    const [meeting, members] = await Promise.all([
      api(`/meetings/${encodeURIComponent(id)}`),
      roster().catch(() => ({ n: null, quorum: null, members: [] })),
    ]);
    rememberMeeting(meeting);
    const tz = meeting.timezone || "Asia/Shanghai";
    const chair = session.hasRole(...CHAIRS);
    const names = new Map([...(members.staff || []), ...members.members].map((m) => [m.person_id, m.name]));

    root.append(heading(`${t("meeting.title")} · ${meeting.title}`),
      h("dl", { class: "facts card" },
        h("dt", {}, t("meeting.kind")), h("dd", {}, label("kind", meeting.kind)),
        h("dt", {}, t("meeting.status")), h("dd", { id: "meeting-status", dataset: { status: meeting.status } }, label("status", meeting.status)),
        h("dt", {}, t("meeting.when")), h("dd", { id: "meeting-when" }, `${formatTime(meeting.scheduled_at, tz)} (${tz})`)),
      h("p", { class: "actions" }, link(`#/meeting/${id}/leave`, t("leave.title"), { id: "leave-page-link" }),
        link(`#/meeting/${id}/minutes`, t("minutes.title"), { id: "minutes-page-link" }),
        // M11: the democratic life meeting's steps have their own page
        meeting.kind === "democratic_life" ? link(`#/meeting/${id}/democratic-life`, t("dl.title"), { id: "dl-page-link" }) : null));

    root.append(topicsSection(meeting, chair, members, names, refresh));
    if (chair) root.append(manageSection(meeting, tz, refresh));
    if (meeting.topics.length) root.append(await materialsSection(meeting, refresh));
    root.append(noticeSection(meeting, tz, refresh));
    // M5: proof of notice and the objections, for the chair and the office
    if (meeting.noticed_at && session.hasRole(...RECEIPT_READERS)) root.append(await receiptsSection(meeting, names, tz));
    const observers = observersSection(meeting, members, names, refresh);   // M7
    if (observers) root.append(observers);
    root.append(attendanceSection(meeting, members, names, chair, tz, refresh, isCurrent));
    if (meeting.status === "opened" || recall(`ballots.${id}`).length) root.append(await ballotsSection(meeting, chair, navigate));
    const documents = documentsSection(meeting, members, navigate);         // M10
    if (documents) root.append(documents);
  },
};

function topicsSection(meeting, chair, members, names, refresh) {
  const sec = h("section", { "aria-labelledby": "topics-title" }, h("h2", { id: "topics-title" }, t("meeting.topics")));
  sec.append(meeting.topics.length
    ? h("ol", { class: "topics" }, meeting.topics.map((tp) => h("li", { dataset: { topic: tp.topic_id } },
      h("strong", {}, tp.title), " · ", label("cat", tp.category),
      tp.candidate_person_id ? h("span", { class: "candidate" }, " · ", t("topic.candidate", { name: names.get(tp.candidate_person_id) || tp.title })) : null,
      tp.precoordination ? h("span", { class: "tag", dataset: { mark: "precoordination" } }, t("topic.precoordinated")) : null,
      tp.preparation ? h("span", { class: "tag", dataset: { mark: "preparation" } }, t("topic.prepared")) : null)))
    : h("p", {}, t("meeting.noTopics")));
  // M4: the agenda is frozen once notice is given, so the form is offered on a draft only
  // (an opened emergency meeting may take a topic that is neither personnel nor major).
  const adHoc = meeting.kind === "emergency" && meeting.status === "opened";
  if (chair && (meeting.status === "draft" || adHoc)) sec.append(topicForm(meeting, members, adHoc, refresh));
  return sec;
}

/** Names typed one per line or separated by commas (，、,). */
function nameList(value) {
  return value.split(/[\n,，、;；]+/).map((s) => s.trim()).filter(Boolean);
}

/**
 * The add-topic form (M3, V4): a major-decision topic carries the leader in charge's
 * pre-coordination and its preparation record (research, opinions, risk assessment, legal
 * review); a broad topic the pre-coordination; a personnel topic its candidates, one agenda
 * item (and ballot) per candidate. Only the parts the chosen category needs are shown.
 */
function topicForm(meeting, members, adHoc, refresh) {
  const categories = adHoc ? CATEGORIES.filter((c) => !["personnel", "major_decision"].includes(c)) : CATEGORIES;
  const title = h("input", { name: "topic_title", required: true, maxlength: 300 });
  const category = select("category", categories.map((c) => [c, label("cat", c)]), "work_plan");
  const description = h("textarea", { name: "description", rows: 2, maxlength: 20000 });
  const broad = h("input", { type: "checkbox", name: "broad" });

  const group = members.members;
  const leader = select("leader_person_id", group.map((m) => [m.person_id, `${m.name}（${label("role", m.role)}）`]),
    group.find((m) => m.role === "deputy_secretary")?.person_id);
  const withWhom = h("textarea", { name: "with_whom", rows: 2, required: true });
  const outcome = h("textarea", { name: "outcome", rows: 2, required: true });
  const pre = h("fieldset", { class: "topic-extra", id: "precoordination-fields" },
    h("legend", {}, t("topic.precoordination")),
    field(t("topic.leader"), leader), field(t("topic.withWhom"), withWhom, t("topic.namesHint")),
    field(t("topic.outcome"), outcome));

  const research = h("textarea", { name: "research", rows: 2, required: true });
  const opinionsFrom = h("textarea", { name: "opinions_from", rows: 2, required: true });
  const risk = h("textarea", { name: "risk_assessment", rows: 2, required: true });
  const legal = h("textarea", { name: "legal_review", rows: 2, required: true });
  const subordinateOrg = h("input", { name: "subordinate_org", maxlength: 200 });
  const subordinateOpinion = h("textarea", { name: "subordinate_opinion", rows: 2 });
  const prep = h("fieldset", { class: "topic-extra", id: "preparation-fields" },
    h("legend", {}, t("topic.preparation")),
    field(t("topic.research"), research), field(t("topic.opinionsFrom"), opinionsFrom, t("topic.namesHint")),
    field(t("topic.risk"), risk), field(t("topic.legal"), legal),
    field(t("topic.subordinateOrg"), subordinateOrg, t("topic.subordinateHint")),
    field(t("topic.subordinateOpinion"), subordinateOpinion));

  const people = [...group, ...(members.staff || [])].filter((p, i, all) => all.findIndex((q) => q.person_id === p.person_id) === i);
  const candidateBoxes = people.map((p) => h("input", { type: "checkbox", name: "candidate", value: p.person_id }));
  const cand = h("fieldset", { class: "topic-extra", id: "candidate-fields" },
    h("legend", {}, t("topic.candidates")), h("p", { class: "hint" }, t("topic.candidatesHint")),
    h("div", { class: "choice-list" }, people.map((p, i) => h("label", { class: "choice" }, candidateBoxes[i], p.name))));

  function update() {
    const major = category.value === "major_decision";
    const showPre = major || broad.checked;
    // a hidden part is also disabled, so that its required fields neither block nor travel
    for (const [part, shown] of [[pre, showPre], [prep, major], [cand, category.value === "personnel"]]) {
      part.hidden = !shown;
      part.disabled = !shown;
    }
  }
  category.addEventListener("change", update);
  broad.addEventListener("change", update);
  update();

  const submit = h("button", { type: "submit", class: "secondary" }, t("meeting.addTopicSubmit"));
  const errors = h("div", { "aria-live": "assertive" });
  const form = h("form", { id: "add-topic", "aria-labelledby": "add-topic-title" }, h("h3", { id: "add-topic-title" }, t("meeting.addTopic")),
    field(t("meeting.topicTitle"), title), field(t("meeting.category"), category),
    field(t("topic.description"), description),
    h("label", { class: "choice" }, broad, t("topic.broad")),
    pre, prep, cand, submit, errors);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(submit, errors, async () => {
      const body = { title: title.value.trim(), category: category.value, broad: broad.checked };
      if (description.value.trim()) body.description = description.value.trim();
      if (!pre.disabled) {
        body.precoordination = { leader_person_id: leader.value, with_whom: nameList(withWhom.value), outcome: outcome.value.trim() };
      }
      if (!prep.disabled) {
        body.preparation = { research: research.value.trim(), opinions_from: nameList(opinionsFrom.value),
          risk_assessment: risk.value.trim(), legal_review: legal.value.trim() };
        if (subordinateOpinion.value.trim()) body.preparation.subordinate_opinion = subordinateOpinion.value.trim();
        if (subordinateOrg.value.trim()) body.subordinate_org = subordinateOrg.value.trim();
      }
      if (!cand.disabled) body.candidate_person_ids = candidateBoxes.filter((b) => b.checked).map((b) => b.value);
      await api(`/meetings/${meeting.meeting_id}/topics`, { method: "POST", body });
      refresh();
    });
  });
  return form;
}

/**
 * The chair runs the meeting's life (M1, M5): close an opened meeting (then the minutes can be
 * approved, M10), cancel or reschedule one not yet held. Each irreversible step is confirmed.
 */
function manageSection(meeting, tz, refresh) {
  const sec = h("section", { "aria-labelledby": "manage-title", id: "manage" }, h("h2", { id: "manage-title" }, t("manage.title")));
  if (meeting.status === "cancelled") {
    sec.append(h("p", { id: "cancelled" }, t("manage.cancelledReason", { reason: meeting.cancel_reason || "—" })));
    return sec;
  }
  if (meeting.status === "opened") {
    const button = h("button", { type: "button", id: "close-meeting" }, t("manage.close"));
    const errors = h("div", { "aria-live": "assertive" });
    button.addEventListener("click", async () => {
      if (!await confirmAction(t("manage.closeConfirm", { title: meeting.title }), t("manage.close"))) return;
      act(button, errors, async () => {
        await api(`/meetings/${meeting.meeting_id}/close`, { method: "POST" });
        refresh();
      });
    });
    sec.append(h("p", { class: "hint" }, t("manage.closeHint")), button, errors);
    return sec;
  }
  if (["closed", "minutes_approved"].includes(meeting.status)) {
    sec.append(h("p", {}, t("manage.closedAt", { when: formatTime(meeting.closed_at, tz) }), " ",
      link(`#/meeting/${meeting.meeting_id}/minutes`, t("manage.toMinutes"), { id: "to-minutes" })));
    return sec;
  }
  // draft or noticed: reschedule (a noticed regular meeting then needs a new notice, M5) or cancel
  const when = h("input", { type: "datetime-local", name: "scheduled_at", required: true,
    value: defaultLocalTime(tz, meeting.kind === "emergency" ? 30 : MIN_NOTICE_MINUTES) });
  const reason = h("textarea", { name: "reschedule_reason", rows: 2, required: true, maxlength: 5000 });
  const reschedule = form({
    id: "reschedule-form", title: t("manage.reschedule"), submitLabel: t("manage.reschedule"),
    fields: [field(t("meetings.when", { tz }), when, meeting.kind === "emergency" ? null : t("manage.rescheduleHint")),
      field(t("manage.reason"), reason)],
    onsubmit: async () => {
      await api(`/meetings/${meeting.meeting_id}/reschedule`, { method: "POST",
        body: { scheduled_at: zonedToUtc(when.value, tz), reason: reason.value.trim() } });
      refresh();
    },
  });
  const cancelReason = h("textarea", { name: "cancel_reason", rows: 2, required: true, maxlength: 5000 });
  const cancelSubmit = h("button", { type: "submit", class: "danger", id: "cancel-meeting" }, t("manage.cancel"));
  const cancelErrors = h("div", { "aria-live": "assertive", class: "form-errors" });
  const cancel = h("form", { id: "cancel-form", "aria-labelledby": "cancel-form-title" },
    h("h3", { id: "cancel-form-title" }, t("manage.cancel")), field(t("manage.reason"), cancelReason), cancelSubmit, cancelErrors);
  cancel.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!await confirmAction(t("manage.cancelConfirm", { title: meeting.title }), t("manage.cancel"))) return;
    act(cancelSubmit, cancelErrors, async () => {
      await api(`/meetings/${meeting.meeting_id}/cancel`, { method: "POST", body: { reason: cancelReason.value.trim() } });
      refresh();
    });
  });
  sec.append(reschedule, cancel);
  return sec;
}

/** Each topic's materials (M3, M5): download for all, upload by the office (HR for personnel). */
async function materialsSection(meeting, refresh) {
  const sec = h("section", { "aria-labelledby": "materials-title", id: "materials" }, h("h2", { id: "materials-title" }, t("materials.title")));
  const topics = await Promise.all(meeting.topics.map((tp) => api(`/topics/${encodeURIComponent(tp.topic_id)}`).catch(() => ({ ...tp, materials: [] }))));
  for (const tp of topics) sec.append(h("h3", {}, tp.title), materialsBlock(tp, meeting, refresh));
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

function attendanceSection(meeting, members, names, chair, tz, refresh, isCurrent) {
  const sec = h("section", { "aria-labelledby": "attendance-title" }, h("h2", { id: "attendance-title" }, t("meeting.attendance")));
  if (meeting.status === "opened") {
    // M8: arrivals and departures, the quorum live
    sec.append(livePresence(meeting, names, tz, isCurrent));
    return sec;
  }
  if (meeting.status === "closed") {
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

async function ballotsSection(meeting, chair, navigate) {
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
  // the meeting's ballots from the server (a recorder of V2 votes, another device), else those opened here
  const listed = await api("/ballots", { query: { meeting_id: meeting.meeting_id } }).then((r) => r.items || []).catch(() => []);
  const opened = [...listed, ...recall(`ballots.${meeting.meeting_id}`)]
    .filter((b, i, all) => all.findIndex((x) => x.ballot_id === b.ballot_id) === i);
  if (opened.length) {
    sec.append(h("h3", {}, t("meeting.ballotsAll")),
      h("ul", {}, opened.map((b) => h("li", {}, link(`#/ballot/${b.ballot_id}`, `${b.title} · ${label("method", b.method)}`)))));
  }
  return sec;
}
