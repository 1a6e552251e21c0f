// M11 democratic life meeting (民主生活会, §四): its theme and steps in their order. Before it
// opens: opinions solicited, the plan reported to the organization department and the discipline
// commission, each member's own speaking outline; at it: the secretary speaks first, criticism,
// the secretary's summary; after it: the summary reported, rectification measures (each tracked to
// completion) and their public evaluation. Only the steps that the meeting's status and the
// reader's role allow are offered.
import { api, roster, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { field, form, h, heading, link, select } from "../ui.js";

const BEFORE = ["opinions_solicited", "reported_before", "outline"];
const DURING = ["speech", "criticism", "summary"];
const AFTER = ["summary_reported", "rectification", "evaluation"];
const REPORT_TO = ["org_department", "discipline_commission"];
const RECORDERS = ["secretary", "office", "confidential_secretary"];

export default {
  route: "meeting/:id/democratic-life",
  async render(root, { id }, { navigate }) {
    const refresh = () => navigate(`meeting/${id}/democratic-life`);
    const [meeting, dl, members] = await Promise.all([
      api(`/meetings/${encodeURIComponent(id)}`), api(`/meetings/${encodeURIComponent(id)}/democratic-life`),
      roster().catch(() => ({ members: [], staff: [] }))]);
    const tz = meeting.timezone;
    const names = new Map([...(members.staff || []), ...members.members].map((m) => [m.person_id, m.name]));
    const who = (pid) => names.get(pid) || "—";
    root.append(heading(`${t("dl.title")} · ${meeting.title}`));
    if (meeting.kind !== "democratic_life") {
      root.append(h("p", { class: "notice", id: "dl-not-applicable" }, t("dl.notDemocraticLife")),
        link(`#/meeting/${id}`, t("dl.backToMeeting")));
      return;
    }
    const steps = dl.steps || [];
    const done = (step) => steps.some((s) => s.step === step);
    const filed = new Set(steps.filter((s) => s.step === "outline").map((s) => s.person_id));
    const group = members.members;
    root.append(h("dl", { class: "facts card", id: "dl-facts" },
      h("dt", {}, t("dl.theme")), h("dd", { id: "dl-theme" }, dl.theme || "—"),
      h("dt", {}, t("meeting.status")), h("dd", { id: "dl-status", dataset: { status: meeting.status } }, label("status", meeting.status)),
      h("dt", {}, t("meeting.when")), h("dd", {}, `${formatTime(meeting.scheduled_at, tz)} (${tz})`),
      h("dt", {}, t("dl.outlines")), h("dd", { id: "dl-outlines" }, t("dl.outlinesFiled", { filed: filed.size, n: group.length }),
        group.some((m) => !filed.has(m.person_id))
          ? ` · ${t("dl.outlinesMissing", { names: group.filter((m) => !filed.has(m.person_id)).map((m) => m.name).join("、") })}` : ""),
      h("dt", {}, t("dl.rectification")), h("dd", { id: "dl-rectification" },
        t("dl.rectificationCount", { open: dl.rectification_open, done: dl.rectification_completed }))),
    h("p", {}, link(`#/meeting/${id}`, t("dl.backToMeeting"), { id: "dl-meeting-link" })));

    const me = session.actor.person_id;
    const recorder = session.hasRole(...RECORDERS);
    const secretary = session.hasRole("secretary") && group.some((m) => m.person_id === me && m.role === "secretary");
    const before = ["draft", "noticed"].includes(meeting.status);
    const during = meeting.status === "opened";
    const after = ["closed", "minutes_approved"].includes(meeting.status);
    const post = (body) => api(`/meetings/${encodeURIComponent(id)}/democratic-life`, { method: "POST", body });

    for (const [phase, kinds, open] of [["before", BEFORE, before], ["during", DURING, during], ["after", AFTER, after]]) {
      const sec = h("section", { "aria-labelledby": `dl-${phase}-title`, id: `dl-${phase}` },
        h("h2", { id: `dl-${phase}-title` }, t(`dl.phase.${phase}`)));
      const mine = steps.filter((s) => kinds.includes(s.step));
      sec.append(mine.length
        ? h("ol", { class: "dl-steps" }, mine.map((s) => stepItem(s, who, tz, refresh)))
        : h("p", {}, t("dl.noSteps")));
      if (open) {
        const forms = [];
        if (phase === "before") {
          if (recorder) forms.push(textStep("opinions_solicited", post, refresh), reportStep("reported_before", post, refresh));
          if (group.some((m) => m.person_id === me) && !filed.has(me)) forms.push(textStep("outline", post, refresh, { person_id: me }));
        } else if (phase === "during") {
          // the secretary speaks first (M11): until then only the secretary's speech is offered
          const speakers = done("speech") ? group : group.filter((m) => m.role === "secretary");
          if (recorder) forms.push(personStep("speech", speakers, post, refresh), criticismStep(group, post, refresh));
          if (secretary) forms.push(textStep("summary", post, refresh));
        } else {
          if (recorder && done("summary")) forms.push(reportStep("summary_reported", post, refresh));
          if (recorder) forms.push(textStep("rectification", post, refresh));
          if (recorder && done("rectification")) forms.push(textStep("evaluation", post, refresh));
        }
        sec.append(...forms);
        if (!forms.length) sec.append(h("p", { class: "hint" }, t("dl.nothingForYou")));
      } else {
        sec.append(h("p", { class: "hint" }, t(`dl.when.${phase}`)));
      }
      root.append(sec);
    }
  },
};

/** One recorded step: what, by whom and when; a rectification measure with its completion. */
function stepItem(s, who, tz, refresh) {
  const bits = [h("strong", {}, label("dlstep", s.step))];
  if (s.person_id) bits.push(" · ", who(s.person_id));
  if (s.data?.to) bits.push(" → ", who(s.data.to));
  if (s.data?.reported_to) bits.push(" · ", t("dl.reportedTo", { to: s.data.reported_to.map((x) => label("dlto", x)).join("、") }));
  const li = h("li", { class: "dl-step", dataset: { step: s.step } }, h("p", {}, bits),
    h("p", { class: "dl-text" }, s.text),
    h("p", { class: "hint" }, t("dl.recorded", { name: who(s.recorded_by), when: formatTime(s.recorded_at, tz) })));
  if (s.step === "rectification") {
    if (s.completed_at) {
      li.append(h("p", { class: "ok-banner measure-done" }, t("dl.completed", { when: formatTime(s.completed_at, tz), text: s.completion || "" })));
    } else {
      li.append(h("p", { class: "measure-open" }, t("dl.measureOpen")));
      if (session.hasRole("secretary", "office")) {
        const text = h("textarea", { name: "completion", rows: 2, required: true, maxlength: 20000 });
        li.append(form({
          id: `complete-${s.step_id}`, title: t("dl.complete"), headingLevel: "h4", submitLabel: t("dl.completeSubmit"),
          fields: [field(t("dl.completion"), text)],
          // a measure is completed once, for good: asked first
          confirm: () => t("dl.completeConfirm", { text: s.text }),
          onsubmit: async () => {
            await api(`/rectifications/${encodeURIComponent(s.step_id)}/completion`, { method: "POST", body: { text: text.value.trim() } });
            refresh();
          },
        }));
      }
    }
  }
  return li;
}

function textStep(step, post, refresh, extra = {}) {
  const text = h("textarea", { name: `${step}_text`, rows: 3, required: true, maxlength: 20000 });
  return form({
    id: `dl-form-${step}`, title: t(`dl.form.${step}`), submitLabel: t("dl.record"),
    fields: [h("p", { class: "hint" }, t(`dl.hint.${step}`)), field(t(`dl.text.${step}`), text)],
    onsubmit: async () => { await post({ step, text: text.value.trim(), ...extra }); refresh(); },
  });
}

/** M11: reported to both the organization department and the discipline commission. */
function reportStep(step, post, refresh) {
  const text = h("textarea", { name: `${step}_text`, rows: 2, required: true, maxlength: 20000 });
  const boxes = REPORT_TO.map((to) => h("input", { type: "checkbox", name: "reported_to", value: to, checked: true }));
  return form({
    id: `dl-form-${step}`, title: t(`dl.form.${step}`), submitLabel: t("dl.record"),
    fields: [h("p", { class: "hint" }, t(`dl.hint.${step}`)), field(t(`dl.text.${step}`), text),
      h("fieldset", {}, h("legend", {}, t("dl.reportedToLegend")),
        REPORT_TO.map((to, i) => h("label", { class: "choice" }, boxes[i], label("dlto", to))))],
    onsubmit: async () => {
      await post({ step, text: text.value.trim(), data: { reported_to: boxes.filter((b) => b.checked).map((b) => b.value) } });
      refresh();
    },
  });
}

function personStep(step, people, post, refresh) {
  const person = select(`${step}_person`, people.map((m) => [m.person_id, `${m.name}（${label("role", m.role)}）`]), people[0]?.person_id);
  const text = h("textarea", { name: `${step}_text`, rows: 3, required: true, maxlength: 20000 });
  return form({
    id: `dl-form-${step}`, title: t(`dl.form.${step}`), submitLabel: t("dl.record"),
    fields: [h("p", { class: "hint" }, t(`dl.hint.${step}`)), field(t("dl.speaker"), person), field(t(`dl.text.${step}`), text)],
    onsubmit: async () => { await post({ step, person_id: person.value, text: text.value.trim() }); refresh(); },
  });
}

function criticismStep(group, post, refresh) {
  const options = group.map((m) => [m.person_id, `${m.name}（${label("role", m.role)}）`]);
  const from = select("criticism_person", options, options[0]?.[0]);
  const to = select("criticism_to", options, options[1]?.[0]);
  const text = h("textarea", { name: "criticism_text", rows: 3, required: true, maxlength: 20000 });
  return form({
    id: "dl-form-criticism", title: t("dl.form.criticism"), submitLabel: t("dl.record"),
    fields: [h("p", { class: "hint" }, t("dl.hint.criticism")), field(t("dl.speaker"), from), field(t("dl.criticismTo"), to),
      field(t("dl.text.criticism"), text)],
    onsubmit: async () => {
      await post({ step: "criticism", person_id: from.value, text: text.value.trim(), data: { to: to.value } });
      refresh();
    },
  });
}
