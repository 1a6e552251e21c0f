import { api, session } from "../api.js";
import { t } from "../i18n.js";
import { act, field, h, heading, link } from "../ui.js";

export default {
  route: "login",
  public: true,
  async render(root, _params, { navigate }) {
    const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "off" });
    const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
    const submit = h("button", { type: "submit" }, t("login.submit"));
    const errors = h("div", { class: "errors", "aria-live": "assertive" });
    const form = h("form", { "aria-labelledby": "view-title", novalidate: true },
      field(t("login.username"), username), field(t("login.password"), password), submit, errors);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      act(submit, errors, async () => {
        const name = username.value.trim();
        const login = await api("/auth/login", { method: "POST", body: { username: name, password: password.value } });
        session.start(name, login);
        navigate("home");
      });
    });
    // issue 17: a person who received an enrolment code binds their account first
    root.append(h("section", { class: "login-card" }, heading(t("login.title")), h("p", { class: "hint" }, t("login.hint")), form,
      h("p", {}, link("#/enrol", t("login.enrol"), { id: "enrol-link" }))));
  },
};
