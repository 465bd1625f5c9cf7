// Documents: the chosen kind shows as chosen (not only to screen readers), a pictogram, the
// live preview, and the captured documents with their MRZ check, the differences from the
// case and the supervisor's override; the chip card when the kiosk has a reader.

import { del, post } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { actionBar, button, deviceBanner, documentPictogram, spoken } from "../ui.js";
import { cancelButton, heading, noticeBanner, poller } from "./common.js";
import { chipPanel, mrzPanel } from "./document_checks.js";

const DOCUMENT_KINDS = ["passport", "residence_permit", "id_card", "other"];

export function documents(app, view) {
  let kind = app.documentKind || "passport";
  const instructions = h("div", {});
  const banner = h("div", { id: "device-area" });
  const starting = h("p", { class: "starting", role: "status" }, t("face.starting_camera"));
  const image = h("img", { src: "/api/workflow/preview/document.mjpg", alt: t("documents.preview_alt"), id: "document-live" });
  image.addEventListener("load", () => starting.remove(), { once: true });
  const preview = h("div", { class: "preview" }, image, starting);
  const chosen = h("p", { class: "chosen", id: "document-chosen", role: "status" });
  const kinds = h(
    "div",
    { class: "choices", role: "group", "aria-label": t("documents.kind") },
    DOCUMENT_KINDS.map((k) =>
      h(
        "button",
        {
          type: "button",
          "data-kind": k,
          "aria-pressed": String(k === kind),
          onclick: () => {
            kind = k;
            app.documentKind = k;
            for (const b of kinds.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.kind === k));
            chosen.textContent = t("documents.chosen", { kind: t(`document.kind.${k}`) });
          },
        },
        t(`document.kind.${k}`),
      ),
    ),
  );
  chosen.textContent = t("documents.chosen", { kind: t(`document.kind.${kind}`) });
  const list = h("div", { class: "thumbs", id: "document-list" });
  const chipArea = h("div", {});
  let shown = "";
  const update = (v) => {
    mount(banner, deviceBanner(v.devices));
    actionBar(
      button("document-capture", t("documents.capture"), () => app.act(() => post("/api/workflow/documents", { kind })), "primary"),
      button("documents-continue", t("documents.continue"), () => app.act(() => post("/api/workflow/documents/done")), "good", { disabled: v.documents.length === 0 || v.documents.some((d) => d.reading) }),
      cancelButton(app),
    );
    const key = JSON.stringify([v.documents, v.chip, v.face && v.face.capture_id]);
    if (key === shown) return;
    shown = key;
    mount(chipArea, chipPanel(app, v));
    mount(
      list,
      v.documents.map((d) =>
        h(
          "figure",
          { class: "thumb card" },
          h("img", { src: `/api/workflow/captures/${d.capture_id}`, alt: t(`document.kind.${d.kind}`) }),
          h("figcaption", {}, `${t(`document.kind.${d.kind}`)} · ${d.corrected ? t("documents.corrected") : t("documents.not_corrected")}`),
          mrzPanel(app, d),
          h("button", { type: "button", class: "danger", onclick: () => app.act(() => del(`/api/workflow/documents/${d.capture_id}`)) }, t("documents.remove")),
        ),
      ),
    );
  };
  const relabel = () => {
    mount(instructions, spoken("document.instruction", { id: "document-instructions", cls: "prompt ok" }));
  };
  mount(
    app.main,
    noticeBanner(app, view),
    banner,
    heading(t("documents.title")),
    h(
      "div",
      { class: "capture" },
      preview,
      h("div", { class: "stack" }, h("div", { class: "row nowrap" }, documentPictogram(t("documents.pictogram")), instructions), kinds, chosen),
    ),
    list,
    chipArea,
  );
  relabel();
  update(view);
  const stopPolling = poller(app, 500); // a document's MRZ verdict shows soon after its read
  return {
    update,
    relabel,
    leave: () => {
      stopPolling();
      mount(preview); // closes the stream
    },
  };
}
