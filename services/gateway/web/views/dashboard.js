// One organization at a glance, drawn as inline SVG: meetings per month over the last
// twelve months (M2: a month without a meeting shows red), implementation tasks by
// red/yellow/green status (C5), and open compliance alerts (C7). Cross-organization
// readers pick the organization (#/dashboard?org=ID). A panel the caller's role may
// not read says so instead of failing the page.
import { api, session } from "../api.js";
import { getLang } from "../i18n.js";
import { errorBox, h, heading } from "../ui.js";

const CROSS_ORG = ["org_department", "discipline_commission"];
const MONTHS = 12;
const STATUS_COLORS = { red: "#c62828", yellow: "#f9a825", green: "#2e7d32" };

const TEXT = {
  "zh-CN": {
    nav: "概览", title: "组织概览", org: "组织", show: "查看", meetings: "每月党组会议（近 12 个月）",
    meetingsDesc: "每月会议次数；无会议的月份以红色标出（M2）。", tasks: "决策落实情况",
    tasksDesc: "按红、黄、绿状态统计的落实任务数（C5）。", alerts: "未处理的合规提醒", month: "月份", count: "次数",
    noRole: "您的角色无权查看此项。", red: "红", yellow: "黄", green: "绿", closed: "已办结",
  },
  en: {
    nav: "Dashboard", title: "Organization dashboard", org: "Organization", show: "Show",
    meetings: "Party group meetings per month (last 12 months)",
    meetingsDesc: "Meetings held each month; a month without one is drawn red (M2).", tasks: "Implementation status",
    tasksDesc: "Implementation tasks by red, yellow and green status (C5).", alerts: "Open compliance alerts",
    month: "Month", count: "Count", noRole: "Your role may not read this.", red: "red", yellow: "yellow",
    green: "green", closed: "closed",
  },
};
const tr = (key) => (TEXT[getLang()] || TEXT["zh-CN"])[key];

export default {
  route: "dashboard",
  nav: {
    get label() { return tr("nav"); },
    roles: ["secretary", "deputy_secretary", "member", "office", "discipline", ...CROSS_ORG],
  },
  async render(root, _params, { navigate }) {
    const own = session.actor?.org_id || "";
    const asked = new URLSearchParams(location.hash.split("?")[1] || "").get("org");
    const orgId = (session.hasRole(...CROSS_ORG) && asked) || own;
    root.append(heading(tr("title")));
    if (session.hasRole(...CROSS_ORG)) root.append(orgPicker(orgId, navigate));

    const months = lastMonths(new Date(), MONTHS);
    const query = { org_id: orgId || undefined };
    const [meetings, tasks, alerts] = await Promise.all([
      api("/meetings", { query: { ...query, from: `${months[0]}-01`, to: nextMonthStart(months[MONTHS - 1]) } }),
      api("/tasks", { query }),
      api("/alerts", { query }),
    ].map((p) => p.catch((err) => err)));

    const grid = h("div", { class: "grid dashboard" });
    grid.append(
      panel("dash-meetings", tr("meetings"), meetings, (data) => meetingsChart(months, data.items || [])),
      panel("dash-tasks", tr("tasks"), tasks, (data) => tasksChart(data.items || [])),
      panel("dash-alerts", tr("alerts"), alerts, (data) => alertsFigure((data.items || []).length)),
    );
    root.append(grid);
  },
};

function orgPicker(orgId, navigate) {
  const input = h("input", { name: "org", value: orgId, maxlength: 64, required: true, "aria-label": tr("org") });
  const form = h("form", { class: "actions", id: "dashboard-org" }, h("label", {}, tr("org"), " ", input),
    h("button", { type: "submit", class: "secondary" }, tr("show")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    navigate(`dashboard?org=${encodeURIComponent(input.value.trim())}`);
  });
  return form;
}

function panel(id, title, result, draw) {
  const section = h("section", { id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title));
  if (result instanceof Error) {
    section.append(result.status === 403 ? h("p", { class: "muted" }, tr("noRole")) : errorBox(result));
  } else {
    section.append(draw(result));
  }
  return section;
}

