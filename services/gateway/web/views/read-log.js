// The archive's read log (A3): who read, or tried to read, a confidential record, when and how —
// for the secretary and the discipline inspectors (the roles the archive lets read it).
import { api, nameMap } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { dataTable, h, heading, link } from "../ui.js";

export const READ_LOG_READERS = ["secretary", "discipline", "discipline_commission"];     // A3
const PAGE = 50;

export default {
  route: "read-log",
  async render(root, _params, { navigate }) {
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const offset = Math.max(0, Number(params.get("offset") || 0) || 0);
    const [log, names] = await Promise.all([api("/archive/read-log", { query: { limit: PAGE, offset } }), nameMap()]);
    const items = log.items || [];
    root.append(heading(t("readlog.title")), h("p", {}, t("readlog.intro")),
      h("p", { class: "actions" }, link("#/records", t("records.title"))),
      h("p", { id: "read-log-total", role: "status" }, t("readlog.total", { n: log.total ?? items.length })),
      dataTable({
        caption: t("readlog.title"), filename: "archive-read-log.csv", rows: items,
        columns: [
          { key: "at", label: t("common.time"), value: (r) => formatTime(r.at) },
          { key: "person", label: t("col.person"), value: (r) => names.get(r.person_id) || r.person_id },
          { key: "roles", label: t("readlog.roles"), value: (r) => (r.roles || []).map((x) => label("role", x)).join("、") },
          { key: "action", label: t("readlog.action"), value: (r) => label("readact", r.action) },
          { key: "granted", label: t("readlog.granted"), value: (r) => (r.granted ? t("readlog.yes") : t("readlog.no")),
            cell: (r) => h("span", { class: r.granted ? "granted" : "refused", dataset: { granted: String(r.granted) } },
              r.granted ? t("readlog.yes") : t("readlog.no")) },
          { key: "record", label: t("readlog.record"), value: () => t("readlog.open"),
            cell: (r) => (r.record_id ? link(`#/record/${r.record_id}`, t("readlog.open")) : "—") },
        ],
      }));
    const nav = h("p", { class: "actions" });
    if (offset > 0) nav.append(h("button", { type: "button", class: "secondary", onclick: () => navigate(`read-log?offset=${Math.max(0, offset - PAGE)}`) }, t("common.prev")));
    if (offset + items.length < (log.total ?? 0)) nav.append(h("button", { type: "button", class: "secondary", onclick: () => navigate(`read-log?offset=${offset + PAGE}`) }, t("common.next")));
    root.append(nav);
  },
};
