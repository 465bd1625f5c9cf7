// Shared pieces of the enrolment screens: the fixed action bar, the operator's device
// banner, the scroll cue, confirmations, pictograms and the spoken prompts.

import { get } from "./api.js";
import { h, mount } from "./dom.js";
import { a, applicantLanguage, applicantRegion, has, t } from "./i18n.js";

/** Put the screen's actions in the fixed bar at the bottom (always visible). */
let shownActions = "";

export function actionBar(...buttons) {
  const bar = document.getElementById("actionbar");
  const shown = buttons.flat().filter(Boolean);
  // The same buttons again (a poll): keep the ones on screen, so a tap is never lost.
  const key = shown.map((b) => b.outerHTML).join("");
  if (key === shownActions && bar.childElementCount === shown.length) return;
  shownActions = key;
  mount(bar, shown);
  bar.hidden = shown.length === 0;
  document.body.classList.toggle("with-actions", shown.length > 0);
}

export function clearActions() {
  actionBar();
}

/** A button; `kind` is primary | good | danger | plain. Pressed state shows on touch. */
export function button(id, label, onclick, kind = "plain", extra = {}) {
  return h(
    "button",
    { type: "button", id, class: `${kind === "plain" ? "" : kind} big`, onclick, ...extra },
    label,
  );
}

const ACTION_KEYS = {
  retry: "device.action.retry",
  reconnect: "device.action.reconnect",
  call_technician: "device.action.call_technician",
};

/** Devices the current step needs that are not ready: a red operator banner with what to do. */
export function deviceBanner(problems) {
  if (!problems || problems.length === 0) return null;
  return h(
    "section",
    { class: "banner bad device-banner", role: "alert", id: "device-banner", "aria-labelledby": "device-banner-title" },
    h("h2", { id: "device-banner-title" }, t("device.banner_title")),
    h(
      "ul",
      {},
      problems.map((p) =>
        h(
          "li",
          { "data-device": p.role, "data-action": p.action },
          h("strong", {}, `${t(`device.role.${p.role}`)}: `),
          has(p.message_key) ? t(p.message_key) : t(`device.state.${p.state}`),
          h("br"),
          h("span", { class: "what-to-do" }, t(ACTION_KEYS[p.action] || "device.action.retry")),
        ),
      ),
    ),
  );
}

/** A "more below" cue on a scrolling box; it goes once the end is in view. */
export function scrollCue(box) {
  const cue = h("div", { class: "scroll-cue", "aria-hidden": "true" }, "▼ ", t("scroll.more"));
  const wrap = h("div", { class: "scroll-wrap" }, box, cue);
  const check = () => {
    const more = box.scrollHeight - box.scrollTop - box.clientHeight > 4;
    cue.hidden = !more;
    wrap.classList.toggle("has-more", more);
  };
  box.addEventListener("scroll", check, { passive: true });
  new ResizeObserver(check).observe(box);
  setTimeout(check, 0);
  return wrap;
}

/** A modal confirmation; resolves true when the first (confirming) button is pressed. */
export function confirmDialog({ title, body = [], yes, no, yesKind = "danger", id = "confirm" }) {
  const dialog = document.getElementById("dialog");
  return new Promise((resolve) => {
    const close = (value) => {
      dialog.close();
      resolve(value);
    };
    mount(
      dialog,
      h("h2", { id: `${id}-title` }, title),
      body.map((p) => (p instanceof Node ? p : h("p", {}, p))),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: `${yesKind} big`, id: `${id}-yes`, onclick: () => close(true) }, yes),
        h("button", { type: "button", class: "big", id: `${id}-no`, onclick: () => close(false) }, no),
      ),
    );
    dialog.setAttribute("aria-labelledby", `${id}-title`);
    dialog.onclose = () => resolve(false);
    dialog.showModal();
  });
}

/**
 * A modal form in the page's one <dialog>: its title (``${id}-title``), the content, the
 * confirming button(s) and "no". ``submit`` runs on the form's submit; it closes the
 * dialog itself when done.
 */
export function modalForm({ id, title, content, actions, submit }) {
  const dialog = document.getElementById("dialog");
  mount(
    dialog,
    h(
      "form",
      {
        class: "stack",
        onsubmit: (event) => {
          event.preventDefault();
          submit(dialog);
        },
      },
      h("h2", { id: `${id}-title` }, title),
      content,
      h("div", { class: "row" }, actions, h("button", { type: "button", class: "big", onclick: () => dialog.close() }, t("cancel.no"))),
    ),
  );
  dialog.setAttribute("aria-labelledby", `${id}-title`);
  dialog.showModal();
  return dialog;
}

