// The 4-4-2 slaps as operators expect them: an animated hand per slap, the reader's live
// image while the fingers settle, each captured slap with its segmented boxes, a quality
// bar per finger with the threshold marked, and missing fingers picked on a hand picture
// (in slap order). Applicant text (instructions, finger names) is in their language.

import { del, post } from "../api.js";
import { h, mount } from "../dom.js";
import { a, applicantRegion, has, t } from "../i18n.js";
import { SLAP_ORDER, hand, slapDiagram } from "../hands.js";
import { actionBar, button, deviceBanner, modalForm, supervisorFields, svg } from "../ui.js";
import { cancelButton, heading, noticeBanner, poller } from "./common.js";

const REASONS = ["XX", "UP"];
const PREVIEW_MS = 250;

function fingerName(position) {
  return t(`finger.name.${position}`);
}

/** Captured slap images, one element per slap and attempt: a redraw never fetches again. */
const slapImages = new Map();

function slapImage(slap) {
  const key = `${slap.kind}:${slap.attempts}`;
  if (!slapImages.has(key)) {
    slapImages.set(
      key,
      h("img", { src: `/api/workflow/fingers/${slap.kind}/image.jpg?a=${slap.attempts}`, alt: t("fingers.slap_alt", { slap: t(`slap.${slap.kind}`) }) }),
    );
  }
  return slapImages.get(key);
}

/** The live image while capturing, the slap with its boxes once captured, else the hand. */
function stage(slap, live, next) {
  if (slap.status === "capturing") {
    return h(
      "div",
      { class: "slap-stage live", "data-stage": "live" },
      live.image,
      h("p", { class: "stage-note", role: "status" }, t("fingers.live")),
    );
  }
  if (slap.status === "done" && slap.image_size) {
    const [width, height] = slap.image_size;
    const boxes = slap.fingers
      .filter((f) => f.box)
      .map((f) => {
        const [x, y, w, hgt] = f.box;
        return svg(
          "g",
          { class: `seg ${f.accepted ? "ok" : "low"}`, "data-box": f.position },
          svg("rect", { x, y, width: w, height: hgt }),
          svg("text", { x: x + 6, y: y + 28 }, String(f.position)),
        );
      });
    return h(
      "div",
      { class: "slap-stage captured", "data-stage": "captured" },
      slapImage(slap),
      svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "boxes", "aria-hidden": "true", preserveAspectRatio: "xMidYMid meet" }, boxes),
    );
  }
  // Only the slap to place next moves (an animation costs the kiosk's CPU).
  return h(
    "div",
    { class: `slap-stage diagram ${next ? "animate" : ""}`, "data-stage": "diagram" },
    slapDiagram(slap.kind, a(`finger.instruction.${slap.kind}`)),
  );
}

/** One quality bar per finger: NFIQ 2 (0-100) with the threshold marked on the bar. */
export function qualityBars(slap, compact = false) {
  const byPosition = new Map(slap.fingers.map((f) => [f.position, f]));
  return h(
    "ul",
    { class: compact ? "quality compact" : "quality", "aria-label": t("fingers.quality_label", { threshold: slap.nfiq2_threshold }) },
    slap.positions.map((position) => {
      const finger = byPosition.get(position);
      const missing = slap.missing.includes(position);
      const cls = missing ? "missing" : finger ? (finger.accepted ? "ok" : "low") : "waiting";
      const score = finger && finger.nfiq2 !== null ? finger.nfiq2 : null;
      const verdict = missing ? t("fingers.missing") : finger ? (finger.accepted ? t("fingers.ok") : t("fingers.low")) : t("fingers.waiting");
      return h(
        "li",
        { class: `finger ${cls}`, "data-position": position },
        h("span", { class: "finger-name" }, { ok: "✓ ", low: "✗ ", missing: "— " }[cls] || "", fingerName(position)),
        h(
          "span",
          {
            class: "bar",
            role: "meter",
            "aria-valuemin": 0,
            "aria-valuemax": 100,
            "aria-valuenow": score ?? 0,
            "aria-label": t("fingers.quality_of", { finger: fingerName(position) }),
          },
          h("span", { class: "fill", "data-score": score ?? 0 }),
          h("span", { class: "threshold", "data-threshold": slap.nfiq2_threshold, title: t("fingers.threshold", { threshold: slap.nfiq2_threshold }) }),
        ),
        h("span", { class: "score" }, score === null ? "—" : String(score)),
        h("span", { class: "visually-hidden" }, verdict),
      );
    }),
  );
}