/** ["2026-01", …] : the n calendar months ending with the month of `today` (UTC). */
export function lastMonths(today, n) {
  const out = [];
  for (let i = n - 1; i >= 0; i -= 1) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`);
  }
  return out;
}

function nextMonthStart(month) {
  const [y, m] = month.split("-").map(Number);
  const d = new Date(Date.UTC(y, m, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}-01`;
}

/** Meetings per month in the organization's zone (scheduled_at_local), cancelled ones left out. */
export function countByMonth(months, items) {
  const counts = Object.fromEntries(months.map((m) => [m, 0]));
  for (const m of items) {
    if (m.status === "cancelled") continue;
    const month = (m.scheduled_at_local || m.scheduled_at || "").slice(0, 7);
    if (month in counts) counts[month] += 1;
  }
  return counts;
}

function meetingsChart(months, items) {
  const counts = countByMonth(months, items);
  const max = Math.max(1, ...Object.values(counts));
  const W = 480, H = 180, pad = 24, bw = (W - 2 * pad) / months.length;
  const bars = months.map((month, i) => {
    const n = counts[month];
    const bh = n ? ((H - 2 * pad) * n) / max : 4;
    const x = pad + i * bw + 2, y = H - pad - bh;
    return h("g", {},
      h("rect", { x, y, width: bw - 4, height: bh, fill: n ? "#1565c0" : STATUS_COLORS.red, "data-month": month,
        "data-count": n }, h("title", {}, `${month}: ${n}`)),
      h("text", { x: x + (bw - 4) / 2, y: y - 4, "text-anchor": "middle", "font-size": 11 }, String(n)),
      h("text", { x: x + (bw - 4) / 2, y: H - 8, "text-anchor": "middle", "font-size": 10 }, month.slice(5)));
  });
  const svg = h("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-labelledby": "dash-meetings-desc" },
    h("desc", { id: "dash-meetings-desc" }, tr("meetingsDesc")),
    h("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#888" }), bars);
  return h("figure", {}, svg, dataList(months.map((m) => [m, counts[m]]), tr("month"), tr("count")));
}

export function countByStatus(items) {
  const counts = { red: 0, yellow: 0, green: 0, closed: 0 };
  for (const task of items) if (task.status in counts) counts[task.status] += 1;
  return counts;
}

function tasksChart(items) {
  const counts = countByStatus(items);
  const keys = ["red", "yellow", "green"];
  const max = Math.max(1, ...keys.map((k) => counts[k]));
  const W = 320, row = 36, H = row * keys.length + 8, label = 56;
  const rows = keys.map((k, i) => {
    const bw = ((W - label - 40) * counts[k]) / max;
    return h("g", {},
      h("text", { x: 0, y: i * row + 24, "font-size": 13 }, tr(k)),
      h("rect", { x: label, y: i * row + 8, width: Math.max(bw, 2), height: 22, fill: STATUS_COLORS[k],
        "data-status": k, "data-count": counts[k] }, h("title", {}, `${tr(k)}: ${counts[k]}`)),
      h("text", { x: label + Math.max(bw, 2) + 6, y: i * row + 24, "font-size": 13 }, String(counts[k])));
  });
  const svg = h("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-labelledby": "dash-tasks-desc" },
    h("desc", { id: "dash-tasks-desc" }, tr("tasksDesc")), rows);
  return h("figure", {}, svg,
    dataList([...keys, "closed"].map((k) => [tr(k), counts[k]]), tr("tasks"), tr("count")));
}

function alertsFigure(n) {
  const svg = h("svg", { viewBox: "0 0 120 120", width: 120, height: 120, role: "img", "aria-label": `${tr("alerts")}: ${n}` },
    h("circle", { cx: 60, cy: 60, r: 54, fill: n ? STATUS_COLORS.red : STATUS_COLORS.green }),
    h("text", { x: 60, y: 72, "text-anchor": "middle", "font-size": 36, fill: "#fff", id: "open-alerts",
      "data-count": n }, String(n)));
  return h("figure", {}, svg);
}

/** The numbers behind a chart, for screen readers and copying. */
function dataList(pairs, keyLabel, valueLabel) {
  return h("details", {}, h("summary", {}, `${keyLabel} / ${valueLabel}`),
    h("table", {}, h("tbody", {}, pairs.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, String(v)))))));
}
