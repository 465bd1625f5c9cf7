// The applicant's own screen (/applicant): a second display or window facing the
// applicant. No login and no controls: it follows the kiosk's current step from
// GET /api/applicant, which carries no case reference, names or images, and shows the
// instructions, pictograms and hand diagrams in the applicant's language.

import { get } from "./api.js";
import { h, mount } from "./dom.js";
import { SLAP_FINGERS, slapDiagram } from "./hands.js";
import { a, applicantBundles, applicantRegion, hasApplicant, inLanguage, languages, loadLanguages, setApplicantLanguage } from "./i18n.js";
import { documentPictogram, facePictogram } from "./ui.js";

const POLL_MS = 700;
const CONSENT = ["intro", "controller", "purpose", "data", "legal_basis", "retention", "rights", "contact"];
const root = document.getElementById("applicant");
let shown = "";

function welcome() {
  return h(
    "section",
    { class: "card welcome", id: "applicant-welcome", "aria-label": "CLAIM" },
    h(
      "ul",
      { class: "welcome-list" },
      languages().map((language) =>
        h(
          "li",
          { lang: language.code, dir: language.dir },
          h("strong", {}, inLanguage(language.code, "welcome.title")),
          " · ",
          inLanguage(language.code, "welcome.text"),
        ),
      ),
    ),
  );
}

function slapPanel(view) {
  const slap = view.slaps.find((s) => s.status === "capturing") || view.slaps.find((s) => s.status !== "skipped" && s.status !== "judging" && s.accepted.length < s.fingers.length - s.missing.length);
  if (!slap) return h("p", { class: "prompt ok" }, a("applicant.fingers_done"));
  const marks = {};
  for (const p of slap.accepted) marks[p] = "ok";
  for (const p of slap.missing) marks[p] = "missing";
  return h(
    "div",
    { class: "stack", "data-applicant-slap": slap.kind },
    slapDiagram(slap.kind, a(`finger.instruction.${slap.kind}`), marks),
    h("p", { class: "prompt" }, a(`finger.instruction.${slap.kind}`)),
    slap.status === "capturing" && slap.event && hasApplicant(slap.event) ? h("p", { class: "prompt ok", role: "status" }, a(slap.event)) : null,
    h("p", { class: "finger-count" }, a("applicant.fingers_progress", { done: slap.accepted.length, total: SLAP_FINGERS[slap.kind].length - slap.missing.length })),
  );
}

function body(view) {
  switch (view.step) {
    case null:
    case undefined:
      return welcome();
    case "consent":
      return h("section", { class: "card stack" }, h("h1", {}, a("consent.title")), CONSENT.map((p) => h("p", {}, a(`consent.${p}`))), h("p", { class: "prompt" }, a("consent.question")), h("p", {}, a("applicant.answer_at_counter")));
    case "face": {
      const prompt = view.face_captured ? a("face.captured") : view.face_prompts.length && hasApplicant(view.face_prompts[0]) ? a(view.face_prompts[0]) : a("face.ready");
      return h("section", { class: "card stack" }, h("h1", {}, a("applicant.face_title")), facePictogram(a("face.instructions")), h("p", {}, a("face.instructions")), h("p", { class: `prompt ${view.face_captured ? "ok" : ""}`, role: "status" }, prompt));
    }
    case "fingerprints":
      return h("section", { class: "card stack" }, h("h1", {}, a("applicant.fingers_title")), slapPanel(view));
    case "documents":
      return h("section", { class: "card stack" }, h("h1", {}, a("applicant.documents_title")), documentPictogram(a("document.instruction")), h("p", { class: "prompt ok" }, a("document.instruction")));
    case "done":
      return h("section", { class: "card stack" }, h("h1", {}, a("receipt.title")), h("p", { class: "prompt ok", "data-delivery": view.delivery || "" }, view.delivery === "received" ? a("applicant.received") : a("receipt.status_stored")), h("p", {}, a("receipt.keep")));
    case "declined":
      return h("section", { class: "card stack" }, h("h1", {}, a("declined.title")), h("p", {}, a("declined.text")));
    default:
      return h("section", { class: "card stack" }, h("p", { class: "prompt" }, a("applicant.wait")));
  }
}

async function refresh() {
  try {
    const view = await get("/api/applicant");
    await setApplicantLanguage(view.language);
    const key = JSON.stringify(view);
    if (key === shown) return;
    shown = key;
    document.documentElement.lang = view.language;
    mount(root, applicantRegion(h("div", { class: "stack", "data-step": view.step || "idle" }, body(view))));
  } catch {
    /* the kiosk restarts: try again */
  }
}

async function boot() {
  await loadLanguages();
  await applicantBundles();
  await refresh();
  setInterval(refresh, POLL_MS);
}

boot();
