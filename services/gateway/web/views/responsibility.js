// Who answers for a decision (C1): every group member with presence, stance and opinions.
import { api, nameMap } from "../api.js";
import { label, t } from "../i18n.js";
import { dataTable, h, heading, link } from "../ui.js";

export default {
  route: "decision/:id/responsibility",
  async render(root, { id }) {
    const [resp, names] = await Promise.all([api(`/decisions/${encodeURIComponent(id)}/responsibility`), nameMap()]);
    const d = resp.decision || {};
    root.append(heading(`${t("resp.title")} · ${d.title || id}`),
      h("p", { class: "actions" }, link(`#/decision/${id}`, t("decision.title")), link(`#/decision/${id}/timeline`, t("decision.timeline"))),
      dataTable({
        caption: t("resp.title"), filename: `responsibility-${id}.csv`, rows: resp.links || [],
        columns: [
          { key: "person", label: t("col.person"), value: (l) => names.get(l.person_id) || l.person_id },
          { key: "presence", label: t("col.presence"), value: (l) => label("presence", l.presence) },
          { key: "stance", label: t("col.stance"), value: (l) => (l.voted || l.stance ? label("choice", l.stance) : "—") },
          { key: "participant", label: t("resp.participant"), value: (l) => (l.participant ? t("common.yes") : t("common.no")) },
          { key: "reserved", label: t("col.reserved"), value: (l) => l.reserved_opinion },
          { key: "written", label: t("col.written"), value: (l) => l.written_opinion },
          { key: "proposal", label: t("resp.proposal"), value: (l) => l.proposed_if_major_error
            ? `${label("proposal", l.proposed_if_major_error.proposal)} (${l.proposed_if_major_error.rule})` : "—" },
        ],
      }));
  },
};
