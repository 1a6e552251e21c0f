// Search (issue 19): the organization's meetings, topics and decisions whose title contains a text,
// newest first, each leading to its page.
import { api } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { dataTable, field, h, heading, link } from "../ui.js";

const READERS = ["secretary", "deputy_secretary", "member", "office", "hr", "confidential_secretary", "discipline",
  "observer", "org_department", "discipline_commission"];

export default {
  route: "search",
  nav: { label: "nav.search", roles: READERS, last: true },
  async render(root, _params, { navigate }) {
    const q = (new URLSearchParams(location.hash.split("?")[1] || "").get("q") || "").trim();
    const input = h("input", { type: "search", name: "q", value: q, maxlength: 100, required: true, id: "search-q" });
    const form = h("form", { id: "search-form", role: "search", "aria-label": t("search.title") },
      field(t("search.label"), input, t("search.hint")), h("button", { type: "submit" }, t("search.submit")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (text) navigate(`search?q=${encodeURIComponent(text)}`);
    });
    root.append(heading(t("search.title")), form);
    if (!q) return;
    const found = await api("/search", { query: { q } });
    const total = found.meetings.length + found.topics.length + found.decisions.length;
    root.append(h("p", { id: "search-summary", role: "status" }, t(total ? "search.found" : "search.none", { q, n: total })));
    const part = (id, title, rows, columns) => h("section", { "aria-labelledby": `${id}-title`, id },
      h("h2", { id: `${id}-title` }, `${title} (${rows.length})`),
      dataTable({ caption: title, filename: `${id}.csv`, rows, columns, empty: t("search.noneOfKind") }));
    root.append(
      part("search-meetings", t("search.meetings"), found.meetings, [
        { key: "title", label: t("col.title"), value: (m) => m.title, cell: (m) => link(`#/meeting/${m.meeting_id}`, m.title) },
        { key: "kind", label: t("col.kind"), value: (m) => label("kind", m.kind) },
        { key: "status", label: t("col.status"), value: (m) => label("status", m.status) },
        { key: "when", label: t("search.when"), value: (m) => formatTime(m.scheduled_at) },
      ]),
      part("search-topics", t("search.topics"), found.topics, [
        { key: "title", label: t("col.title"), value: (tp) => tp.title,
          cell: (tp) => (tp.meeting_id ? link(`#/meeting/${tp.meeting_id}`, tp.title) : h("span", {}, tp.title)) },
        { key: "category", label: t("search.category"), value: (tp) => label("cat", tp.category) },
        { key: "status", label: t("col.status"), value: (tp) => label("tpstatus", tp.status) },
      ]),
      part("search-decisions", t("search.decisions"), found.decisions, [
        { key: "title", label: t("col.title"), value: (d) => d.title, cell: (d) => link(`#/decision/${d.decision_id}`, d.title) },
        { key: "outcome", label: t("search.outcome"), value: (d) => label("outcome", d.outcome) },
        { key: "when", label: t("search.decidedAt"), value: (d) => formatTime(d.decided_at) },
      ]));
  },
};
