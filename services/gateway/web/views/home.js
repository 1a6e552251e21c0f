// Home by role: chairs run meetings; group members see what to vote on; everyone sees the inbox.
import { api, remember, roster, session } from "../api.js";
import { formatTime, getLang, label, t } from "../i18n.js";
import { act, dataTable, errorBox, field, h, heading, link, select } from "../ui.js";
import { materialsBlock } from "./materials.js";
import { defaultLocalTime, MIN_NOTICE_MINUTES, orgZone, zonedToUtc } from "../zone.js";

const CHAIRS = ["secretary", "deputy_secretary"];
const GROUP = ["secretary", "deputy_secretary", "member"];

export default {
  route: "home",
  nav: { label: "nav.home" },
  async render(root, _params, { navigate }) {
    const info = session.info;
    const roles = (info.actor.roles || []).map((r) => label("role", r)).join(getLang() === "en" ? ", " : "、") || t("role.none");
    const names = await roster().then((r) => new Map(r.members.map((m) => [m.person_id, m.name])), () => new Map());
    root.append(heading(t("home.title")),
      h("p", { class: "welcome" }, t("home.welcome", { name: names.get(info.actor.person_id) || info.username, roles })));

    const inbox = await api("/notifications", { query: { limit: 50 } }).catch((err) => err);
    root.append(inboxCard(inbox));
    const grid = h("div", { class: "grid" });
    root.append(grid);
    if (session.hasRole(...CHAIRS)) grid.append(createMeetingCard(navigate), await meetingsCard());
    if (session.hasRole(...GROUP)) grid.append(await ballotsCard(inbox));
    if (session.hasRole("hr")) root.append(await personnelCard(navigate));
  },
};

function inboxCard(inbox) {
  if (inbox instanceof Error) return h("section", {}, errorBox(inbox));
  return h("section", { class: "inbox-summary", "aria-labelledby": "inbox-summary-title" },
    h("h2", { id: "inbox-summary-title" }, t("nav.inbox")),
    h("p", { class: "actions" }, h("span", { class: "badge", id: "unread-count" }, inbox.unread),
      h("span", {}, t("home.unread", { n: inbox.unread })), link("#/inbox", t("home.goInbox"))));
}

function createMeetingCard(navigate) {
  const tz = orgZone();
  // M11: the secretary also schedules the democratic life meeting, on its theme (it is not delegated)
  const kinds = ["regular", "emergency", "expanded", ...(session.hasRole("secretary") ? ["democratic_life"] : [])];
  const kind = select("kind", kinds.map((k) => [k, label("kind", k)]), "regular");
  const title = h("input", { name: "title", required: true, maxlength: 200 });
  // M5: a regular or expanded meeting is noticed ≥ 48 h ahead, so its default time is one M5 accepts;
  // an emergency meeting (M6) defaults to half an hour from now
  const lead = () => (kind.value === "emergency" ? 30 : MIN_NOTICE_MINUTES);
  const when = h("input", { name: "scheduled_at", type: "datetime-local", required: true, value: defaultLocalTime(tz, lead()) });
  // M6: an emergency meeting records why it cannot wait for the 48 h notice
  const reason = h("input", { name: "emergency_reason", maxlength: 2000 });
  const reasonField = field(t("meetings.emergencyReason"), reason, t("meetings.emergencyReasonHint"));
  const theme = h("input", { name: "theme", maxlength: 300 });
  const themeField = field(t("dl.theme"), theme, t("dl.themeHint"));
  const showReason = () => {
    reasonField.hidden = kind.value !== "emergency";
    reason.required = kind.value === "emergency";
    themeField.hidden = kind.value !== "democratic_life";
    theme.required = kind.value === "democratic_life";
  };
  kind.addEventListener("change", () => { when.value = defaultLocalTime(tz, lead()); showReason(); });
  showReason();
  const submit = h("button", { type: "submit" }, t("meetings.submit"));
  const errors = h("div", { "aria-live": "assertive" });
  const form = h("form", { id: "create-meeting" },
    field(t("meetings.kind"), kind), field(t("meetings.titleField"), title), field(t("meetings.when", { tz }), when),
    reasonField, themeField, submit, errors);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(submit, errors, async () => {
      const meeting = await api("/meetings", { method: "POST", body: {
        kind: kind.value, title: title.value.trim(), scheduled_at: zonedToUtc(when.value, tz),
        ...(kind.value === "emergency" ? { emergency_reason: reason.value.trim() } : {}),
        ...(kind.value === "democratic_life" ? { theme: theme.value.trim() } : {}) } });
      rememberMeeting(meeting);
      navigate(`meeting/${meeting.meeting_id}`);
    });
  });
  return h("section", { "aria-labelledby": "create-title" }, h("h2", { id: "create-title" }, t("meetings.create")), form);
}

