// M10 documents: the register of an organization's numbered documents by year (〔year〕n号, in
// number order; each reader sees those within their scope), and one document's page where the
// secretary signs off a document awaiting it (asked first: it is then numbered and issued).
import { api, nameMap, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, confirmAction, dataTable, field, h, heading, link } from "../ui.js";
import { MEETING_ROLES } from "./meetings.js";

const SIGN_OFF_READERS = ["secretary", "office", "confidential_secretary"];

/** This year in the organization's zone. */
function thisYear(tz) {
  return Number(new Intl.DateTimeFormat("en", { timeZone: tz || "Asia/Shanghai", year: "numeric" }).format(new Date()));
}

export const documentsList = {
  route: "documents",
  nav: { label: "nav.documents", roles: MEETING_ROLES },
  async render(root, _params, { navigate }) {
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const org = session.actor.org_id;
    const organization = await api(`/organizations/${encodeURIComponent(org)}`).catch(() => null);
    const tz = organization?.timezone;
    const asked = Number(params.get("year"));
    const year = Number.isInteger(asked) && asked >= 1900 && asked <= 9999 ? asked : thisYear(tz);
    const [list, names] = await Promise.all([api("/documents", { query: { org_id: org, year } }), nameMap()]);
    root.append(heading(t("docs.title")), h("p", {}, t("docs.intro")));
    // M10: what the office prepared and the secretary has not signed off yet, oldest first
    if (session.hasRole(...SIGN_OFF_READERS)) {
      const pending = await api("/documents/awaiting-sign-off");
      root.append(h("section", { "aria-labelledby": "awaiting-title", id: "awaiting-list" },
        h("h2", { id: "awaiting-title" }, t("docs.awaitingTitle")),
        dataTable({
          caption: t("docs.awaitingTitle"), filename: "documents-awaiting-sign-off.csv", rows: pending.items || [],
          columns: [
            { key: "title", label: t("col.title"), value: (d) => d.title,
              cell: (d) => link(`#/document/${d.document_id}`, d.title, { class: "awaiting-link" }) },
            { key: "kind", label: t("col.kind"), value: (d) => label("dkind", d.kind) },
            { key: "prepared", label: t("docs.preparedBy"), value: (d) => t("docs.byAt", { name: names.get(d.prepared_by) || "—", when: formatTime(d.created_at, pending.timezone || tz) }) },
          ],
          empty: t("docs.awaitingNone"),
        })));
    }

    const yearInput = h("input", { type: "number", name: "year", min: 1900, max: 9999, required: true, value: year });
    const yearForm = h("form", { class: "row-form", id: "documents-year" }, field(t("docs.year"), yearInput),
      h("button", { type: "submit", class: "secondary" }, t("tasks.show")));
    yearForm.addEventListener("submit", (e) => { e.preventDefault(); navigate(`documents?year=${yearInput.value}`); });
    root.append(yearForm, dataTable({
      caption: t("docs.listCaption", { year }), filename: `documents-${year}.csv`, rows: list.items || [],
      columns: [
        { key: "number", label: t("docs.number"), value: (d) => d.document_number,
          cell: (d) => h("span", { class: "document-number" }, d.document_number) },
        { key: "title", label: t("col.title"), value: (d) => d.title,
          cell: (d) => link(`#/document/${d.document_id}`, d.title, { class: "document-link" }) },
        { key: "kind", label: t("col.kind"), value: (d) => label("dkind", d.kind) },
        { key: "signed", label: t("docs.signedOff"), value: (d) => t("docs.byAt", { name: names.get(d.signed_off_by) || "—", when: formatTime(d.signed_off_at, list.timezone || tz) }) },
      ],
      empty: t("docs.none", { year }),
    }));
  },
};

export const documentPage = {
  route: "document/:id",
  async render(root, { id }, { navigate }) {
    const org = session.actor.org_id;
    const [doc, names, organization] = await Promise.all([api(`/documents/${encodeURIComponent(id)}`), nameMap(),
      org ? api(`/organizations/${encodeURIComponent(org)}`).catch(() => null) : null]);
    const tz = organization?.timezone;
    const who = (pid) => names.get(pid) || "—";
    root.append(heading(`${label("dkind", doc.kind)} · ${doc.title}`),
      h("dl", { class: "facts card", id: "document-facts" },
        h("dt", {}, t("docs.number")), h("dd", { id: "document-number" }, doc.document_number || t("docs.noNumberYet")),
        h("dt", {}, t("col.status")), h("dd", { id: "document-status", dataset: { status: doc.status } }, label("dstatus", doc.status)),
        h("dt", {}, t("docs.kind")), h("dd", {}, label("dkind", doc.kind)),
        h("dt", {}, t("docs.preparedBy")), h("dd", {}, t("docs.byAt", { name: who(doc.prepared_by), when: formatTime(doc.created_at, tz) })),
        h("dt", {}, t("docs.signedOff")), h("dd", { id: "document-signed" },
          doc.signed_off_by ? t("docs.byAt", { name: who(doc.signed_off_by), when: formatTime(doc.signed_off_at, tz) }) : "—"),
        h("dt", {}, t("docs.scope")), h("dd", { id: "document-scope" }, (doc.scope || []).map(who).join("、")),
        h("dt", {}, t("meeting.title")), h("dd", {}, link(`#/meeting/${doc.meeting_id}`, t("inbox.goMeeting")))),
      h("section", { "aria-labelledby": "document-body-title" }, h("h2", { id: "document-body-title" }, t("docs.body")),
        h("div", { class: "document-body", id: "document-body" }, doc.body || "")),
      h("p", {}, link(`#/documents${doc.number_year ? `?year=${doc.number_year}` : ""}`, t("docs.register"), { id: "register-link" })));

    // M10: the secretary signs off what is issued in the group's name; offered only while awaiting it
    if (doc.status === "awaiting_sign_off") {
      if (session.hasRole("secretary")) {
        const button = h("button", { type: "button", id: "sign-off" }, t("docs.signOff"));
        const errors = h("div", { "aria-live": "assertive" });
        button.addEventListener("click", async () => {
          if (!await confirmAction(t("docs.signOffConfirm", { title: doc.title }), t("docs.signOff"))) return;
          act(button, errors, async () => {
            await api(`/documents/${encodeURIComponent(doc.document_id)}/sign-off`, { method: "POST" });
            navigate(`document/${doc.document_id}`);
          });
        });
        root.append(h("section", { "aria-labelledby": "sign-off-title" }, h("h2", { id: "sign-off-title" }, t("docs.signOff")),
          h("p", { class: "hint" }, t("docs.signOffHint")), button, errors));
      } else {
        root.append(h("p", { class: "notice", id: "awaiting-sign-off" }, t("docs.awaitingHint")));
      }
    }
  },
};
