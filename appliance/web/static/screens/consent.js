// Consent (the applicant reads, with a cue when more text follows) and its refusal:
// confirmed first, then acknowledged on a screen of its own; the server records it.

import { post } from "../api.js";
import { h, mount } from "../dom.js";
import { a, applicantRegion, t } from "../i18n.js";
import { actionBar, button, confirmDialog, scrollCue, spoken } from "../ui.js";
import { cancelButton, noticeBanner } from "./common.js";

const PARAGRAPHS = ["intro", "controller", "purpose", "data", "legal_basis", "retention", "rights", "contact"];

export function consent(app, view) {
  const text = h(
    "div",
    { class: "consent-text", tabindex: "0", role: "region", "aria-labelledby": "consent-title", id: "consent-text" },
    PARAGRAPHS.map((p) => h("p", {}, a(`consent.${p}`))),
  );
  const refuse = async () => {
    const yes = await confirmDialog({
      title: t("consent.refuse_confirm_title"),
      body: [t("consent.refuse_confirm_text"), applicantRegion(h("p", {}, a("consent.refuse_confirm")))],
      yes: t("consent.refuse_yes"),
      no: t("consent.refuse_no"),
      id: "refuse",
    });
    if (yes) await app.act(() => post("/api/workflow/consent", { accepted: false }));
  };
  mount(
    app.main,
    noticeBanner(app, view),
    h("p", { class: "operator-note" }, t("consent.operator_hint", { case: view.case_reference })),
    applicantRegion(
      h(
        "section",
        { class: "card stack", "aria-labelledby": "consent-title" },
        h("h1", { id: "consent-title" }, a("consent.title")),
        scrollCue(text),
        spoken("consent.question", { tag: "p", cls: "question" }),
      ),
    ),
  );
  actionBar(
    applicantRegion(h("span", { class: "bar-group" },
      button("consent-agree", a("consent.agree"), () => app.act(() => post("/api/workflow/consent", { accepted: true })), "good"),
      button("consent-decline", a("consent.decline"), refuse, "danger"),
    )),
    cancelButton(app),
  );
  return {};
}

export function declined(app, view) {
  mount(
    app.main,
    h("h1", { id: "screen-title" }, t("declined.title")),
    h("p", { class: "banner warn", role: "status", id: "declined-operator" }, t("declined.operator", { case: view.case_reference })),
    applicantRegion(
      h(
        "section",
        { class: "card stack", id: "declined-applicant", "aria-labelledby": "declined-applicant-title" },
        h("h2", { id: "declined-applicant-title" }, a("declined.title")),
        h("p", {}, a("declined.text")),
      ),
    ),
  );
  actionBar(button("next-applicant", t("receipt.next"), () => app.nextApplicant(), "primary"));
  return {};
}