/** Bar widths and the threshold mark are set as properties (the CSP allows no inline style). */
export function sizeBars(root) {
  for (const fill of root.querySelectorAll(".bar .fill")) fill.style.inlineSize = `${fill.dataset.score}%`;
  for (const mark of root.querySelectorAll(".bar .threshold")) mark.style.insetInlineStart = `${mark.dataset.threshold}%`;
}

function slapCard(app, slap, live, next) {
  const busy = slap.status === "capturing" || slap.status === "judging";
  const feedback = slap.fingers.flatMap((f) => f.feedback || []);
  const status = slap.status === "done" && !slap.accepted ? "low" : slap.status;
  const marker = { done: slap.accepted ? "✓" : "✗", capturing: "●", judging: "…", skipped: "–", failed: "✗", pending: "○" }[slap.status] || "";
  return h(
    "section",
    { class: `card slap ${status}`, "data-slap": slap.kind, "aria-labelledby": `title-${slap.kind}` },
    h(
      "div",
      { class: "slap-head" },
      h("h2", { id: `title-${slap.kind}` }, h("span", { "aria-hidden": "true" }, `${marker} `), t(`slap.${slap.kind}`)),
      slap.status === "pending"
        ? null
        : h(
            "button",
            { type: "button", class: "small", "data-capture": slap.kind, disabled: busy, onclick: () => app.act(() => post(`/api/workflow/fingers/${slap.kind}/capture`)) },
            t("fingers.retry"),
          ),
    ),
    stage(slap, live, next),
    slap.accepted
      ? null
      : applicantRegion(h("p", { class: "slap-prompt" }, busy && slap.event ? a(slap.event) : a(`finger.instruction.${slap.kind}`))),
    qualityBars(slap, true),
    h(
      "p",
      { class: "status", role: "status" },
      t(`fingers.status.${slap.status}`),
      slap.attempts ? ` · ${t("fingers.attempts", { count: slap.attempts })}` : "",
      slap.error ? ` · ${has(slap.error) ? t(slap.error) : slap.error}` : "",
    ),
    feedback.length && !slap.accepted ? applicantRegion(h("p", { class: "feedback" }, a(feedback[0]))) : null,
  );
}

