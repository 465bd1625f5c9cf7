// Review: every capture with its quality beside it (ICAO verdict, NFIQ 2 per finger with the
// threshold, the document check's verdict once it exists), then save and send.

import { post } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { actionBar, button } from "../ui.js";
import { cancelButton, heading, noticeBanner } from "./common.js";
import { icaoVerdict } from "./face.js";
import { qualityBars, sizeBars } from "./fingers.js";

function documentVerdict(d) {
  const verdict = d.mrz && d.mrz.verdict;
  if (!verdict) return h("p", { class: "verdict unknown", "data-verdict": "pending" }, "– ", t("review.document_unchecked"));
  const ok = verdict === "valid" || Boolean(d.override);
  return h(
    "p",
    { class: `verdict ${ok ? "ok" : "low"}`, "data-verdict": verdict },
    ok ? "✓ " : "✗ ",
    t(`review.document_${verdict}`),
    d.override ? ` · ${t("documents.overridden", { supervisor: d.override.confirmed_by, reason: d.override.reason })}` : "",
  );
}

export function review(app, view) {
  const goto = (step) => app.act(() => post("/api/workflow/goto", { step }));
  const language = document.querySelector(`#langbar [data-language='${view.language}']`)?.textContent || view.language;
  const fingers = h(
    "section",
    { class: "card review-fingers", "aria-labelledby": "review-fingers-title" },
    h("h2", { id: "review-fingers-title" }, t("review.fingers")),
    h("div", { class: "review-slaps" }, view.fingers.slaps.map((slap) => h("div", { "data-review-slap": slap.kind }, h("h3", {}, t(`slap.${slap.kind}`)), qualityBars(slap, true)))),
    h("button", { type: "button", onclick: () => goto("fingerprints") }, t("review.retake")),
  );
  sizeBars(fingers);
  mount(
    app.main,
    noticeBanner(app, view),
    heading(t("review.title")),
    h(
      "section",
      { class: "card summary" },
      h("p", {}, h("strong", {}, t("review.case")), " ", h("span", { id: "review-case" }, view.case_reference)),
      h("p", {}, h("strong", {}, t("review.language")), " ", language),
      h("p", {}, h("strong", {}, t("review.consent")), " ", t("review.consent_given")),
    ),
    h(
      "div",
      { class: "review-grid" },
      view.face.capture_id
        ? h(
            "figure",
            { class: "thumb card", id: "review-face" },
            h("img", { src: `/api/workflow/captures/${view.face.capture_id}`, alt: t("face.captured_alt") }),
            h("figcaption", {}, t("review.face"), icaoVerdict(view.face)),
            h("button", { type: "button", onclick: () => goto("face") }, t("review.retake")),
          )
        : null,
      fingers,
      view.documents.map((d) =>
        h(
          "figure",
          { class: "thumb card", "data-review-document": d.capture_id },
          h("img", { src: `/api/workflow/captures/${d.capture_id}`, alt: t(`document.kind.${d.kind}`) }),
          h("figcaption", {}, t(`document.kind.${d.kind}`), documentVerdict(d)),
          h("button", { type: "button", onclick: () => goto("documents") }, t("review.retake")),
        ),
      ),
    ),
    view.provisioned ? null : h("p", { class: "banner bad" }, t("not_provisioned")),
    view.sealing && view.sealing.state === "failed"
      ? h("p", { class: "banner bad", role: "alert", id: "seal-failed" }, t(view.sealing.error || "seal.failed"))
      : null,
  );
  actionBar(
    button(
      "submit-enrolment",
      t("review.submit"),
      async (event) => {
        event.currentTarget.disabled = true;
        await app.act(() => post("/api/workflow/submit"));
      },
      "good",
      { disabled: !view.can_submit },
    ),
    cancelButton(app),
  );
  return {};
}
