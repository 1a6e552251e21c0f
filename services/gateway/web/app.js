// The shell: header (navigation, language switch, log-out) and a hash router.
// Each view is one module in views/ exporting {route, nav?, public?, render(root, params)};
// views/registry.js lists them, so adding a view is one module plus one line there.
import { api, session, setUnauthorizedHandler } from "./api.js";
import { applyLang, getLang, onLangChange, setLang, t } from "./i18n.js";
import { errorBox, h, unavailableBox } from "./ui.js";
import { VIEWS } from "./views/registry.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const langButton = document.getElementById("lang-switch");
const flash = document.getElementById("flash");

const routes = VIEWS.map((view) => ({ view, ...compile(view.route) }));

function compile(pattern) {
  const names = [];
  const source = pattern.split("/").map((part) => {
    if (part.startsWith(":")) { names.push(part.slice(1)); return "([^/]+)"; }
    return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
  return { regex: new RegExp(`^${source}$`), names };
}

function match(path) {
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (m) return { view: r.view, params: Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

export function navigate(path) {
  const target = `#/${path.replace(/^[#/]+/, "")}`;
  if (location.hash === target) render();
  else location.hash = target;
}

let renderCount = 0;
let firstRender = true;

async function render() {
  const path = location.hash.replace(/^#\/?/, "") || (session.token ? "home" : "login");
  const found = match(path.split("?")[0]);
  if (!found) { main.replaceChildren(h("h1", { tabindex: "-1" }, t("common.notFound"))); return; }
  if (!found.view.public && !session.token) { navigate("login"); return; }
  if (found.view.route === "login" && session.token) { navigate("home"); return; }
  renderNav(found.view);
  const mine = ++renderCount;
  const root = h("div", { class: `view view-${found.view.route.split("/")[0]}` });
  main.replaceChildren(root);
  main.setAttribute("aria-busy", "true");
  try {
    pollUnread();
    await found.view.render(root, found.params, { navigate, isCurrent: () => mine === renderCount });
  } catch (err) {
    // the page keeps a level-one heading when it could not be drawn (a refusal, a missing record)
    if (!root.querySelector("h1")) root.prepend(h("h1", { tabindex: "-1" }, t("error.title")));
    root.append(err?.unavailable ? unavailableBox(`/api/v1${err.path}`) : errorBox(err));
  } finally {
    main.removeAttribute("aria-busy");
  }
  if (!firstRender) root.querySelector("h1")?.focus();
  firstRender = false;
}

function renderNav(current) {
  langButton.textContent = t("lang.switch");
  langButton.title = t("lang.switchLabel");
  langButton.setAttribute("lang", getLang() === "zh-CN" ? "en" : "zh-CN");
  document.getElementById("app-title").textContent = t("app.title");
  document.getElementById("skip-link").textContent = t("app.skip");
  nav.setAttribute("aria-label", t("nav.label"));
  const list = h("ul", {});
  if (session.token) {
    // a view whose nav says `last` (one's own settings, a rarely changed policy) comes after the others
    const shown = VIEWS.filter((v) => v.nav && (!v.nav.roles || session.hasRole(...v.nav.roles)));
    for (const view of [...shown.filter((v) => !v.nav.last), ...shown.filter((v) => v.nav.last)]) {
      const here = view === current;
      // the unread count beside the inbox: visual only, so the link's name stays the same
      const badge = view.route === "inbox" ? h("span", { class: "badge nav-unread", hidden: true, "aria-hidden": "true" }) : null;
      list.append(h("li", {}, h("a", { href: `#/${view.route}`, "aria-current": here ? "page" : null }, t(view.nav.label), badge)));
    }
    list.append(h("li", {}, h("button", { type: "button", class: "link", id: "logout", onclick: logout }, t("nav.logout"))));
  }
  nav.replaceChildren(list);
}

// Live: the unread count beside the inbox in the navigation, polled while logged in.
const POLL_MS = 15000;
async function pollUnread() {
  if (!session.token || document.hidden) return;
  try {
    const inbox = await api("/notifications", { query: { limit: 1 } });
    for (const badge of nav.querySelectorAll(".nav-unread")) {
      badge.textContent = inbox.unread ? String(inbox.unread) : "";
      badge.hidden = !inbox.unread;
    }
  } catch { /* shown by the views when it matters */ }
}
setInterval(pollUnread, POLL_MS);

async function logout() {
  // revoke the token on the server first; the session ends in this browser whatever the answer
  try { await api("/auth/logout", { method: "POST" }); } catch (err) { /* already expired or revoked */ }
  session.clear();
  navigate("login");
}

setUnauthorizedHandler(() => {
  flash.textContent = t("error.session");
  navigate("login");
});

langButton.addEventListener("click", () => setLang(getLang() === "zh-CN" ? "en" : "zh-CN"));
onLangChange(() => render());
window.addEventListener("hashchange", () => { flash.textContent = ""; render(); });
applyLang();
render();
