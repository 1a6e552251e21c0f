// Integrators' access to one organization (N2): read-only API tokens (the token is shown once, at
// creation; revocable) and webhooks (an address and the notification kinds it receives; the
// secret is shown once; internal addresses are refused by the server). The administrator sees these
// on the administration page for the organization chosen there; the office, for its own organization.
import { api, session } from "../api.js";
import { formatTime, label, t } from "../i18n.js";
import { act, confirmAction, dataTable, field, form, h, heading, liveStatus } from "../ui.js";

// the notification kinds a webhook may subscribe to (N2: the notifications service's kinds)
const WEBHOOK_KINDS = ["meeting_notice", "ballot_opened", "decision_distributed", "objection_received", "objection_reminder"];

export default {
  route: "integrations",
  nav: { label: "nav.integrations", roles: ["office"] },
  async render(root, _params, { navigate }) {
    root.append(heading(t("integrations.title")), h("p", {}, t("integrations.intro")));
    const org = session.actor.org_id;
    const tz = (await api(`/organizations/${encodeURIComponent(org)}`).catch(() => null))?.timezone;
    root.append(...await integrationSections(org, tz, () => navigate("integrations")));
  },
};

/** The tokens and webhooks sections of one organization (shared with the administration page). */
export async function integrationSections(orgId, tz, refresh) {
  const [tokens, hooks] = await Promise.all([
    api("/api-tokens", { query: { org_id: orgId } }),
    api("/webhooks", { query: { org_id: orgId } })]);
  return [tokensSection(orgId, tokens.items || [], tz, refresh), webhooksSection(orgId, hooks.items || [], tz, refresh)];
}

function tokensSection(orgId, items, tz, refresh) {
  const sec = h("section", { "aria-labelledby": "tokens-title", id: "api-tokens" },
    h("h2", { id: "tokens-title" }, t("tokens.title")), h("p", { class: "hint" }, t("tokens.intro")));
  const errors = h("div", { "aria-live": "assertive" });
  const revoke = (row) => {
    const button = h("button", { type: "button", class: "danger revoke-token", dataset: { name: row.name } }, t("tokens.revoke"));
    button.addEventListener("click", async () => {
      if (!await confirmAction(t("tokens.revokeConfirm", { name: row.name }), t("tokens.revoke"))) return;
      act(button, errors, async () => {
        await api(`/api-tokens/${encodeURIComponent(row.api_token_id)}`, { method: "DELETE" });
        refresh();
      });
    });
    return button;
  };
  sec.append(dataTable({
    caption: t("tokens.title"), filename: "api-tokens.csv", rows: items,
    columns: [
      { key: "name", label: t("tokens.name") },
      { key: "roles", label: t("tokens.roles"), value: (x) => x.roles.map((r) => label("role", r)).join("、") },
      { key: "created", label: t("col.created"), value: (x) => formatTime(x.created_at, tz) },
      { key: "expires", label: t("tokens.expires"), value: (x) => formatTime(x.expires_at, tz) },
      { key: "status", label: t("col.status"), value: (x) => (x.revoked_at ? t("tokens.revokedAt", { when: formatTime(x.revoked_at, tz) }) : t("tokens.active")) },
      { key: "actions", label: t("common.actions"), value: () => "", cell: (x) => (x.revoked_at ? "—" : revoke(x)) },
    ],
  }), errors);

  // a token carries at most the caller's own roles, plus observer (no escalation)
  const grantable = ["observer", ...(session.actor.roles || []).filter((r) => r !== "admin" && r !== "observer")];
  const name = h("input", { name: "token_name", required: true, maxlength: 200 });
  const boxes = grantable.map((r) => h("input", { type: "checkbox", name: "roles", value: r, checked: r === "observer" }));
  const days = h("input", { type: "number", name: "days", min: 1, max: 730, value: 365, required: true });
  const shown = h("div", { id: "new-token-box" });
  sec.append(form({
    id: "token-form", title: t("tokens.create"), submitLabel: t("tokens.createSubmit"),
    fields: [field(t("tokens.name"), name),
      h("fieldset", {}, h("legend", {}, t("tokens.roles")),
        h("div", { class: "choice-list" }, grantable.map((r, i) => h("label", { class: "choice" }, boxes[i], label("role", r))))),
      field(t("tokens.days"), days)],
    onsubmit: async () => {
      const made = await api("/api-tokens", { method: "POST", body: {
        name: name.value.trim(), org_id: orgId, days: Number(days.value),
        roles: boxes.filter((b) => b.checked).map((b) => b.value) } });
      // shown once: the server keeps only its hash and never answers it again
      shown.replaceChildren(h("div", { class: "card ok-banner", role: "status" },
        h("p", {}, t("tokens.once", { name: made.name })),
        h("label", { for: "new-token" }, t("tokens.token")),
        h("textarea", { id: "new-token", readonly: true, rows: 3, class: "mono" }, made.token),
        h("p", {}, h("button", { type: "button", class: "secondary", onclick: refresh }, t("tokens.done")))));
      name.value = "";
    },
  }), shown);
  return sec;
}