// ---------------------------------------------------------------------- pictograms

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) if (child) element.append(child);
  return element;
}

/** A face inside the camera's oval, eyes level: how to stand. */
export function facePictogram(label) {
  return svg(
    "svg",
    { viewBox: "0 0 120 140", class: "pictogram", role: "img", "aria-label": label },
    svg("title", {}, label),
    svg("rect", { x: 4, y: 4, width: 112, height: 132, rx: 14, fill: "none", stroke: "currentColor", "stroke-width": 3 }),
    svg("ellipse", { cx: 60, cy: 62, rx: 30, ry: 40, fill: "none", stroke: "currentColor", "stroke-width": 3, "stroke-dasharray": "6 5" }),
    svg("circle", { cx: 60, cy: 58, r: 22, fill: "none", stroke: "currentColor", "stroke-width": 3 }),
    svg("circle", { cx: 52, cy: 54, r: 3, fill: "currentColor" }),
    svg("circle", { cx: 68, cy: 54, r: 3, fill: "currentColor" }),
    svg("line", { x1: 52, y1: 68, x2: 68, y2: 68, stroke: "currentColor", "stroke-width": 3 }),
    svg("path", { d: "M30 128 Q60 92 90 128", fill: "none", stroke: "currentColor", "stroke-width": 3 }),
  );
}

/** A document flat under the camera, photo side up. */
export function documentPictogram(label) {
  return svg(
    "svg",
    { viewBox: "0 0 140 100", class: "pictogram", role: "img", "aria-label": label },
    svg("title", {}, label),
    svg("rect", { x: 10, y: 20, width: 120, height: 72, rx: 8, fill: "none", stroke: "currentColor", "stroke-width": 3 }),
    svg("rect", { x: 20, y: 32, width: 32, height: 40, rx: 3, fill: "none", stroke: "currentColor", "stroke-width": 3 }),
    svg("line", { x1: 62, y1: 40, x2: 118, y2: 40, stroke: "currentColor", "stroke-width": 3 }),
    svg("line", { x1: 62, y1: 54, x2: 110, y2: 54, stroke: "currentColor", "stroke-width": 3 }),
    svg("line", { x1: 62, y1: 68, x2: 100, y2: 68, stroke: "currentColor", "stroke-width": 3 }),
    svg("path", { d: "M70 4 L70 16 M64 10 L70 16 L76 10", fill: "none", stroke: "currentColor", "stroke-width": 3 }),
  );
}

// --------------------------------------------------------------------- spoken prompts

let audioIndex = null;

async function audioFor(code) {
  if (audioIndex === null) {
    try {
      audioIndex = await get("/api/i18n/audio");
    } catch {
      audioIndex = {};
    }
  }
  return audioIndex[code] || [];
}

/** An instruction in the applicant's language, with a "listen" button when a recording exists. */
export function spoken(key, { id, tag = "p", cls = "" } = {}) {
  const text = h(tag, { id, class: cls }, a(key));
  const region = applicantRegion(h("div", { class: "spoken" }, text));
  const code = applicantLanguage().code;
  audioFor(code).then((keys) => {
    if (!keys.includes(key)) return;
    const player = new Audio(`/api/i18n/audio/${encodeURIComponent(code)}/${encodeURIComponent(key)}.wav`);
    region.append(
      h("button", { type: "button", class: "listen", "aria-label": a("audio.listen"), onclick: () => player.play().catch(() => {}) }, "🔊 ", a("audio.listen")),
    );
  });
  return region;
}

/**
 * A supervisor's name and PIN in a dialog (missing finger, discard, case override,
 * document override, chip decision): the two fields with their labels, the error line,
 * and ``fail`` that shows a refusal (the PIN is cleared) or a message.
 */
export function supervisorFields(nameId, pinId, rowClass = "") {
  const supervisor = h("input", { id: nameId, autocomplete: "off", autocapitalize: "none" });
  const pin = h("input", { id: pinId, type: "password", inputmode: "numeric", autocomplete: "off" });
  const error = h("p", { class: "banner bad", role: "alert", hidden: true });
  return {
    error,
    rows: [
      h("div", { class: rowClass }, h("label", { for: nameId }, t("fingers.supervisor")), supervisor),
      h("div", { class: rowClass }, h("label", { for: pinId }, t("fingers.pin")), pin),
    ],
    values: () => ({ supervisor: supervisor.value.trim(), pin: pin.value }),
    fail(problem) {
      if (typeof problem !== "string") {
        pin.value = "";
        problem = has(problem.code) ? t(problem.code) : t("error.generic", { code: problem.code });
      }
      error.textContent = problem;
      error.hidden = false;
    },
  };
}
