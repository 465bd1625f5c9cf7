// The face: a mirrored live preview ("starting the camera…" until the first frame), the
// applicant's prompt and a pictogram; device faults go to the operator's banner.

import { post } from "../api.js";
import { h, mount } from "../dom.js";
import { a, applicantRegion, hasApplicant, t } from "../i18n.js";
import { actionBar, button, deviceBanner, facePictogram, spoken } from "../ui.js";
import { cancelButton, heading, noticeBanner, poller } from "./common.js";

function frameOk(analysis) {
  return analysis.ok ?? !(analysis.prompts && analysis.prompts.length);
}

function promptText(analysis) {
  const prompts = analysis.prompts || [];
  if (frameOk(analysis) || prompts.length === 0) return a("face.ready");
  const key = prompts[0];
  return hasApplicant(key) ? a(key) : a("face.adjust");
}

export function face(app, view) {
  const prompt = applicantRegion(h("p", { class: "prompt", id: "face-prompt", role: "status", "aria-live": "polite" }));
  const instructions = h("div", { id: "face-instructions-box" });
  const preview = h("div", { class: "preview", id: "face-preview" });
  const banner = h("div", { id: "device-area" });
  const quality = h("div", { id: "face-quality" });
  let stream = null;
  let mode = null;

  const showLive = () => {
    mode = "live";
    const starting = h("p", { class: "starting", id: "camera-starting", role: "status" }, t("face.starting_camera"));
    const image = h("img", {
      src: `/api/workflow/preview/face.mjpg?t=${Date.now()}`,
      alt: t("face.preview_alt"),
      id: "face-live",
      class: "mirrored",
    });
    image.addEventListener("load", () => starting.remove(), { once: true });
    mount(preview, image, starting);
    prompt.textContent = a("face.analysis_failed");
    stream = new EventSource("/api/workflow/preview/face/guidance");
    stream.onmessage = (event) => {
      const analysis = JSON.parse(event.data);
      prompt.textContent = promptText(analysis);
      prompt.classList.toggle("ok", frameOk(analysis));
      starting.remove();
    };
    mount(quality);
    actionBar(button("face-capture", t("face.capture_now"), () => app.act(() => post("/api/workflow/face/capture")), "primary"), cancelButton(app));
  };
  const stopLive = () => {
    if (stream) stream.close();
    stream = null;
    mount(preview);
  };
  const showCaptured = (v) => {
    mode = "captured";
    stopLive();
    mount(preview, h("img", { src: `/api/workflow/captures/${v.face.capture_id}`, alt: t("face.captured_alt"), id: "face-photo" }));
    prompt.textContent = a("face.captured");
    prompt.classList.add("ok");
    mount(
      quality,
      h("p", {}, v.face.auto ? t("face.auto_note") : t("face.manual_note")),
      icaoVerdict(v.face),
    );
    actionBar(
      button("face-accept", t("face.accept"), () => app.act(() => post("/api/workflow/face/accept")), "good"),
      button("face-retake", t("face.retake"), () => app.act(() => post("/api/workflow/face/retake"))),
      cancelButton(app),
    );
  };
  const update = (v) => {
    if (v.face.status === "captured" && mode !== "captured") showCaptured(v);
    else if (v.face.status === "live" && mode !== "live") showLive();
    mount(banner, deviceBanner(v.devices));
  };
  const relabel = () => {
    applicantRegion(prompt);
    mount(instructions, spoken("face.instructions", { id: "face-instructions" }));
    if (mode === "captured") prompt.textContent = a("face.captured");
  };
  mount(
    app.main,
    noticeBanner(app, view),
    banner,
    heading(t("face.title")),
    h(
      "div",
      { class: "capture" },
      preview,
      h("div", { class: "stack" }, h("div", { class: "row nowrap" }, facePictogram(t("face.pictogram")), instructions), prompt, quality),
    ),
  );
  relabel();
  update(view);
  const stopPolling = poller(app);
  return {
    update,
    relabel,
    leave: () => {
      stopPolling();
      stopLive();
    },
  };
}

/** The ICAO verdict of the captured photo: compliant, or which checks failed. */
export function icaoVerdict(faceView) {
  if (faceView.compliant === null || faceView.compliant === undefined) {
    return h("p", { class: "verdict unknown", "data-verdict": "unknown" }, "? ", t("review.icao_unknown"));
  }
  if (faceView.compliant) {
    return h("p", { class: "verdict ok", "data-verdict": "ok" }, "✓ ", t("review.icao_ok"));
  }
  return h("p", { class: "verdict low", "data-verdict": "low" }, "✗ ", t("review.icao_failed", { count: faceView.failed.length }));
}
