// One ballot: a group member present votes yes / no / abstain (with an optional reserved opinion);
// the chair closes it and sees the decision. A group member with a conflict of interest on the item
// declares it here before voting and is recused (回避, V4): no vote, not counted in the item's N.
import { api, nameMap, session } from "../api.js";
import { label, t } from "../i18n.js";
import { act, confirmAction, field, form, h, heading, link } from "../ui.js";

const CHAIRS = ["secretary", "deputy_secretary"];
const RECORDED_METHODS = ["oral", "show_of_hands"];

export default {
  route: "ballot/:id",
  async render(root, { id }, { navigate, isCurrent }) {
    const [ballot, names] = await Promise.all([api(`/ballots/${encodeURIComponent(id)}`), nameMap()]);
    const me = session.actor.person_id;
    const recused = ballot.recused || [];
    root.append(heading(`${t("ballot.title")} · ${ballot.title}`),
      h("dl", { class: "facts card", id: "ballot-facts", dataset: { ballot: ballot.ballot_id } },
        h("dt", {}, t("ballot.topic")), h("dd", {}, ballot.title, " · ", label("cat", ballot.category)),
        h("dt", {}, t("ballot.method")), h("dd", {}, label("method", ballot.method)),
        h("dt", {}, t("ballot.status")), h("dd", { id: "ballot-status", dataset: { status: ballot.status } }, label("status", ballot.status)),
        h("dt", {}, ""), h("dd", { id: "ballot-progress", "aria-live": "polite" },
          t("ballot.progress", { cast: ballot.votes_cast, present: ballot.present, n: ballot.n })),
        h("dt", {}, t("ballot.recused")), h("dd", { id: "ballot-recused" }, recusedText(recused, names)),
        h("dt", {}, t("meeting.title")), h("dd", {}, link(`#/meeting/${ballot.meeting_id}`, t("inbox.goMeeting"))),
        // V7: a reconsideration ballot names the decision it reconsiders and why
        ballot.reconsiders_decision_id ? [h("dt", {}, t("recon.ballot")), h("dd", { id: "ballot-reconsiders" },
          link(`#/decision/${ballot.reconsiders_decision_id}`, t("recon.ballotLink")), " · ", ballot.reconsideration_reason || "")] : null));

    // live: votes cast (never the choices) while the ballot is open and this page is shown
    if (ballot.status === "open") {
      const timer = setInterval(async () => {
        if (!isCurrent()) { clearInterval(timer); return; }
        try {
          const now = await api(`/ballots/${encodeURIComponent(id)}`);
          if (!isCurrent()) return;
          const progress = document.getElementById("ballot-progress");
          if (progress) progress.textContent = t("ballot.progress", { cast: now.votes_cast, present: now.present, n: now.n });
          if (now.status !== "open") { clearInterval(timer); navigate(`ballot/${id}`); }
        } catch { /* the next tick tries again */ }
      }, 4000);
    }
    if (ballot.status !== "open") {
      root.append(h("section", {}, h("p", {}, t("ballot.closed")),
        ballot.decision_id ? link(`#/decision/${ballot.decision_id}`, t("ballot.viewDecision"), { id: "decision-link" }) : null));
      return;
    }
    const votedKey = `pg.voted.${ballot.ballot_id}.${me}`;
    // V2: an oral or show-of-hands vote is recorded by the chair (or a confidential secretary),
    // member by member, instead of each member casting it here
    const recorded = RECORDED_METHODS.includes(ballot.method);
    // (once counts alone were recorded, per-person votes cannot be added: no form then)
    const recorder = recorded && !ballot.counts_recorded
      && (me === ballot.chair_person_id || session.hasRole("confidential_secretary"));
    if (recorder) root.append(recordForm(ballot, names, () => navigate(`ballot/${ballot.ballot_id}`)));
    if (ballot.counts_recorded) root.append(h("section", {}, h("p", { class: "notice", id: "counts-recorded", role: "status" }, t("recvote.countsDone"))));
    // V1: the roll says whether the caller voted (another browser or device included)
    if (ballot.you_voted || sessionStorage.getItem(votedKey)) {
      root.append(h("section", {}, h("p", { class: "ok-banner", role: "status", id: "vote-recorded" }, t("ballot.voted"))));
    } else if (recused.includes(me)) {
      root.append(h("section", {}, h("p", { class: "notice", id: "you-are-recused" }, t("ballot.youRecused"))));
    } else if ((ballot.eligible || []).includes(me)) {
      if (!recorded) root.append(voteForm(ballot, votedKey, () => navigate(`ballot/${ballot.ballot_id}`)));
      else if (!recorder) {
        root.append(h("section", {}, h("p", { class: "notice", id: "recorded-by-chair" },
          t("recvote.byChair", { method: label("method", ballot.method) }))));
      }
      root.append(conflictForm(ballot, () => navigate(`ballot/${ballot.ballot_id}`)));
    } else if (recorder) {
      // the confidential secretary records; not a voter
    } else {
      root.append(h("section", {}, h("p", { class: "notice" }, t("ballot.notEligible"))));
    }
    if (session.hasRole(...CHAIRS)) root.append(chairSection(ballot, navigate));
  },
};

