// Issue 17: a person holding a role binds their own account with the one-time enrolment code sent
// to their inbox or e-mail: they choose a username and a password here, then log in.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { act, field, h, heading, link } from "../ui.js";

export default {
  route: "enrol",
  public: true,
  async render(root) {
    const code = h("input", { name: "code", required: true, autocomplete: "one-time-code", autocapitalize: "characters", maxlength: 64 });
    const username = h("input", { name: "username", required: true, autocomplete: "username", autocapitalize: "off", maxlength: 64 });
    const password = h("input", { name: "password", type: "password", required: true, autocomplete: "new-password", minlength: 10 });
    const submit = h("button", { type: "submit" }, t("enrol.submit"));
    const errors = h("div", { class: "errors", "aria-live": "assertive" });
    const done = h("div", { role: "status", "aria-live": "polite", id: "enrol-done" });
    const form = h("form", { "aria-labelledby": "view-title", id: "enrol-form" },
      field(t("enrol.code"), code, t("enrol.codeHint")), field(t("login.username"), username),
      field(t("login.password"), password, t("enrol.passwordHint")), submit, errors);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      act(submit, errors, async () => {
        await api("/enrolments/redeem", { method: "POST", body: { code: code.value.trim().toUpperCase(), username: username.value.trim(),
          password: password.value } });
        form.remove();
        done.append(h("p", { class: "ok-banner" }, t("enrol.done")), h("p", {}, link("#/login", t("enrol.toLogin"), { id: "to-login" })));
      });
    });
    root.append(h("section", { class: "login-card" }, heading(t("enrol.title")), h("p", { class: "hint" }, t("enrol.intro")), form, done));
  },
};