export function rememberMeeting(m) {
  remember("meetings", { meeting_id: m.meeting_id, title: m.title, kind: m.kind, status: m.status,
    scheduled_at: m.scheduled_at, timezone: m.timezone }, "meeting_id");
  if (m.timezone) sessionStorage.setItem("pg.tz", m.timezone);
}

async function meetingsCard() {
  const card = h("section", { "aria-labelledby": "meetings-title" }, h("h2", { id: "meetings-title" }, t("meetings.title")));
  let rows;
  try {
    // the calendar from a week back: meetings are picked from it, never typed in by number
    const from = new Date(Date.now() - 7 * 86400000).toISOString().slice(0, 10);
    const listed = await api("/meetings", { query: { from } });
    rows = [...(listed.items || [])].sort((x, y) => x.scheduled_at.localeCompare(y.scheduled_at));
  } catch (err) {
    card.append(errorBox(err));
    return card;
  }
  card.append(dataTable({
    caption: t("meetings.upcoming"), filename: "meetings.csv", rows,
    columns: [
      { key: "when", label: t("meeting.when"), value: (m) => formatTime(m.scheduled_at, m.timezone) },
      { key: "title", label: t("col.title"), cell: (m) => link(`#/meeting/${m.meeting_id}`, m.title), value: (m) => m.title },
      { key: "status", label: t("col.status"), value: (m) => label("status", m.status) },
    ],
  }));
  card.append(h("p", {}, link("#/meetings", t("meetings.all"))));
  return card;
}

async function ballotsCard(inbox) {
  const card = h("section", { "aria-labelledby": "ballots-title", id: "my-ballots" }, h("h2", { id: "ballots-title" }, t("ballot.mine")));
  // ballots reach a member as "ballot opened" notifications (N1); only those still open, where the
  // member may vote, are listed to vote on (a closed one is never offered)
  const items = inbox instanceof Error ? [] : inbox.items.filter((n) => n.kind === "ballot_opened");
  const seen = [...new Map(items.map((n) => [n.ref_id, n])).values()];
  const me = session.actor.person_id;
  const ballots = (await Promise.all(seen.map((n) => api(`/ballots/${encodeURIComponent(n.ref_id)}`).catch(() => null))))
    .filter((b) => b && b.status === "open" && (b.eligible || []).includes(me));
  card.append(ballots.length
    ? h("ul", { class: "ballot-links" }, ballots.map((b) => h("li", {}, link(`#/ballot/${b.ballot_id}`, b.title, { class: "ballot-link" }),
      " · ", t("ballot.progress", { cast: b.votes_cast, present: b.present, n: b.n }))))
    : h("p", {}, t("ballot.noneOpen")));
  return card;
}

/**
 * HR's home (M3, V4): the personnel topics HR prepares, each candidate's item with its meeting,
 * and the materials HR uploads for them while the meeting is a draft.
 */
async function personnelCard(navigate) {
  const card = h("section", { "aria-labelledby": "personnel-title", id: "personnel-topics" },
    h("h2", { id: "personnel-title" }, t("hr.title")), h("p", {}, t("hr.intro")));
  let topics;
  try {
    topics = ((await api("/topics", { query: { org_id: session.actor.org_id } })).topics || [])
      .filter((tp) => tp.category === "personnel" && tp.status !== "rejected");
  } catch (err) {
    card.append(errorBox(err));
    return card;
  }
  if (!topics.length) { card.append(h("p", {}, t("hr.none"))); return card; }
  const names = await roster().then((r) => new Map([...(r.staff || []), ...r.members].map((m) => [m.person_id, m.name])), () => new Map());
  const meetings = new Map();
  for (const tp of topics) {
    if (tp.meeting_id && !meetings.has(tp.meeting_id)) meetings.set(tp.meeting_id, await api(`/meetings/${tp.meeting_id}`).catch(() => null));
  }
  for (const tp of topics) {
    const full = await api(`/topics/${tp.topic_id}`).catch(() => ({ ...tp, materials: [] }));
    const meeting = tp.meeting_id ? meetings.get(tp.meeting_id) : null;
    card.append(h("article", { class: "card personnel-topic", dataset: { topic: tp.topic_id } },
      h("h3", {}, tp.title),
      h("p", {}, tp.candidate_person_id ? t("topic.candidate", { name: names.get(tp.candidate_person_id) || "—" }) : null,
        " · ", meeting
          ? link(`#/meeting/${meeting.meeting_id}`, `${meeting.title} · ${formatTime(meeting.scheduled_at, meeting.timezone)} · ${label("status", meeting.status)}`)
          : t("hr.noMeeting")),
      materialsBlock(full, meeting, () => navigate("home"))));
  }
  return card;
}
