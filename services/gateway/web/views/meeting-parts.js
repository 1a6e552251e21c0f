// Parts of the meeting page that the rules give an API for (issue 19): arrivals and departures
// with the quorum live (M8), observers (M7), proof of notice and objections (M5), and the
// documents the office issues after the meeting (M10). meeting.js places them on the page.
import { api, recall, remember, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, dataTable, errorBox, field, form, h, link, select } from "../ui.js";

const POLL_MS = 4000;

// ------------------------------------------------------------------ M8 arrivals, departures, quorum

/** The quorum line of a {n, present, quorum, met} answer (GET /meetings/{id}/quorum). */
function showQuorum(el, q) {
  el.textContent = `${t("meeting.quorum", { present: q.present, n: q.n, quorum: q.quorum })} — ${
    q.met ? t("meeting.quorumMet") : t("meeting.quorumNotMet")}`;
  el.className = `quorum ${q.met ? "met" : "unmet"}`;
  el.dataset.met = String(q.met);
  el.dataset.present = String(q.present);
}

/**
 * M8 on an open meeting: the quorum now (polled every few seconds while the page is shown, and
 * read again after each change) and each group member's presence. The meeting's chair and the
 * confidential secretary record an arrival or a departure (timestamped); nobody else is offered it.
 */
export function livePresence(meeting, names, tz, isCurrent) {
  const id = meeting.meeting_id;
  const me = session.actor?.person_id;
  const canRecord = me === meeting.chair_person_id || session.hasRole("confidential_secretary");
  const quorum = h("p", { class: "quorum", id: "quorum", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  const tableSlot = h("div", { id: "presence" });
  const errors = h("div", { "aria-live": "assertive" });
  let attendance = meeting.attendance;
  let lastPresent = null;

  const refreshQuorum = async () => {
    const q = await api(`/meetings/${encodeURIComponent(id)}/quorum`);
    showQuorum(quorum, q);
    return q;
  };
  const refreshTable = async () => {
    attendance = (await api(`/meetings/${encodeURIComponent(id)}`)).attendance;
    drawTable();
  };
  const change = (button, action, personId) => act(button, errors, async () => {
    // the answer is the quorum as it stands after the change (M8)
    const q = await api(`/meetings/${encodeURIComponent(id)}/${action}`, { method: "POST", body: { person_id: personId } });
    showQuorum(quorum, q);
    lastPresent = q.present;
    await refreshTable();
    document.querySelector(`#presence tr[data-person="${CSS.escape(personId)}"] button`)?.focus();
  });

  function drawTable() {
    const rows = [...attendance].sort((a, b) => (names.get(a.person_id) || "").localeCompare(names.get(b.person_id) || ""));
    const block = dataTable({
      caption: t("live.presence"), filename: `presence-${id}.csv`, rows,
      columns: [
        { key: "person", label: t("col.person"), value: (a) => names.get(a.person_id) || "—" },
        { key: "status", label: t("col.presence"), value: (a) => label("presence", a.status),
          cell: (a) => h("span", { class: "presence-status", dataset: { status: a.status } }, label("presence", a.status)) },
        { key: "arrived", label: t("live.arrivedAt"), value: (a) => (a.arrived_at ? formatTime(a.arrived_at, tz) : "") },
        { key: "departed", label: t("live.departedAt"), value: (a) => (a.departed_at ? formatTime(a.departed_at, tz) : "") },
        { key: "opinions", label: t("col.written"), value: (a) => Object.values(a.written_opinions || {}).join("；") },
        ...(canRecord ? [{ key: "actions", label: t("common.actions"), value: () => "", cell: (a) => {
          const name = names.get(a.person_id) || "—";
          const action = a.status === "present" ? "departures" : "arrivals";
          const text = a.status === "present" ? t("live.depart") : t("live.arrive");
          const button = h("button", { type: "button", class: `secondary record-${action}`, "aria-label": t("live.actionFor", { action: text, name }) }, text);
          button.addEventListener("click", () => change(button, action, a.person_id));
          return button;
        } }] : []),
      ],
    });
    // each row names its member, so that a test (and a script) finds it
    block.querySelectorAll("tbody tr").forEach((tr, i) => { if (rows[i]) tr.dataset.person = rows[i].person_id; });
    tableSlot.replaceChildren(block);
  }

  drawTable();
  const presentNow = attendance.filter((a) => a.status === "present").length;
  showQuorum(quorum, { n: meeting.n, quorum: meeting.quorum, present: presentNow, met: presentNow >= meeting.quorum });
  refreshQuorum().then((q) => { lastPresent = q.present; }).catch((err) => errors.replaceChildren(errorBox(err)));
  const timer = setInterval(async () => {
    if (!isCurrent()) { clearInterval(timer); return; }
    if (document.hidden) return;
    try {
      const q = await refreshQuorum();
      if (!isCurrent()) return;
      // someone else recorded a change: the table follows
      if (lastPresent !== null && q.present !== lastPresent) await refreshTable();
      lastPresent = q.present;
    } catch { /* the next tick tries again */ }
  }, POLL_MS);

  return h("div", { class: "live-presence" },
    h("p", {}, t("meeting.opened", { when: formatTime(meeting.opened_at, tz) })),
    quorum, h("p", { class: "hint" }, t(canRecord ? "live.hintRecorder" : "live.hint")), errors, tableSlot);
}

// ------------------------------------------------------------------ M7 observers

/**
 * M7: the observers (列席) of the meeting, and for the secretary while the meeting is a draft (so
 * that the notice reaches them) the form to invite one of the bureau's staff, with the reason.
 */
export function observersSection(meeting, members, names, refresh) {
  const invited = new Set(meeting.observers.map((o) => o.person_id));
  const group = new Set(members.members.map((m) => m.person_id));
  const candidates = (members.staff || []).filter((s) => !group.has(s.person_id) && !invited.has(s.person_id))
    .filter((s, i, all) => all.findIndex((x) => x.person_id === s.person_id) === i);
  const expanded = meeting.kind === "expanded";
  const canInvite = session.hasRole("secretary") && meeting.status === "draft" && (candidates.length > 0 || expanded);
  if (!meeting.observers.length && !canInvite) return null;
  const sec = h("section", { "aria-labelledby": "observers-title", id: "observers" },
    h("h2", { id: "observers-title" }, t("observers.title")),
    h("p", { class: "hint" }, t(meeting.kind === "expanded" ? "observers.introExpanded" : "observers.intro")),
    dataTable({
      caption: t("observers.list"), filename: `observers-${meeting.meeting_id}.csv`, rows: meeting.observers,
      columns: [
        { key: "person", label: t("col.person"), value: (o) => names.get(o.person_id) || o.name || "—" },
        { key: "reason", label: t("observers.reason") },
        { key: "by", label: t("observers.invitedBy"), value: (o) => names.get(o.invited_by) || "—" },
      ],
      empty: t("observers.none"),
    }));
  if (canInvite && candidates.length) {
    const who = select("observer_person_id", candidates.map((s) => [s.person_id, `${s.name}（${label("role", s.role)}）`]),
      candidates[0].person_id);
    const reason = h("textarea", { name: "observer_reason", rows: 2, required: true, maxlength: 2000 });
    sec.append(form({
      id: "observer-form", title: t("observers.invite"), submitLabel: t("observers.inviteSubmit"),
      fields: [field(t("observers.person"), who), field(t("observers.reason"), reason)],
      onsubmit: async () => {
        await api(`/meetings/${meeting.meeting_id}/observers`, { method: "POST",
          body: { person_id: who.value, reason: reason.value.trim() } });
        refresh();
      },
    }));
  }
  if (canInvite && expanded) {
    // M7 扩大会议: someone the bureau has not registered, named here with their unit
    const name = h("input", { name: "outside_name", required: true, maxlength: 200 });
    const why = h("textarea", { name: "outside_reason", rows: 2, required: true, maxlength: 2000 });
    sec.append(form({
      id: "outside-observer-form", title: t("observers.outside"), submitLabel: t("observers.inviteSubmit"),
      fields: [field(t("observers.outsideName"), name, t("observers.outsideHint")), field(t("observers.reason"), why)],
      onsubmit: async () => {
        await api(`/meetings/${meeting.meeting_id}/observers`, { method: "POST",
          body: { name: name.value.trim(), reason: why.value.trim() } });
        refresh();
      },
    }));
  }
  return sec;
}

// ------------------------------------------------------------------ M5 receipts and objections

export const RECEIPT_READERS = ["secretary", "deputy_secretary", "office", "admin"];

/**
 * M5 proof of notice for the chair and the office: who was notified, who read and who
 * acknowledged the notice; and the objections raised against the meeting (from its history:
 * who and when; the meeting's view carries neither their text nor a disposition).
 */
export async function receiptsSection(meeting, names, tz) {
  const sec = h("section", { "aria-labelledby": "receipts-title", id: "receipts" },
    h("h2", { id: "receipts-title" }, t("receipts.title")));
  let receipts, history;
  try {
    [receipts, history] = await Promise.all([
      api(`/meetings/${encodeURIComponent(meeting.meeting_id)}/receipts`),
      api(`/meetings/${encodeURIComponent(meeting.meeting_id)}/history`).catch(() => ({ events: [] }))]);
  } catch (err) {
    sec.append(errorBox(err));
    return sec;
  }
  const items = receipts.items || [];
  const acknowledged = items.filter((r) => r.acknowledged_at);
  const waiting = items.filter((r) => !r.acknowledged_at);
  sec.append(h("p", { id: "receipts-summary", dataset: { acknowledged: acknowledged.length, notified: items.length } },
    t("receipts.summary", { ack: acknowledged.length, total: items.length })));
  if (waiting.length) {
    sec.append(h("p", { id: "receipts-waiting" }, t("receipts.waiting", {
      names: waiting.map((r) => names.get(r.person_id) || "—").join("、") })));
  }
  sec.append(dataTable({
    caption: t("receipts.list"), filename: `receipts-${meeting.meeting_id}.csv`, rows: items,
    columns: [
      { key: "person", label: t("col.person"), value: (r) => names.get(r.person_id) || "—" },
      { key: "notified", label: t("receipts.notifiedAt"), value: (r) => formatTime(r.notified_at, tz) },
      { key: "read", label: t("receipts.readAt"), value: (r) => (r.read_at ? formatTime(r.read_at, tz) : t("receipts.unread")) },
      { key: "ack", label: t("receipts.acknowledgedAt"),
        value: (r) => (r.acknowledged_at ? formatTime(r.acknowledged_at, tz) : t("receipts.notAcknowledged")),
        cell: (r) => h("span", { class: "receipt", dataset: { acknowledged: String(Boolean(r.acknowledged_at)) } },
          r.acknowledged_at ? formatTime(r.acknowledged_at, tz) : t("receipts.notAcknowledged")) },
      { key: "email", label: t("receipts.email"), value: (r) => (r.email ? label("receipts.mail", r.email.status) : t("receipts.noEmail")) },
    ],
    empty: t("receipts.none"),
  }));
  const objections = (history.events || []).filter((e) => e.action === "objection_raised");
  sec.append(h("h3", { id: "objections-title" }, t("objections.title")),
    objections.length
      ? h("ul", { id: "objections", "aria-labelledby": "objections-title" }, objections.map((e) => h("li", {},
        t("objections.item", { name: names.get(e.actor_person_id) || "—", when: formatTime(e.at, tz) }))))
      : h("p", { id: "objections" }, t("objections.none")),
    h("p", { class: "hint" }, t("objections.hint")));
  return sec;
}

// ------------------------------------------------------------------ M10 documents of the meeting

export const DOCUMENT_KINDS = ["summary", "document"];

/**
 * M10: after the meeting closes the office prepares a meeting summary or a document for its
 * scope; the secretary signs it off on the document's page, where it gets its number 〔year〕n号.
 */
export function documentsSection(meeting, members, navigate) {
  if (!["closed", "minutes_approved"].includes(meeting.status)) return null;
  const sec = h("section", { "aria-labelledby": "documents-title", id: "meeting-documents" },
    h("h2", { id: "documents-title" }, t("docs.meetingTitle")),
    h("p", {}, t("docs.meetingIntro"), " ", link("#/documents", t("docs.register"), { id: "documents-link" })));
  const prepared = recall(`documents.${meeting.meeting_id}`);
  if (prepared.length) {
    sec.append(h("h3", {}, t("docs.preparedHere")), h("ul", { id: "prepared-documents" }, prepared.map((d) =>
      h("li", {}, link(`#/document/${d.document_id}`, `${d.title} · ${label("dkind", d.kind)}`)))));
  }
  if (!session.hasRole("office")) return sec;
  const kind = select("kind", DOCUMENT_KINDS.map((k) => [k, label("dkind", k)]), "summary");
  const title = h("input", { name: "document_title", required: true, maxlength: 300 });
  const body = h("textarea", { name: "document_body", rows: 6, required: true, maxlength: 500000 });
  const people = [...members.members, ...(members.staff || [])]
    .filter((p, i, all) => all.findIndex((q) => q.person_id === p.person_id) === i);
  const boxes = people.map((p) => h("input", { type: "checkbox", name: "scope", value: p.person_id,
    checked: members.members.some((m) => m.person_id === p.person_id) }));
  const scopeErrors = h("div", { "aria-live": "assertive" });
  const scope = h("fieldset", { id: "scope-fields" }, h("legend", {}, t("docs.scope")),
    h("p", { class: "hint" }, t("docs.scopeHint")),
    h("div", { class: "choice-list" }, people.map((p, i) => h("label", { class: "choice" }, boxes[i],
      `${p.name}（${label("role", p.role)}）`))), scopeErrors);
  sec.append(form({
    id: "document-form", title: t("docs.issue"), submitLabel: t("docs.issueSubmit"),
    fields: [field(t("docs.kind"), kind), field(t("col.title"), title), field(t("docs.body"), body), scope],
    onsubmit: async () => {
      const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) {
        scopeErrors.replaceChildren(h("p", { class: "error", role: "alert" }, t("docs.scopeNeeded")));
        boxes[0]?.focus();
        return;
      }
      scopeErrors.replaceChildren();
      const doc = await api(`/meetings/${meeting.meeting_id}/documents`, { method: "POST",
        body: { kind: kind.value, title: title.value.trim(), body: body.value, scope: chosen } });
      remember(`documents.${meeting.meeting_id}`, { document_id: doc.document_id, title: doc.title, kind: doc.kind }, "document_id");
      navigate(`document/${doc.document_id}`);
    },
  }));
  return sec;
}
