// Home by role: chairs run meetings; group members see what to vote on; everyone sees the inbox.
import { api, recall, remember, roster, session } from "../api.js";
import { getLang, label, t } from "../i18n.js";
import { act, dataTable, errorBox, field, h, heading, link, select } from "../ui.js";
import { defaultLocalTime, orgZone, zonedToUtc } from "../zone.js";

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
    if (session.hasRole(...CHAIRS)) grid.append(createMeetingCard(navigate), await meetingsCard(navigate));
    if (session.hasRole(...GROUP)) grid.append(await ballotsCard(inbox, navigate));
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
  const kind = select("kind", ["regular", "emergency", "expanded"].map((k) => [k, label("kind", k)]), "regular");
  const title = h("input", { name: "title", required: true, maxlength: 200 });
  const when = h("input", { name: "scheduled_at", type: "datetime-local", required: true, value: defaultLocalTime(tz, 30) });
  // M6: an emergency meeting records why it cannot wait for the 48 h notice
  const reason = h("input", { name: "emergency_reason", maxlength: 2000 });
  const reasonField = field(t("meetings.emergencyReason"), reason, t("meetings.emergencyReasonHint"));
  const showReason = () => {
    reasonField.hidden = kind.value !== "emergency";
    reason.required = kind.value === "emergency";
  };
  kind.addEventListener("change", showReason);
  showReason();
  const submit = h("button", { type: "submit" }, t("meetings.submit"));
  const errors = h("div", { "aria-live": "assertive" });
  const form = h("form", { id: "create-meeting" },
    field(t("meetings.kind"), kind), field(t("meetings.titleField"), title), field(t("meetings.when", { tz }), when),
    reasonField, submit, errors);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(submit, errors, async () => {
      const meeting = await api("/meetings", { method: "POST", body: {
        kind: kind.value, title: title.value.trim(), scheduled_at: zonedToUtc(when.value, tz),
        ...(kind.value === "emergency" ? { emergency_reason: reason.value.trim() } : {}) } });
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

async function meetingsCard(navigate) {
  const card = h("section", { "aria-labelledby": "meetings-title" }, h("h2", { id: "meetings-title" }, t("meetings.title")));
  let rows;
  try {
    const listed = await api("/meetings");
    rows = listed.items || listed.meetings || [];
  } catch (err) {
    if (!err.unavailable) { card.append(errorBox(err)); return card; }
    card.append(h("p", { class: "notice", role: "note" }, t("meetings.sessionNote")));
    rows = recall("meetings");
  }
  card.append(dataTable({
    caption: t("meetings.session"), filename: "meetings.csv", rows,
    columns: [
      { key: "title", label: t("col.title"), cell: (m) => link(`#/meeting/${m.meeting_id}`, m.title) , value: (m) => m.title },
      { key: "kind", label: t("col.kind"), value: (m) => label("kind", m.kind) },
      { key: "meeting_id", label: t("common.id"), value: (m) => m.meeting_id },
    ],
  }));
  const id = h("input", { name: "meeting_id", required: true, autocomplete: "off" });
  const form = h("form", { class: "open-by-id" }, field(t("meetings.idField"), id), h("button", { type: "submit", class: "secondary" }, t("meetings.go")));
  form.addEventListener("submit", (e) => { e.preventDefault(); if (id.value.trim()) navigate(`meeting/${encodeURIComponent(id.value.trim())}`); });
  card.append(h("h3", {}, t("meetings.openById")), form);
  return card;
}

async function ballotsCard(inbox, navigate) {
  const card = h("section", { "aria-labelledby": "ballots-title", id: "my-ballots" }, h("h2", { id: "ballots-title" }, t("ballot.mine")));
  // ballots reach a member as "ballot opened" notifications (N1); they are listed from the inbox
  const items = inbox instanceof Error ? [] : inbox.items.filter((n) => n.kind === "ballot_opened");
  const open = items.map((n) => ({ id: n.ref_id, title: n.title }));
  card.append(open.length
    ? h("ul", { class: "ballot-links" }, open.map((b) => h("li", {}, link(`#/ballot/${b.id}`, b.title, { class: "ballot-link" }))))
    : h("p", {}, t("ballot.noneOpen")));
  const id = h("input", { name: "ballot_id", required: true, autocomplete: "off" });
  const form = h("form", { class: "open-by-id" }, field(t("ballot.idField"), id), h("button", { type: "submit", class: "secondary" }, t("ballot.go")));
  form.addEventListener("submit", (e) => { e.preventDefault(); if (id.value.trim()) navigate(`ballot/${encodeURIComponent(id.value.trim())}`); });
  card.append(h("h3", {}, t("ballot.pasteId")), form);
  return card;
}