function webhooksSection(orgId, items, tz, refresh) {
  const sec = h("section", { "aria-labelledby": "webhooks-title", id: "webhooks" },
    h("h2", { id: "webhooks-title" }, t("webhooks.title")), h("p", { class: "hint" }, t("webhooks.intro")));
  const errors = h("div", { "aria-live": "assertive" });
  const remove = (row) => {
    const button = h("button", { type: "button", class: "danger delete-webhook", dataset: { url: row.url } }, t("webhooks.delete"));
    button.addEventListener("click", async () => {
      if (!await confirmAction(t("webhooks.deleteConfirm", { url: row.url }), t("webhooks.delete"))) return;
      act(button, errors, async () => {
        await api(`/webhooks/${encodeURIComponent(row.webhook_id)}`, { method: "DELETE" });
        refresh();
      });
    });
    return button;
  };
  sec.append(dataTable({
    caption: t("webhooks.title"), filename: "webhooks.csv", rows: items,
    columns: [
      { key: "url", label: t("webhooks.url") },
      { key: "kinds", label: t("webhooks.kinds"), value: (x) => x.event_types.map((k) => label("notif", k)).join("、") },
      { key: "description", label: t("webhooks.description") },
      { key: "created", label: t("col.created"), value: (x) => formatTime(x.created_at, tz) },
      { key: "status", label: t("col.status"), value: (x) => (x.active ? t("webhooks.active") : t("webhooks.stopped")) },
      { key: "actions", label: t("common.actions"), value: () => "", cell: (x) => (x.active ? remove(x) : "—") },
    ],
  }), errors);

  const url = h("input", { type: "url", name: "url", required: true, maxlength: 2000, placeholder: "https://" });
  const boxes = WEBHOOK_KINDS.map((k) => h("input", { type: "checkbox", name: "event_types", value: k, checked: true }));
  const description = h("input", { name: "webhook_description", maxlength: 200 });
  const shown = liveStatus("webhook-secret");
  sec.append(form({
    id: "webhook-form", title: t("webhooks.add"), submitLabel: t("webhooks.addSubmit"),
    fields: [field(t("webhooks.url"), url, t("webhooks.urlHint")),
      h("fieldset", {}, h("legend", {}, t("webhooks.kinds")),
        h("div", { class: "choice-list" }, WEBHOOK_KINDS.map((k, i) => h("label", { class: "choice" }, boxes[i], label("notif", k))))),
      field(t("webhooks.description"), description)],
    onsubmit: async () => {
      const body = { url: url.value.trim(), org_id: orgId, event_types: boxes.filter((b) => b.checked).map((b) => b.value) };
      if (description.value.trim()) body.description = description.value.trim();
      const made = await api("/webhooks", { method: "POST", body });
      shown.replaceChildren(h("span", {}, t("webhooks.secretOnce", { url: made.url })), " ",
        h("code", { id: "webhook-secret-value" }, made.secret), " ",
        h("button", { type: "button", class: "secondary", onclick: refresh }, t("tokens.done")));
    },
  }), shown);
  return sec;
}