/**
 * The chair closes the ballot (asked first: the result is final, V9). When the system finds a
 * serious disagreement on a major item (V5) it asks the chair to defer the vote or to confirm it
 * with a recorded reason: both are offered here, with the reason, so the chair is never stuck.
 */
function chairSection(ballot, navigate) {
  const button = h("button", { type: "button", id: "close-ballot" }, t("ballot.close"));
  const errors = h("div", { "aria-live": "assertive" });
  const reason = h("textarea", { name: "v5_reason", rows: 3, maxlength: 2000 });
  const defer = h("button", { type: "button", class: "secondary", id: "defer-ballot" }, t("ballot.defer"));
  const confirmClose = h("button", { type: "button", id: "confirm-close-ballot" }, t("ballot.confirmClose"));
  const v5errors = h("div", { "aria-live": "assertive" });
  const panel = h("div", { id: "v5-panel", class: "card", hidden: true },
    h("h3", {}, t("ballot.v5Title")), h("p", {}, t("ballot.v5Intro")),
    field(t("ballot.v5Reason"), reason), h("p", { class: "actions" }, defer, confirmClose), v5errors);
  const needReason = () => {
    if (reason.value.trim()) return true;
    reason.focus();
    v5errors.replaceChildren(h("p", { class: "error", role: "alert" }, t("ballot.v5NeedReason")));
    return false;
  };
  const closeWith = async (body) => {
    const decision = await api(`/ballots/${ballot.ballot_id}/close`, { method: "POST", body });
    navigate(`decision/${decision.decision_id || decision.decision?.decision_id}`);
  };
  button.addEventListener("click", async () => {
    if (!await confirmAction(t("ballot.closeConfirm", { cast: ballot.votes_cast, present: ballot.present }), t("ballot.close"))) return;
    await act(button, errors, async () => {
      try {
        await closeWith({});
      } catch (err) {
        if (err.rule === "V5" && err.field === "confirm_reason") {
          panel.hidden = false;
          reason.focus();
          return;
        }
        throw err;
      }
    });
  });
  defer.addEventListener("click", async () => {
    if (!needReason()) return;
    if (!await confirmAction(t("ballot.deferConfirm"), t("ballot.defer"))) return;
    act(defer, v5errors, async () => {
      // the ballot closes with the outcome "deferred" (a decision record saying so)
      const decision = await api(`/ballots/${ballot.ballot_id}/defer`, { method: "POST", body: { reason: reason.value.trim() } });
      navigate(`decision/${decision.decision_id || decision.decision?.decision_id}`);
    });
  });
  confirmClose.addEventListener("click", async () => {
    if (!needReason()) return;
    if (!await confirmAction(t("ballot.closeConfirm", { cast: ballot.votes_cast, present: ballot.present }), t("ballot.confirmClose"))) return;
    act(confirmClose, v5errors, () => closeWith({ confirm_reason: reason.value.trim() }));
  });
  return h("section", { "aria-label": t("ballot.close") }, button, errors, panel);
}

/**
 * V2: the recorder enters each present member's vote as given aloud or by hands; a member left at
 * "not recorded" is sent later (or casts nothing). V1 still holds for each: the server refuses a
 * member who is not present, is recused (V4) or has already voted, naming that member.
 */
