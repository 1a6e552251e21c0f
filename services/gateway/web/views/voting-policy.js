// The organization's voting policy (V5): the share of those voting whose "no" is a serious
// disagreement on a major item (default one third), which makes the chair defer the vote or
// confirm it with a reason. The secretary sees and changes it; a ballot keeps the ratio in force
// when it opened.
import { api, nameMap, session } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { field, form, h, heading, liveStatus } from "../ui.js";

const POLICY_ROLES = ["secretary"];          // V5 (the administrator sets it through the API)

export default {
  route: "voting-policy",
  nav: { label: "nav.votingPolicy", roles: POLICY_ROLES, last: true },
  async render(root, _params, { navigate }) {
    const [policy, names] = await Promise.all([api("/voting-policy"), nameMap()]);
    const done = liveStatus("policy-status");
    done.textContent = sessionStorage.getItem("pg.flash") || "";
    sessionStorage.removeItem("pg.flash");
    const [num, den] = String(policy.disagreement_ratio || "1/3").split("/");
    root.append(heading(t("policy.title")), h("p", {}, t("policy.intro")), done,
      h("dl", { class: "facts card" },
        h("dt", {}, t("policy.current")), h("dd", { id: "policy-ratio", dataset: { ratio: policy.disagreement_ratio } },
          t("policy.ratio", { num, den })),
        h("dt", {}, t("policy.updated")), h("dd", { id: "policy-updated" }, policy.updated_at
          ? t("policy.updatedBy", { when: formatTime(policy.updated_at), name: names.get(policy.updated_by) || "—" })
          : t("policy.default"))));
    if (!session.hasRole(...POLICY_ROLES)) return;
    const numerator = h("input", { type: "number", name: "numerator", required: true, min: 1, step: 1, value: num });
    const denominator = h("input", { type: "number", name: "denominator", required: true, min: 1, step: 1, value: den });
    root.append(form({
      id: "policy-form", title: t("policy.change"), headingLevel: "h2", submitLabel: t("policy.save"),
      fields: [h("p", { class: "hint" }, t("policy.hint")),
        h("div", { class: "row-form" }, field(t("policy.numerator"), numerator), field(t("policy.denominator"), denominator))],
      onsubmit: async () => {
        const saved = await api("/voting-policy", { method: "PUT",
          body: { disagreement_ratio: `${numerator.value.trim()}/${denominator.value.trim()}` } });
        const [n, d] = saved.disagreement_ratio.split("/");
        sessionStorage.setItem("pg.flash", t("policy.saved", { ratio: t("policy.ratio", { num: n, den: d }) }));
        navigate("voting-policy");
      },
    }));
  },
};
