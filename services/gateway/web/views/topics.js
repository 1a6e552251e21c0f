// Topics (M3): group members suggest topics for a draft meeting or for later; the secretary
// accepts them (onto a draft meeting's agenda, or into the pool) or rejects them with a reason.
import { api, nameMap, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, confirmAction, dataTable, field, form, h, heading, liveStatus, select } from "../ui.js";

const GROUP = ["secretary", "deputy_secretary", "member"];
const CATEGORIES = ["work_plan", "organization", "major_decision", "personnel", "ideology", "party_building",
  "clean_governance", "other", "report", "statement"];

export default {
  route: "topics",
  nav: { label: "nav.topics", roles: GROUP },
  async render(root, _params, { navigate }) {
    const org = session.actor?.org_id;
    const [listed, drafts, names] = await Promise.all([
      api("/topics", { query: { org_id: org } }),
      api("/meetings", { query: { status: "draft" } }).then((r) => r.items || [], () => []),
      nameMap(),
    ]);
    const status = liveStatus("topics-status");
    status.textContent = sessionStorage.getItem("pg.flash") || "";
    sessionStorage.removeItem("pg.flash");
    const refresh = (message) => { sessionStorage.setItem("pg.flash", message); navigate("topics"); };
    const meetingTitle = new Map(drafts.map((m) => [m.meeting_id, `${m.title} · ${formatTime(m.scheduled_at, m.timezone)}`]));
    const meetingOptions = () => [["", t("topics.later")], ...drafts.map((m) => [m.meeting_id, meetingTitle.get(m.meeting_id)])];

    root.append(heading(t("topics.title")), h("p", {}, t("topics.intro")), status);

    // a member suggests; the secretary's own proposal goes straight onto the agenda (accepted)
    const title = h("input", { name: "title", required: true, maxlength: 300 });
    const category = select("category", CATEGORIES.filter((c) => c !== "major_decision" && c !== "personnel")
      .map((c) => [c, label("cat", c)]), "work_plan");
    const description = h("textarea", { name: "description", rows: 3, maxlength: 20000 });
    const meeting = select("meeting_id", meetingOptions(), "");
    root.append(h("section", { "aria-labelledby": "suggest-form-title" }, form({
      id: "suggest-form", title: t("topics.suggest"), headingLevel: "h2", submitLabel: t("topics.suggestSubmit"),
      fields: [field(t("meeting.topicTitle"), title), field(t("meeting.category"), category, t("topics.categoryHint")),
        field(t("topic.description"), description), field(t("topics.forMeeting"), meeting)],
      onsubmit: async () => {
        const body = { title: title.value.trim(), category: category.value, meeting_id: meeting.value || null };
        if (description.value.trim()) body.description = description.value.trim();
        await api("/topics", { method: "POST", body });
        refresh(t("topics.suggested"));
      },
    })));

    const topics = listed.topics || [];
    const suggested = topics.filter((tp) => tp.status === "suggested");
    if (session.hasRole("secretary")) {
      const sec = h("section", { "aria-labelledby": "pending-title", id: "pending-topics" },
        h("h2", { id: "pending-title" }, t("topics.pending")));
      if (!suggested.length) sec.append(h("p", {}, t("topics.nonePending")));
      for (const tp of suggested) sec.append(decideForm(tp, names, meetingOptions(), refresh));
      root.append(sec);
    }

    root.append(h("section", { "aria-labelledby": "all-topics-title" }, h("h2", { id: "all-topics-title" }, t("topics.all")),
      dataTable({
        caption: t("topics.all"), filename: "topics.csv", rows: topics,
        columns: [
          { key: "title", label: t("col.title") },
          { key: "category", label: t("meeting.category"), value: (tp) => label("cat", tp.category) },
          { key: "status", label: t("col.status"), value: (tp) => label("tpstatus", tp.status) },
          { key: "proposed_by", label: t("topics.proposedBy"), value: (tp) => names.get(tp.proposed_by) || "—" },
          { key: "reason", label: t("topics.reason"), value: (tp) => tp.decision_reason || "" },
        ],
      })));
  },
};

function decideForm(tp, names, options, refresh) {
  const reason = h("textarea", { name: "reason", rows: 2, maxlength: 5000 });
  const meeting = select("meeting_id", options, "");
  const accept = h("button", { type: "button", class: "accept-topic" }, t("topics.accept"));
  const reject = h("button", { type: "button", class: "secondary reject-topic" }, t("topics.reject"));
  const errors = h("div", { "aria-live": "assertive" });
  const box = h("div", { class: "card pending-topic", dataset: { topic: tp.topic_id } },
    h("h3", {}, tp.title),
    h("p", {}, `${label("cat", tp.category)} · ${t("topics.proposedBy")}: ${names.get(tp.proposed_by) || "—"}`),
    tp.description ? h("p", { class: "prewrap" }, tp.description) : null,
    field(t("topics.forMeeting"), meeting), field(t("topics.reasonField"), reason, t("topics.reasonHint")),
    h("p", { class: "actions" }, accept, reject), errors);
  accept.addEventListener("click", () => act(accept, errors, async () => {
    await api(`/topics/${tp.topic_id}/decision`, { method: "POST",
      body: { accept: true, reason: reason.value.trim() || null, meeting_id: meeting.value || null } });
    refresh(t("topics.accepted", { title: tp.title }));
  }));
  reject.addEventListener("click", async () => {
    // M3: a rejection gives its reason (the server says so too); asked before the confirmation
    if (!reason.value.trim()) { reason.focus(); errors.replaceChildren(h("p", { class: "error", role: "alert" }, t("topics.reasonNeeded"))); return; }
    if (!await confirmAction(t("topics.rejectConfirm", { title: tp.title }), t("topics.reject"))) return;
    act(reject, errors, async () => {
      await api(`/topics/${tp.topic_id}/decision`, { method: "POST", body: { accept: false, reason: reason.value.trim() } });
      refresh(t("topics.rejected", { title: tp.title }));
    });
  });
  return box;
}