function missingDialog(app, view) {
  let position = null;
  let reason = null;
  const declared = new Set(view.fingers.exceptions.map((e) => e.position));
  const confirm = supervisorFields("supervisor-name", "supervisor-pin", "grow");
  const chosen = h("p", { id: "missing-chosen", role: "status" }, t("fingers.pick_finger"));
  const hands = h("div", { class: "hands-picker" });
  const drawHands = () => {
    const options = {
      label: fingerName,
      onPick: (p) => {
        position = p;
        chosen.textContent = t("fingers.chosen", { finger: fingerName(p) });
        drawHands();
      },
      pressed: (p) => p === position,
      state: (p) => (p === position ? "picked" : declared.has(p) ? "missing" : ""),
    };
    mount(
      hands,
      h("figure", {}, hand("right", { ...options, title: t("fingers.right_hand") }), h("figcaption", {}, t("fingers.right_hand"))),
      h("figure", {}, hand("left", { ...options, title: t("fingers.left_hand") }), h("figcaption", {}, t("fingers.left_hand"))),
    );
  };
  drawHands();
  const ordered = h(
    "div",
    { class: "picker", role: "group", "aria-label": t("fingers.which") },
    SLAP_ORDER.map((p) =>
      h(
        "button",
        {
          type: "button",
          class: "small",
          "data-position": p,
          onclick: () => {
            position = p;
            chosen.textContent = t("fingers.chosen", { finger: fingerName(p) });
            drawHands();
          },
        },
        fingerName(p),
      ),
    ),
  );
  const reasons = h(
    "div",
    { class: "row", role: "group", "aria-label": t("fingers.reason") },
    REASONS.map((r) =>
      h(
        "button",
        {
          type: "button",
          "data-reason": r,
          "aria-pressed": "false",
          onclick: (event) => {
            reason = r;
            for (const b of reasons.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
            event.currentTarget.setAttribute("aria-pressed", "true");
          },
        },
        t(`fingers.reason.${r}`),
      ),
    ),
  );
  modalForm({
    id: "missing",
    title: t("fingers.missing_title"),
    content: [
      h("p", {}, t("fingers.missing_hint")),
      hands,
      chosen,
      h("details", {}, h("summary", {}, t("fingers.pick_from_list")), ordered),
      reasons,
      h("div", { class: "row" }, confirm.rows),
      confirm.error,
    ],
    actions: h("button", { type: "submit", class: "primary big", id: "missing-confirm" }, t("fingers.confirm")),
    submit: async (dialog) => {
      if (position === null || reason === null) {
        confirm.fail(position === null ? t("fingers.pick_finger") : t("fingers.pick_reason"));
        return;
      }
      try {
        await post("/api/workflow/fingers/missing", { position, reason, ...confirm.values() });
        dialog.close();
        await app.refresh();
      } catch (e) {
        confirm.fail(e);
      }
    },
  });
}

/** The reader's live image, refreshed while a slap is captured (memory only, polled). */
function livePreview() {
  const image = h("img", { alt: "", class: "live-image", id: "slap-live" });
  let timer = null;
  let loading = false;
  const tick = () => {
    if (loading) return;
    loading = true;
    const next = new Image();
    next.onload = () => {
      image.src = next.src;
      loading = false;
    };
    next.onerror = () => {
      loading = false;
    };
    next.src = `/api/workflow/fingers/preview.jpg?t=${Date.now()}`;
  };
  return {
    image,
    run(on) {
      if (on && !timer) timer = setInterval(tick, PREVIEW_MS);
      if (!on && timer) {
        clearInterval(timer);
        timer = null;
      }
    },
  };
}

export function fingerprints(app, view) {
  const slaps = h("div", { class: "slaps" });
  const exceptions = h("div", { class: "stack" });
  const problems = h("div", {});
  const banner = h("div", { id: "device-area" });
  const live = livePreview();
  let shown = "";
  const update = (v) => {
    const fingers = v.fingers;
    const capturing = fingers.slaps.some((s) => s.status === "capturing");
    live.run(capturing);
    mount(banner, deviceBanner(v.devices));
    const key = JSON.stringify([fingers.slaps.map((s) => [s.status, s.event, s.attempts, s.fingers, s.missing]), fingers.exceptions, fingers.problems]);
    if (key !== shown) {
      shown = key;
      const upcoming = fingers.slaps.find((s) => s.status === "pending");
      mount(slaps, fingers.slaps.map((slap) => slapCard(app, slap, live, slap === upcoming && !capturing)));
      sizeBars(slaps);
      mount(
        exceptions,
        fingers.exceptions.map((e) =>
          h(
            "div",
            { class: "banner warn row", "data-exception": e.position },
            h("span", { class: "grow" }, t("fingers.exception_line", { finger: fingerName(e.position), reason: t(`fingers.reason.${e.reason}`), supervisor: e.confirmed_by })),
            h("button", { type: "button", onclick: () => app.act(() => del(`/api/workflow/fingers/missing/${e.position}`)) }, t("fingers.remove_exception")),
          ),
        ),
      );
      mount(problems, fingers.problems.map((p) => h("p", { class: "banner bad" }, t(p.split(":")[0]))));
    }
    // A slap being judged needs no reader: the next one can be placed meanwhile.
    const next = fingers.slaps.find((s) => s.status !== "skipped" && s.status !== "judging" && !s.accepted);
    const primary = fingers.complete
      ? button("fingers-continue", t("fingers.continue"), () => app.act(() => post("/api/workflow/fingers/done")), "good", { disabled: fingers.problems.length > 0 })
      : button(
          "fingers-next",
          capturing
            ? t("fingers.status.capturing")
            : !next
              ? t("fingers.status.judging")
              : next.status === "pending"
                ? t("fingers.capture_slap", { slap: t(`slap.${next.kind}`) })
                : t("fingers.retry_slap", { slap: t(`slap.${next.kind}`) }),
          () => app.act(() => post(`/api/workflow/fingers/${next.kind}/capture`)),
          "primary",
          { disabled: capturing || !next, "data-next": next?.kind },
        );
    actionBar(primary, button("missing-finger", t("fingers.missing_button"), () => missingDialog(app, app.view)), cancelButton(app));
  };
  mount(
    app.main,
    noticeBanner(app, view),
    banner,
    heading(t("fingers.title")),
    slaps,
    exceptions,
    problems,
  );
  update(view);
  const stopPolling = poller(app, 500);
  return {
    update,
    leave: () => {
      stopPolling();
      live.run(false);
      slapImages.clear();
    },
  };
}

