// The caller's lifetime responsibility record (C2): every decision they are linked to.
import { api, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { dataTable, h, heading, link } from "../ui.js";

export default {
  route: "my-record",
  nav: { label: "nav.myRecord" },
  async render(root) {
    const person = session.actor.person_id;
    const rec = await api(`/persons/${encodeURIComponent(person)}/record`, { query: { limit: 200 } });
    root.append(heading(t("record.title")), h("p", {}, t("record.intro")),
      dataTable({
        caption: t("record.title"), filename: `record-${person}.csv`, rows: rec.items,
        columns: [
          { key: "decided", label: t("col.decidedAt"), value: (r) => formatTime(r.decided_at) },
          { key: "title", label: t("col.title"), value: (r) => r.title, cell: (r) => link(`#/decision/${r.decision_id}`, r.title) },
          { key: "category", label: t("col.category"), value: (r) => label("cat", r.category) },
          { key: "outcome", label: t("col.outcome"), value: (r) => label("outcome", r.outcome) },
          { key: "presence", label: t("col.presence"), value: (r) => label("presence", r.presence) },
          { key: "stance", label: t("col.stance"), value: (r) => (r.presence === "present" ? label("choice", r.stance) : "—") },
          { key: "reserved", label: t("col.reserved"), value: (r) => r.reserved_opinion },
          { key: "written", label: t("col.written"), value: (r) => r.written_opinion },
        ],
      }));
  },
};
