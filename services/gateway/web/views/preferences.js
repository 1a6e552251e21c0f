// My preferences (N2): how notices reach me (inbox, e-mail), in which language, and my e-mail
// address. A meeting notice reaches the inbox whatever the choice (M5: proof of notice).
import { api, session } from "../api.js";
import { getLang, setLang, t } from "../i18n.js";
import { field, form, h, heading, liveStatus, select } from "../ui.js";

export default {
  route: "preferences",
  nav: { label: "nav.preferences", last: true },
  async render(root, _params, { navigate }) {
    const prefs = await api("/me/preferences");
    const me = session.actor?.person_id;
    const done = liveStatus("preferences-status");
    done.textContent = sessionStorage.getItem("pg.flash") || "";
    sessionStorage.removeItem("pg.flash");
    root.append(heading(t("prefs.title")), h("p", {}, t("prefs.intro")), done);

    const inbox = h("input", { type: "checkbox", name: "channel_inbox", checked: prefs.channels?.inbox });
    const email = h("input", { type: "checkbox", name: "channel_email", checked: prefs.channels?.email });
    const language = select("language", [["zh-CN", "中文"], ["en", "English"]], prefs.language || "zh-CN");
    const prefsForm = form({
      id: "preferences-form", title: t("prefs.channels"), headingLevel: "h2", submitLabel: t("prefs.save"),
      fields: [h("fieldset", {}, h("legend", {}, t("prefs.channelsLegend")),
        h("label", { class: "choice" }, inbox, t("prefs.inbox")),
        h("label", { class: "choice" }, email, t("prefs.email")),
        h("p", { class: "hint" }, t("prefs.noticeHint"))),
      field(t("prefs.language"), language, t("prefs.languageHint"))],
      onsubmit: async () => {
        const saved = await api("/me/preferences", { method: "PUT", body: {
          channels: { inbox: inbox.checked, email: email.checked }, language: language.value } });
        // the interface follows a newly chosen language of the texts sent (switching redraws the page;
        // the message is kept in the new language before the redrawn page reads it)
        const switching = saved.language !== prefs.language && saved.language !== getLang();
        if (switching) setLang(saved.language);
        sessionStorage.setItem("pg.flash", t("prefs.saved"));
        if (!switching) navigate("preferences");
      },
    });
    // the language the form was drawn with: a save compares with it (and a reader can wait for it)
    prefsForm.dataset.language = prefs.language || "zh-CN";
    root.append(prefsForm);

    // N2: a person sets their own e-mail address (an empty one removes it)
    if (me) {
      const address = h("input", { type: "email", name: "email", maxlength: 254, value: prefs.email || "", autocomplete: "email" });
      root.append(form({
        id: "contact-form", title: t("prefs.contact"), headingLevel: "h2", submitLabel: t("prefs.saveContact"),
        fields: [field(t("prefs.address"), address, t("prefs.addressHint"))],
        onsubmit: async () => {
          await api(`/persons/${encodeURIComponent(me)}/contact`, { method: "PUT",
            body: { email: address.value.trim() || null } });
          sessionStorage.setItem("pg.flash", t("prefs.contactSaved"));
          navigate("preferences");
        },
      }));
    }
  },
};
