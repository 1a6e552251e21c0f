// Duties and reports owed (C6): the secretary's duty report and each member's assessment (one
// person's), the annual comprehensive report and special reports (the group's), each with a due
// date; who may create one creates it here, and a report is filed by its person, the secretary
// or the office with a reference to the document in the archive.
import { api, roster, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { dataTable, field, form, h, heading, liveStatus, select } from "../ui.js";

const READERS = ["secretary", "deputy_secretary", "member", "office", "discipline", "org_department", "discipline_commission"];
const CREATORS = ["secretary", "office", "org_department"];          // C6
const FILERS = ["secretary", "office"];                              // C6: besides the duty's own person
const KINDS = ["secretary_duty_report", "member_assessment", "annual_comprehensive_report", "special_report"];
const PERSONAL = ["secretary_duty_report", "member_assessment"];
const STATUSES = ["due", "overdue", "filed"];

export default {
  route: "duties",
  nav: { label: "nav.duties", roles: READERS, last: true },
  async render(root, _params, { navigate }) {
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
    const [duties, people] = await Promise.all([
      api("/duties", { query: { status: status || undefined } }),
      roster().catch(() => ({ members: [], staff: [] })),
    ]);
    const names = new Map([...(people.staff || []), ...people.members].map((m) => [m.person_id, m.name]));
    const who = (pid) => (pid ? names.get(pid) || "—" : t("duties.group"));
    const me = session.actor?.person_id;
    const done = liveStatus("duty-status-message");
    done.textContent = sessionStorage.getItem("pg.flash") || "";
    sessionStorage.removeItem("pg.flash");

    root.append(heading(t("duties.title")), h("p", {}, t("duties.intro")), done);
    const filter = select("status", [["", t("duties.all")], ...STATUSES.map((s) => [s, label("dutystatus", s)])], status);
    const filterForm = h("form", { class: "row-form", id: "duty-filter" }, field(t("duties.filter"), filter),
      h("button", { type: "submit", class: "secondary" }, t("tasks.show")));
    filterForm.addEventListener("submit", (e) => { e.preventDefault(); navigate(filter.value ? `duties?status=${filter.value}` : "duties"); });
    root.append(filterForm);

    const items = duties.items || [];
    root.append(dataTable({
      caption: t("duties.title"), filename: "duties.csv", rows: items,
      columns: [
        { key: "kind", label: t("duties.kind"), value: (d) => label("duty", d.kind) },
        { key: "person", label: t("duties.person"), value: (d) => who(d.person_id) },
        { key: "year", label: t("duties.year"), value: (d) => d.year },
        { key: "due", label: t("duties.due"), value: (d) => d.due_date },
        { key: "status", label: t("duties.status"), value: (d) => label("dutystatus", d.status),
          cell: (d) => h("span", { class: `badge-status duty-${d.status}`, dataset: { status: d.status } }, label("dutystatus", d.status)) },
        { key: "filed", label: t("duties.filed"), value: (d) => (d.filed_at
          ? t("duties.filedBy", { when: formatTime(d.filed_at), name: who(d.filed_by), ref: d.document_ref }) : "") },
      ],
    }));

    // C6: a report is filed by its own person, or by the secretary or the office; only the
    // unfiled reports this user may file are offered
    const fileable = items.filter((d) => d.status !== "filed" && (d.person_id === me || session.hasRole(...FILERS)));
    if (fileable.length) root.append(fileForm(fileable, who, navigate));
    if (session.hasRole(...CREATORS)) root.append(createForm(people, navigate));
  },
};

function describe(d, who) {
  return `${label("duty", d.kind)} · ${who(d.person_id)} · ${d.year} · ${t("duties.dueOn", { date: d.due_date })}`;
}

function fileForm(fileable, who, navigate) {
  const duty = select("duty_id", fileable.map((d) => [d.duty_id, describe(d, who)]), fileable[0].duty_id);
  const ref = h("input", { name: "document_ref", required: true, maxlength: 300 });
  return h("section", { "aria-labelledby": "file-duty-form-title" }, form({
    id: "file-duty-form", title: t("duties.file"), headingLevel: "h2", submitLabel: t("duties.fileSubmit"),
    fields: [field(t("duties.which"), duty), field(t("duties.documentRef"), ref, t("duties.documentRefHint"))],
    onsubmit: async () => {
      const filed = await api(`/duties/${encodeURIComponent(duty.value)}/filing`, { method: "POST",
        body: { document_ref: ref.value.trim() } });
      sessionStorage.setItem("pg.flash", t("duties.filedFlash", { kind: label("duty", filed.kind) }));
      navigate("duties");
    },
  }));
}

function createForm(people, navigate) {
  const kind = select("kind", KINDS.map((k) => [k, label("duty", k)]), "annual_comprehensive_report");
  const group = people.members || [];
  const person = select("person_id", group.map((m) => [m.person_id, `${m.name}（${label("role", m.role)}）`]), group[0]?.person_id);
  const personField = field(t("duties.person"), person, t("duties.personHint"));
  const year = h("input", { type: "number", name: "year", required: true, min: 1949, max: 2200, step: 1,
    value: new Date().getFullYear() });
  const due = h("input", { type: "date", name: "due_date", required: true,
    value: new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10) });
  // a personal duty (the secretary's report, a member's assessment) names its person; the group's does not
  const update = () => {
    const personal = PERSONAL.includes(kind.value);
    personField.hidden = !personal;
    person.disabled = !personal;
    if (kind.value === "secretary_duty_report") {
      const secretary = group.find((m) => m.role === "secretary");
      if (secretary) person.value = secretary.person_id;
    }
  };
  kind.addEventListener("change", update);
  update();
  return h("section", { "aria-labelledby": "create-duty-form-title" }, form({
    id: "create-duty-form", title: t("duties.create"), headingLevel: "h2", submitLabel: t("duties.createSubmit"),
    fields: [field(t("duties.kind"), kind), personField, field(t("duties.year"), year), field(t("duties.due"), due)],
    onsubmit: async () => {
      const body = { kind: kind.value, year: Number(year.value), due_date: due.value };
      if (!person.disabled) body.person_id = person.value;
      const duty = await api("/duties", { method: "POST", body });
      sessionStorage.setItem("pg.flash", t("duties.createdFlash", { kind: label("duty", duty.kind), date: duty.due_date }));
      navigate("duties");
    },
  }));
}