function recordForm(ballot, names, refresh) {
  // the roll comes from the server: what another device recorded is not offered again
  const done = new Set(ballot.voted || []);
  const people = (ballot.eligible || []).filter((pid) => !done.has(pid));
  const section = h("section", { "aria-labelledby": "record-title", id: "record-votes" },
    h("h2", { id: "record-title" }, t("recvote.title")), h("p", { class: "hint" }, t("recvote.hint")));
  if (done.size) section.append(h("p", { id: "recorded-list" }, t("recvote.recorded", { names: [...done].map((pid) => names.get(pid) || "—").join("、") })));
  if (!people.length) { section.append(h("p", { id: "record-none" }, t("recvote.allRecorded"))); return section; }
  const rows = people.map((pid) => {
    const who = names.get(pid) || pid;
    const options = ["", "yes", "no", "abstain"].map((c) => h("label", { class: "choice" },
      h("input", { type: "radio", name: `vote-${pid}`, value: c, checked: c === "" }), c ? label("choice", c) : t("recvote.none")));
    return h("fieldset", { class: "recorded-vote", dataset: { person: pid } }, h("legend", {}, who), h("div", { class: "choice-list" }, options));
  });
  const el = form({
    id: "record-form", submitLabel: t("recvote.submit"), fields: rows,
    onsubmit: async (formEl) => {
      const choices = {};
      for (const pid of people) {
        const picked = formEl.querySelector(`input[name="vote-${CSS.escape(pid)}"]:checked`);
        if (picked && picked.value) choices[pid] = picked.value;
      }
      await api(`/ballots/${ballot.ballot_id}/recorded-votes`, { method: "POST", body: { choices } });
      refresh();
    },
  });
  section.append(el);
  // V2: or only the counts, while nobody's vote is in yet (they then stand for the whole ballot)
  if (!ballot.votes_cast) section.append(countsForm(ballot, refresh));
  return section;
}

function countsForm(ballot, refresh) {
  const inputs = Object.fromEntries(["yes", "no", "abstain"].map((c) => [c,
    h("input", { type: "number", name: `count-${c}`, min: 0, max: ballot.present, step: 1, required: true, value: "0", inputmode: "numeric" })]));
  const counts = () => Object.fromEntries(Object.entries(inputs).map(([c, input]) => [c, Number(input.value)]));
  return form({
    id: "counts-form", title: t("recvote.countsTitle"), submitLabel: t("recvote.countsSubmit"),
    fields: [h("p", { class: "hint" }, t("recvote.countsHint")),
      ...["yes", "no", "abstain"].map((c) => field(label("choice", c), inputs[c]))],
    confirm: () => t("recvote.countsConfirm", counts()),
    onsubmit: async () => {
      await api(`/ballots/${ballot.ballot_id}/recorded-votes`, { method: "POST", body: { counts: counts() } });
      refresh();
    },
  });
}

function voteForm(ballot, votedKey, refresh) {
  const choices = ["yes", "no", "abstain"].map((c) => h("li", {}, h("label", { class: "choice" },
    h("input", { type: "radio", name: "choice", value: c, required: true }), label("choice", c))));
  const reserved = h("textarea", { name: "reserved_opinion", rows: 3, maxlength: 2000 });
  const submit = h("button", { type: "submit", id: "cast-vote" }, t("ballot.vote"));
  const errors = h("div", { "aria-live": "assertive" });
  const form = h("form", { id: "vote-form" },
    h("fieldset", {}, h("legend", {}, t("ballot.choice")), h("ul", { class: "choice-list" }, choices)),
    field(t("ballot.reserved"), reserved), submit, errors);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(submit, errors, async () => {
      const picked = form.querySelector("input[name=choice]:checked");
      const body = { choice: picked ? picked.value : "" };
      if (reserved.value.trim()) body.reserved_opinion = reserved.value.trim();
      await api(`/ballots/${ballot.ballot_id}/votes`, { method: "POST", body });
      sessionStorage.setItem(votedKey, "1");
      refresh();
    });
  });
  return h("section", { "aria-labelledby": "vote-title" }, h("h2", { id: "vote-title" }, t("ballot.choice")), form);
}

/** Who was recused (V4), by name; "none" when nobody was. */
export function recusedText(recused, names) {
  return recused.length ? recused.map((pid) => names.get(pid) || "—").join("、") : t("common.none");
}

/** V4 回避: declare a conflict of interest on this item, before voting (asked first: it cannot be undone). */
function conflictForm(ballot, refresh) {
  const reason = h("textarea", { name: "reason", required: true, rows: 2, maxlength: 2000 });
  return form({
    id: "conflict-form", title: t("ballot.conflict"), headingLevel: "h2", submitLabel: t("ballot.conflictSubmit"),
    fields: [h("p", { class: "hint" }, t("ballot.conflictHint")), field(t("ballot.conflictReason"), reason)],
    confirm: () => t("ballot.conflictConfirm", { title: ballot.title }),
    onsubmit: async () => {
      await api("/conflicts-of-interest", { method: "POST", body: {
        meeting_id: ballot.meeting_id, topic_id: ballot.agenda_item_id, reason: reason.value.trim() } });
      refresh();
    },
  });
}
