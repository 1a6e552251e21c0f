// A topic's materials (M3, M5): listed for everyone who may see the topic and downloaded from the
// server; uploaded by the office, or by HR for a personnel topic, while the meeting is a draft
// (an emergency meeting takes them until it is held). Not a view of its own: a block of others.
import { api, session } from "../api.js";
import { t } from "../i18n.js";
import { act, downloadBase64, field, fileToBase64, h } from "../ui.js";

export const MATERIAL_TYPES = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  txt: "text/plain",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
};

/** Whether the signed-in user prepares this topic's material (M3) and the window is open (M5). */
export function mayUpload(topic, meeting) {
  const preparer = topic.category === "personnel" ? "hr" : "office";
  if (!session.hasRole(preparer)) return false;
  if (!meeting) return true;
  return meeting.status === "draft" || (meeting.kind === "emergency" && ["noticed", "opened"].includes(meeting.status));
}

function size(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** The materials of one topic (a GET /topics/{id} answer) with download buttons and, when allowed, an upload form. */
export function materialsBlock(topic, meeting, onChange) {
  const block = h("div", { class: "materials", dataset: { topic: topic.topic_id } });
  const items = topic.materials || [];
  const errors = h("div", { "aria-live": "assertive" });
  block.append(items.length
    ? h("ul", { class: "material-list" }, items.map((m) => {
      const button = h("button", { type: "button", class: "secondary download-material", "aria-label": `${t("materials.download")}: ${m.filename}` },
        t("materials.download"));
      button.addEventListener("click", () => act(button, errors, async () => {
        const full = await api(`/materials/${encodeURIComponent(m.material_id)}`);
        downloadBase64(full.filename, full.content_type, full.content_base64);
      }));
      return h("li", { class: "actions" }, h("span", { class: "material-name" }, `${m.filename}（${size(m.size)}）`), button);
    }))
    : h("p", { class: "hint" }, t("materials.none")));
  if (mayUpload(topic, meeting)) {
    const file = h("input", { type: "file", name: "material", required: true, accept: Object.keys(MATERIAL_TYPES).map((e) => `.${e}`).join(",") });
    const submit = h("button", { type: "submit", class: "secondary" }, t("materials.upload"));
    const form = h("form", { class: "upload-material row-form" },
      field(t("materials.file", { title: topic.title }), file, t("materials.hint")), submit);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      act(submit, errors, async () => {
        const chosen = file.files[0];
        if (!chosen) return;
        const ext = chosen.name.split(".").pop().toLowerCase();
        await api(`/topics/${topic.topic_id}/materials`, { method: "POST", body: {
          filename: chosen.name, content_type: MATERIAL_TYPES[ext] || chosen.type || "application/octet-stream",
          content_base64: await fileToBase64(chosen) } });
        onChange(t("materials.uploaded", { name: chosen.name }));
      });
    });
    block.append(form);
  }
  block.append(errors);
  return block;
}
