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
    // keyset paging: the address keeps the cursors walked so far, so "newer" goes back one page
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    const trail = (params.get("trail") || "").split(".").filter(Boolean);
    const cursor = trail[trail.length - 1];
    const [log, names] = await Promise.all([api("/archive/read-log", { query: cursor ? { limit: PAGE, cursor } : { limit: PAGE } }), nameMap()]);
    const items = log.items || [];
    root.append(heading(t("readlog.title")), h("p", {}, t("readlog.intro")),
      h("p", { class: "actions" }, link("#/records", t("records.title"))),
      log.total === null || log.total === undefined ? null
        : h("p", { id: "read-log-total", role: "status" }, t("readlog.total", { n: log.total })),
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
    if (trail.length) {
      nav.append(h("button", { type: "button", class: "secondary", id: "read-log-newer", onclick: () => navigate(
        trail.length > 1 ? `read-log?trail=${trail.slice(0, -1).join(".")}` : "read-log") }, t("common.prev")));
    }
    if (log.next_cursor) {
      nav.append(h("button", { type: "button", class: "secondary", id: "read-log-earlier", onclick: () => navigate(
        `read-log?trail=${[...trail, log.next_cursor].join(".")}`) }, t("common.earlier")));
    }
    root.append(nav);
  },
};
