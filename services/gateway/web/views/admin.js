// Administration (§2, M1, issue 17): the administrator creates organizations, registers persons,
// appoints them and ends terms (a date and a reason; a successor is appointed from the next day),
// sends a person holding a role a one-time enrolment code (it goes to the person, never to this
// page), reads the account audit log, and manages an organization's API tokens and webhooks (N2).
// Organizations and people are picked from lists, never typed in by identifier.
import { api } from "../api.js";
import { formatTime, getLang, label, t } from "../i18n.js";
import { dataTable, field, form, h, heading, liveStatus, select } from "../ui.js";
import { integrationSections } from "./integrations.js";

const ROLES = ["secretary", "deputy_secretary", "member", "office", "hr", "confidential_secretary", "observer",
  "discipline", "org_department", "discipline_commission"];
const GROUP = ["secretary", "deputy_secretary", "member"];
const END_REASONS = ["term_expired", "removal", "transfer", "resignation", "retirement", "death", "other"];
const ZONES = ["Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "UTC"];

export default {
  route: "admin",
  nav: { label: "nav.admin", roles: ["admin"] },
  async render(root, _params, { navigate }) {
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const [orgs, persons] = await Promise.all([api("/organizations"), api("/persons")]);
    const organizations = orgs.items || [];
    const people = persons.items || [];
    const wanted = params.get("org");
    const org = organizations.find((o) => o.org_id === wanted) || organizations[0] || null;
    const go = (orgId) => navigate(orgId ? `admin?org=${encodeURIComponent(orgId)}` : "admin");
    const refresh = () => go(org?.org_id);
    const names = new Map(people.map((p) => [p.person_id, p.name]));
    const orgNames = new Map(organizations.map((o) => [o.org_id, o.name]));

    root.append(heading(t("admin.title")), h("p", {}, t("admin.intro")));
    root.append(organizationsSection(organizations, org, go), personsSection(people, refresh));
    let audit = await auditSection(names, orgNames, organizations);
    // the audit log shows a code just sent at once (issued, delivered), without leaving the page
    const reloadAudit = async () => {
      const fresh = await auditSection(names, orgNames, organizations);
      audit.replaceWith(fresh);
      audit = fresh;
    };
    if (org) {
      const terms = (await api("/appointments", { query: { org_id: org.org_id } })).items || [];
      root.append(h("h2", { class: "org-heading", id: "org-work-title" }, t("admin.orgWork", { name: org.name })),
        termsSection(org, terms, people, names, refresh), enrolSection(org, terms, names, reloadAudit));
      root.append(...await integrationSections(org.org_id, org.timezone, refresh));
    }
    root.append(audit);
  },
};

function organizationsSection(organizations, current, go) {
  const sec = h("section", { "aria-labelledby": "orgs-title", id: "organizations" }, h("h2", { id: "orgs-title" }, t("admin.orgs")));
  sec.append(dataTable({
    caption: t("admin.orgs"), filename: "organizations.csv", rows: organizations,
    columns: [
      { key: "name", label: t("admin.orgName") },
      { key: "timezone", label: t("admin.timezone") },
    ],
  }));
  if (organizations.length) {
    const choice = select("org", organizations.map((o) => [o.org_id, o.name]), current?.org_id);
    const pick = h("form", { class: "row-form", id: "org-pick" }, field(t("admin.pickOrg"), choice),
      h("button", { type: "submit", class: "secondary" }, t("admin.pickSubmit")));
    pick.addEventListener("submit", (e) => { e.preventDefault(); go(choice.value); });
    sec.append(pick);
  }
  const name = h("input", { name: "org_name", required: true, maxlength: 200 });
  const zone = select("timezone", ZONES.map((z) => [z, z]), "Asia/Shanghai");
  sec.append(form({
    id: "org-form", title: t("admin.createOrg"), submitLabel: t("admin.createOrgSubmit"),
    fields: [field(t("admin.orgName"), name), field(t("admin.timezone"), zone)],
    onsubmit: async () => {
      const made = await api("/organizations", { method: "POST", body: { name: name.value.trim(), timezone: zone.value } });
      go(made.org_id);
    },
  }));
  return sec;
}

function personsSection(people, refresh) {
  const sec = h("section", { "aria-labelledby": "persons-title", id: "persons" }, h("h2", { id: "persons-title" }, t("admin.persons")));
  const name = h("input", { name: "person_name", required: true, maxlength: 200 });
  sec.append(form({
    id: "person-form", title: t("admin.register"), submitLabel: t("admin.registerSubmit"),
    fields: [field(t("admin.personName"), name, t("admin.personHint"))],
    onsubmit: async () => {
      await api("/persons", { method: "POST", body: { name: name.value.trim() } });
      refresh();
    },
  }));
  sec.append(h("details", { id: "person-list" }, h("summary", {}, t("admin.personCount", { n: people.length })),
    h("ul", { class: "people" }, people.map((p) => h("li", {}, p.name)))));
  return sec;
}

/** Terms (§二, M1): every term, ended ones too; appoint; end one with a day and a reason. */
function termsSection(org, terms, people, names, refresh) {
  const sec = h("section", { "aria-labelledby": "terms-title", id: "terms" }, h("h2", { id: "terms-title" }, t("admin.terms")));
  const today = new Date().toISOString().slice(0, 10);
  sec.append(dataTable({
    caption: t("admin.termsOf", { name: org.name }), filename: "terms.csv", rows: terms,
    columns: [
      { key: "person", label: t("col.person"), value: (a) => names.get(a.person_id) || "—" },
      { key: "role", label: t("admin.role"), value: (a) => label("role", a.role) },
      { key: "start", label: t("admin.start"), value: (a) => a.start_date },
      { key: "end", label: t("admin.end"), value: (a) => a.end_date },
      { key: "reason", label: t("admin.endReason"), value: (a) => (a.end_reason ? label("endReason", a.end_reason) : "") },
      { key: "division", label: t("admin.division"), value: (a) => a.division_of_work },
    ],
    empty: t("admin.noTerms"),
  }));

  const person = select("person_id", people.map((p) => [p.person_id, p.name]), people[people.length - 1]?.person_id);
  const role = select("role", ROLES.map((r) => [r, label("role", r)]), "member");
  const start = h("input", { type: "date", name: "start_date", required: true, value: today });
  const end = h("input", { type: "date", name: "end_date" });
  const division = h("input", { name: "division_of_work", maxlength: 2000 });
  sec.append(form({
    id: "appoint-form", title: t("admin.appoint"), submitLabel: t("admin.appointSubmit"),
    fields: [field(t("col.person"), person), field(t("admin.role"), role), field(t("admin.start"), start),
      field(t("admin.end"), end, t("admin.endHint")), field(t("admin.division"), division)],
    onsubmit: async () => {
      const body = { org_id: org.org_id, person_id: person.value, role: role.value, start_date: start.value };
      if (end.value) body.end_date = end.value;
      if (division.value.trim()) body.division_of_work = division.value.trim();
      await api("/appointments", { method: "POST", body });
      refresh();
    },
  }));

  const open = terms.filter((a) => !a.end_reason);
  if (open.length) {
    const term = select("appointment_id", open.map((a) => [a.appointment_id,
      t("admin.termLabel", { name: names.get(a.person_id) || "—", role: label("role", a.role), start: a.start_date })]), open[0].appointment_id);
    const endDate = h("input", { type: "date", name: "end_date", required: true, value: today });
    const reason = select("reason", END_REASONS.map((r) => [r, label("endReason", r)]), "transfer");
    sec.append(form({
      id: "end-term-form", title: t("admin.endTerm"), submitLabel: t("admin.endTermSubmit"),
      fields: [h("p", { class: "hint" }, t("admin.endTermHint")), field(t("admin.term"), term),
        field(t("admin.endDate"), endDate), field(t("admin.endReason"), reason)],
      confirm: () => t("admin.endTermConfirm", { term: term.selectedOptions[0]?.textContent || "", date: endDate.value,
        reason: label("endReason", reason.value) }),
      onsubmit: async () => {
        await api(`/appointments/${encodeURIComponent(term.value)}/end`, { method: "POST",
          body: { end_date: endDate.value, reason: reason.value } });
        refresh();
      },
    }));
  }
  return sec;
}

/** Issue 17: a person holding a role binds their account with a one-time code sent to them. */
function enrolSection(org, terms, names, onSent) {
  const sec = h("section", { "aria-labelledby": "enrol-title", id: "enrolment" },
    h("h2", { id: "enrol-title" }, t("admin.enrol")), h("p", { class: "hint" }, t("admin.enrolIntro")));
  const holders = [...new Map(terms.filter((a) => !a.end_reason).map((a) => [a.person_id, a])).values()];
  if (!holders.length) { sec.append(h("p", {}, t("admin.noHolders"))); return sec; }
  const person = select("person_id", holders.map((a) => [a.person_id, `${names.get(a.person_id) || "—"}（${label("role", a.role)}）`]),
    holders[holders.length - 1].person_id);
  const sent = liveStatus("enrol-sent");
  sec.append(form({
    id: "enrol-form", submitLabel: t("admin.enrolSubmit"),
    fields: [field(t("col.person"), person)],
    onsubmit: async () => {
      const r = await api("/enrolments", { method: "POST", body: { person_id: person.value, org_id: org.org_id } });
      const channels = r.channels.map((c) => label("channel", c)).join(getLang() === "en" ? ", " : "、");
      sent.textContent = t("admin.enrolSent", { name: names.get(r.person_id) || "—", channels,
        when: formatTime(r.expires_at, org.timezone) });
      await onSent();
    },
  }), sent);
  return sec;
}

/** Issue 17: who created which account, issued which code to whom, where it went, when it was used. */
async function auditSection(names, orgNames, organizations) {
  const zones = new Map(organizations.map((o) => [o.org_id, o.timezone]));
  const sec = h("section", { "aria-labelledby": "audit-title", id: "account-audit" }, h("h2", { id: "audit-title" }, t("admin.audit")));
  const items = (await api("/account-audit", { query: { limit: 100 } })).items || [];
  const who = (v) => names.get(v) || (v === "demo seed" ? t("admin.seed") : t("admin.anAccount"));
  const detail = (e) => {
    const d = e.detail || {};
    if (Array.isArray(d.channels)) return t("admin.toChannels", { channels: d.channels.map((c) => label("channel", c)).join("、") });
    if (d.username) return t("admin.username", { username: d.username });
    return "";
  };
  sec.append(dataTable({
    caption: t("admin.audit"), filename: "account-audit.csv", rows: items,
    columns: [
      { key: "at", label: t("common.time"), value: (e) => formatTime(e.at, zones.get(e.org_id)) },
      { key: "action", label: t("admin.action"), value: (e) => label("audit", e.action) },
      { key: "actor", label: t("admin.actor"), value: (e) => who(e.actor) },
      { key: "person", label: t("col.person"), value: (e) => (e.person_id ? names.get(e.person_id) || "—" : "") },
      { key: "org", label: t("admin.org"), value: (e) => (e.org_id ? orgNames.get(e.org_id) || "—" : "") },
      { key: "detail", label: t("common.note"), value: detail },
    ],
  }));
  return sec;
}
