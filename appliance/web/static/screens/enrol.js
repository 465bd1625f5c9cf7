// The enrolment screens, one per workflow step. Applicant-facing text (instructions,
// prompts, consent, receipt) is in the applicant's language; the operator's controls are
// in the operator's language.

import { del, get, post } from "../api.js";
import { h, mount } from "../dom.js";
import { a, applicantRegion, has, hasApplicant, t } from "../i18n.js";
import { lookUp, showCase } from "./case_panel.js";

const POLL_MS = 500;

function heading(text, id = "screen-title") {
  return h("h1", { id }, text);
}

function noticeBanner(app, view) {
  const key = view.problem || view.notice;
  if (!key) return null;
  return h(
    "div",
    { class: `banner ${view.problem ? "bad" : "warn"} row`, role: view.problem ? "alert" : "status" },
    h("span", { class: "grow" }, t(key)),
    h("button", { type: "button", onclick: () => app.act(() => post("/api/workflow/notice/ack")) }, t("notice.ok")),
  );
}

function cancelButton(app) {
  return h(
    "button",
    { type: "button", class: "danger", id: "cancel-enrolment", onclick: () => confirmCancel(app) },
    t("cancel.button"),
  );
}

function confirmCancel(app) {
  const dialog = document.getElementById("dialog");
  mount(
    dialog,
    h("h2", {}, t("cancel.confirm_title")),
    h("p", {}, t("cancel.confirm_text")),
    h(
      "div",
      { class: "row" },
      h("button", {
        type: "button",
        class: "danger big",
        id: "cancel-confirm",
        onclick: async () => {
          dialog.close();
          app.leave();
          await app.act(() => del("/api/workflow"));
        },
      }, t("cancel.yes")),
      h("button", { type: "button", class: "big", onclick: () => dialog.close() }, t("cancel.no")),
    ),
  );
  dialog.showModal();
}

function poller(app, interval = POLL_MS) {
  const timer = setInterval(async () => {
    try {
      const view = await get("/api/workflow", { passive: true });
      if (!view.active || view.step !== app.view?.step) {
        app.leave();
        await app.route();
        return;
      }
      app.view = view;
      app.current?.update?.(view);
    } catch {
      /* auth problems are handled by the api listener */
    }
  }, interval);
  return () => clearInterval(timer);
}

// ------------------------------------------------------------------------------ start

export function start(app, view) {
  const input = h("input", {
    id: "case-reference",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    pattern: "[A-Za-z0-9\\/_.\\-]{3,64}",
    required: true,
    value: app.draftCase || "",
    oninput: (event) => {
      app.draftCase = event.currentTarget.value;
    },
  });
  const previewBox = h("div", { class: "preview", hidden: true });
  const status = h("div", { class: "chips", id: "device-chips" });
  const scanButton = h(
    "button",
    {
      type: "button",
      id: "scan-qr",
      class: "big",
      onclick: async () => {
        scanButton.disabled = true;
        mount(previewBox, h("img", { src: "/api/workflow/preview/document.mjpg", alt: t("start.scan_preview") }));
        previewBox.hidden = false;
        const found = await app.act(() => post("/api/workflow/scan", { timeout_s: 8 }), { refresh: false });
        previewBox.hidden = true;
        mount(previewBox);
        scanButton.disabled = false;
        if (found) {
          input.value = found.case_reference;
          app.draftCase = found.case_reference;
        }
      },
    },
    t("start.scan"),
  );
  const welcome = applicantRegion(
    h("div", { class: "card" }, h("h2", {}, a("welcome.title")), h("p", {}, a("welcome.text"))),
  );
  // The case panel: looked up first, the enrolment starts only from it (case_panel.js).
  const panel = h("section", { class: "card stack", id: "case-panel", "aria-labelledby": "case-title", hidden: true });
  let looked = null;
  const begin = async (extra, { raise = false } = {}) => {
    const language = document.querySelector("#langbar [aria-pressed='true']")?.dataset.language || "pt-PT";
    const body = { case_reference: looked, language, ...extra };
    if (raise) {
      await post("/api/workflow", body);
      app.draftCase = "";
      await app.refresh();
      return;
    }
    app.draftCase = "";
    await app.act(() => post("/api/workflow", body));
  };
  input.addEventListener("input", () => {
    panel.hidden = true;
    looked = null;
  });
  const form = h(
    "form",
    {
      class: "card stack",
      onsubmit: async (event) => {
        event.preventDefault();
        const reference = input.value.trim();
        const check = await app.act(() => lookUp(reference), { refresh: false });
        if (!check) return;
        looked = reference;
        showCase(panel, check, begin);
        panel.scrollIntoView?.({ block: "nearest" });
      },
    },
    heading(t("start.title")),
    h("p", {}, t("start.hint")),
    h("div", {}, h("label", { for: "case-reference" }, t("start.case_reference")), input),
    h("div", { class: "row" }, scanButton, h("button", { type: "submit", class: "primary big", id: "start-enrolment" }, t("start.look_up"))),
    previewBox,
  );
  mount(app.main, noticeBanner(app, view), welcome, form, panel, h("section", { class: "card", "aria-labelledby": "devices-title" }, h("h2", { id: "devices-title" }, t("start.devices")), status));
  const refreshDevices = async () => {
    try {
      const [devices, outbox, cases] = await Promise.all([
        get("/api/devices", { passive: true }),
        get("/api/outbox", { passive: true }).catch(() => null),
        get("/api/cases", { passive: true }).catch(() => null),
      ]);
      mount(
        status,
        devices.devices.map((d) =>
          h("span", { class: `chip ${d.state === "ready" ? "ok" : "ko"}` }, `${t(`device.role.${d.role}`)}: ${t(`device.state.${d.state}`)}`),
        ),
        outbox ? h("span", { class: `chip ${outbox.warn ? "ko" : "ok"}` }, t("start.outbox", { depth: outbox.depth })) : null,
        cases
          ? h(
              "span",
              { class: `chip ${cases.day_list_day ? "ok" : "ko"}`, id: "day-list-chip" },
              cases.day_list_day ? t("start.day_list", { count: cases.day_list_appointments }) : t("start.no_day_list"),
            )
          : null,
        cases && cases.check_ins_pending
          ? h("span", { class: "chip ko", id: "check-ins-chip" }, t("start.check_ins", { count: cases.check_ins_pending }))
          : null,
      );
    } catch {
      /* shown again on the next refresh */
    }
  };
  refreshDevices();
  const timer = setInterval(refreshDevices, 5000);
  return { leave: () => clearInterval(timer), update: () => {} };
}

// ---------------------------------------------------------------------------- consent

export function consent(app, view) {
  const paragraphs = ["intro", "controller", "purpose", "data", "legal_basis", "retention", "rights", "contact"];
  const text = applicantRegion(
    h(
      "section",
      { class: "card", "aria-labelledby": "consent-title" },
      h("h1", { id: "consent-title" }, a("consent.title")),
      h("div", { class: "consent-text", tabindex: "0" }, paragraphs.map((p) => h("p", {}, a(`consent.${p}`)))),
      h("p", {}, h("strong", {}, a("consent.question"))),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: "good big", id: "consent-agree", onclick: () => app.act(() => post("/api/workflow/consent", { accepted: true })) }, a("consent.agree")),
        h("button", { type: "button", class: "danger big", id: "consent-decline", onclick: () => app.act(() => post("/api/workflow/consent", { accepted: false })) }, a("consent.decline")),
      ),
    ),
  );
  mount(app.main, noticeBanner(app, view), h("p", {}, t("consent.operator_hint", { case: view.case_reference })), text, h("div", { class: "row no-print" }, cancelButton(app)));
  return {};
}

// ------------------------------------------------------------------------------- face

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
  const instructions = applicantRegion(h("p", { id: "face-instructions" }));
  const preview = h("div", { class: "preview", id: "face-preview" });
  const controls = h("div", { class: "stack" });
  let stream = null;
  let mode = null;

  const showLive = () => {
    mode = "live";
    mount(preview, h("img", { src: `/api/workflow/preview/face.mjpg?t=${Date.now()}`, alt: t("face.preview_alt"), id: "face-live" }));
    stream = new EventSource("/api/workflow/preview/face/guidance");
    stream.onmessage = (event) => {
      const analysis = JSON.parse(event.data);
      prompt.textContent = promptText(analysis);
      prompt.classList.toggle("ok", frameOk(analysis));
    };
    mount(
      controls,
      h("button", { type: "button", class: "big", id: "face-capture", onclick: () => app.act(() => post("/api/workflow/face/capture")) }, t("face.capture_now")),
      cancelButton(app),
    );
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
      controls,
      h("p", {}, v.face.auto ? t("face.auto_note") : t("face.manual_note")),
      h("button", { type: "button", class: "good big", id: "face-accept", onclick: () => app.act(() => post("/api/workflow/face/accept")) }, t("face.accept")),
      h("button", { type: "button", class: "big", id: "face-retake", onclick: () => app.act(() => post("/api/workflow/face/retake")) }, t("face.retake")),
      cancelButton(app),
    );
  };
  const update = (v) => {
    if (v.face.status === "captured" && mode !== "captured") showCaptured(v);
    else if (v.face.status === "live" && mode !== "live") showLive();
    if (v.face.device_error) prompt.textContent = t(v.face.device_error);
  };
  const relabel = () => {
    applicantRegion(prompt);
    applicantRegion(instructions);
    instructions.textContent = a("face.instructions");
    if (mode === "captured") prompt.textContent = a("face.captured");
  };
  mount(
    app.main,
    noticeBanner(app, view),
    heading(t("face.title")),
    h("div", { class: "capture" }, preview, h("div", { class: "stack" }, instructions, prompt, controls)),
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

// ----------------------------------------------------------------------- fingerprints

const FINGER_REASONS = ["XX", "UP"];

function fingerLabel(position) {
  return t(`finger.name.${position}`);
}

function missingDialog(app) {
  const dialog = document.getElementById("dialog");
  let position = null;
  let reason = "XX";
  const supervisor = h("input", { id: "supervisor-name", autocomplete: "off", autocapitalize: "none" });
  const pin = h("input", { id: "supervisor-pin", type: "password", inputmode: "numeric", autocomplete: "off" });
  const error = h("p", { class: "banner bad", role: "alert", hidden: true });
  const fingers = h(
    "div",
    { class: "picker", role: "group", "aria-label": t("fingers.which") },
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((p) =>
      h("button", {
        type: "button",
        "data-position": p,
        "aria-pressed": "false",
        onclick: (event) => {
          position = p;
          for (const b of fingers.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
          event.currentTarget.setAttribute("aria-pressed", "true");
        },
      }, fingerLabel(p)),
    ),
  );
  const reasons = h(
    "div",
    { class: "row", role: "group", "aria-label": t("fingers.reason") },
    FINGER_REASONS.map((r) =>
      h("button", {
        type: "button",
        "data-reason": r,
        "aria-pressed": String(r === reason),
        onclick: (event) => {
          reason = r;
          for (const b of reasons.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
          event.currentTarget.setAttribute("aria-pressed", "true");
        },
      }, t(`fingers.reason.${r}`)),
    ),
  );
  mount(
    dialog,
    h(
      "form",
      {
        class: "stack",
        onsubmit: async (event) => {
          event.preventDefault();
          if (position === null) {
            error.textContent = t("fingers.pick_finger");
            error.hidden = false;
            return;
          }
          try {
            await post("/api/workflow/fingers/missing", { position, reason, supervisor: supervisor.value.trim(), pin: pin.value });
            dialog.close();
            await app.refresh();
          } catch (e) {
            pin.value = "";
            error.textContent = has(e.code) ? t(e.code) : t("error.generic", { code: e.code });
            error.hidden = false;
          }
        },
      },
      h("h2", {}, t("fingers.missing_title")),
      h("p", {}, t("fingers.missing_hint")),
      fingers,
      reasons,
      h("div", {}, h("label", { for: "supervisor-name" }, t("fingers.supervisor")), supervisor),
      h("div", {}, h("label", { for: "supervisor-pin" }, t("fingers.pin")), pin),
      error,
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit", class: "primary big", id: "missing-confirm" }, t("fingers.confirm")),
        h("button", { type: "button", class: "big", onclick: () => dialog.close() }, t("cancel.no")),
      ),
    ),
  );
  dialog.showModal();
}

function slapCard(app, slap) {
  const byPosition = new Map(slap.fingers.map((f) => [f.position, f]));
  const busy = slap.status === "capturing";
  const event = slap.event && busy ? a(slap.event) : "";
  const feedback = slap.fingers.flatMap((f) => f.feedback || []);
  return h(
    "section",
    { class: "card slap", "data-slap": slap.kind, "aria-labelledby": `title-${slap.kind}` },
    h("h2", { id: `title-${slap.kind}` }, t(`slap.${slap.kind}`)),
    applicantRegion(h("p", {}, busy ? event || a(`finger.instruction.${slap.kind}`) : a(`finger.instruction.${slap.kind}`))),
    h(
      "div",
      { class: "fingers" },
      slap.positions.map((position) => {
        const finger = byPosition.get(position);
        const missing = slap.missing.includes(position);
        const cls = missing ? "missing" : finger ? (finger.accepted ? "ok" : "low") : "";
        return h(
          "div",
          { class: `finger ${cls}`, "data-position": position },
          h("span", {}, fingerLabel(position)),
          h("span", { class: "score" }, missing ? "—" : finger ? String(finger.nfiq2 ?? "?") : "·"),
          h("span", {}, missing ? t("fingers.missing") : finger ? (finger.accepted ? t("fingers.ok") : t("fingers.low")) : ""),
        );
      }),
    ),
    h("p", { class: "status", role: "status" },
      t(`fingers.status.${slap.status}`),
      slap.attempts ? ` · ${t("fingers.attempts", { count: slap.attempts })}` : "",
      slap.error ? ` · ${has(slap.error) ? t(slap.error) : slap.error}` : "",
    ),
    feedback.length && !slap.accepted ? applicantRegion(h("p", {}, a(feedback[0]))) : null,
    h(
      "button",
      {
        type: "button",
        class: slap.status === "pending" ? "primary big" : "big",
        "data-capture": slap.kind,
        disabled: busy,
        onclick: () => app.act(() => post(`/api/workflow/fingers/${slap.kind}/capture`)),
      },
      slap.status === "pending" ? t("fingers.capture") : t("fingers.retry"),
    ),
  );
}

export function fingerprints(app, view) {
  const slaps = h("div", { class: "slaps" });
  const exceptions = h("div", { class: "stack" });
  const problems = h("div", {});
  const continueButton = h("button", { type: "button", class: "good big", id: "fingers-continue", onclick: () => app.act(() => post("/api/workflow/fingers/done")) }, t("fingers.continue"));
  const update = (v) => {
    const fingers = v.fingers;
    mount(slaps, fingers.slaps.map((slap) => slapCard(app, slap)));
    mount(
      exceptions,
      fingers.exceptions.map((e) =>
        h(
          "div",
          { class: "banner warn row", "data-exception": e.position },
          h("span", { class: "grow" }, t("fingers.exception_line", { finger: fingerLabel(e.position), reason: t(`fingers.reason.${e.reason}`), supervisor: e.confirmed_by })),
          h("button", { type: "button", onclick: () => app.act(() => del(`/api/workflow/fingers/missing/${e.position}`)) }, t("fingers.remove_exception")),
        ),
      ),
    );
    mount(problems, fingers.problems.map((p) => h("p", { class: "banner bad" }, t(p.split(":")[0]))));
    continueButton.disabled = !fingers.complete || fingers.problems.length > 0;
  };
  mount(
    app.main,
    noticeBanner(app, view),
    heading(t("fingers.title")),
    slaps,
    exceptions,
    problems,
    h("div", { class: "row" },
      continueButton,
      h("button", { type: "button", class: "big", id: "missing-finger", onclick: () => missingDialog(app) }, t("fingers.missing_button")),
      cancelButton(app),
    ),
  );
  update(view);
  const stopPolling = poller(app);
  return { update, leave: stopPolling };
}

// -------------------------------------------------------------------------- documents

const DOCUMENT_KINDS = ["passport", "residence_permit", "id_card", "other"];

export function documents(app, view) {
  let kind = "passport";
  const instructions = applicantRegion(h("p", { class: "prompt ok", id: "document-instructions" }));
  const preview = h("div", { class: "preview" }, h("img", { src: "/api/workflow/preview/document.mjpg", alt: t("documents.preview_alt"), id: "document-live" }));
  const kinds = h(
    "div",
    { class: "row", role: "group", "aria-label": t("documents.kind") },
    DOCUMENT_KINDS.map((k) =>
      h("button", {
        type: "button",
        "data-kind": k,
        "aria-pressed": String(k === kind),
        onclick: (event) => {
          kind = k;
          for (const b of kinds.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
          event.currentTarget.setAttribute("aria-pressed", "true");
        },
      }, t(`document.kind.${k}`)),
    ),
  );
  const list = h("div", { class: "thumbs", id: "document-list" });
  const continueButton = h("button", { type: "button", class: "good big", id: "documents-continue", onclick: () => app.act(() => post("/api/workflow/documents/done")) }, t("documents.continue"));
  let shown = "";
  const update = (v) => {
    const key = v.documents.map((d) => d.capture_id).join(",");
    continueButton.disabled = v.documents.length === 0;
    if (key === shown) return;
    shown = key;
    mount(
      list,
      v.documents.map((d) =>
        h(
          "figure",
          { class: "thumb card" },
          h("img", { src: `/api/workflow/captures/${d.capture_id}`, alt: t(`document.kind.${d.kind}`) }),
          h("figcaption", {}, `${t(`document.kind.${d.kind}`)} · ${d.corrected ? t("documents.corrected") : t("documents.not_corrected")}`),
          h("button", { type: "button", class: "danger", onclick: () => app.act(() => del(`/api/workflow/documents/${d.capture_id}`)) }, t("documents.remove")),
        ),
      ),
    );
  };
  const relabel = () => {
    applicantRegion(instructions);
    instructions.textContent = a("document.instruction");
  };
  mount(
    app.main,
    noticeBanner(app, view),
    heading(t("documents.title")),
    h(
      "div",
      { class: "capture" },
      preview,
      h("div", { class: "stack" },
        instructions,
        kinds,
        h("button", { type: "button", class: "primary big", id: "document-capture", onclick: () => app.act(() => post("/api/workflow/documents", { kind })) }, t("documents.capture")),
        continueButton,
        cancelButton(app),
      ),
    ),
    list,
  );
  relabel();
  update(view);
  return {
    update,
    relabel,
    leave: () => {
      mount(preview); // closes the stream
    },
  };
}

// ----------------------------------------------------------------------------- review

export function review(app, view) {
  const missing = view.fingers.exceptions.length;
  const fingerCount = view.fingers.slaps.reduce((n, s) => n + s.fingers.length, 0);
  const goto = (step) => app.act(() => post("/api/workflow/goto", { step }));
  mount(
    app.main,
    noticeBanner(app, view),
    heading(t("review.title")),
    h(
      "section",
      { class: "card stack" },
      h("p", {}, h("strong", {}, t("review.case")), " ", h("span", { id: "review-case" }, view.case_reference)),
      h("p", {}, h("strong", {}, t("review.language")), " ", document.querySelector(`#langbar [data-language='${view.language}']`)?.textContent || view.language),
      h("p", {}, h("strong", {}, t("review.consent")), " ", t("review.consent_given")),
    ),
    h(
      "div",
      { class: "thumbs" },
      view.face.capture_id
        ? h("figure", { class: "thumb card" }, h("img", { src: `/api/workflow/captures/${view.face.capture_id}`, alt: t("face.captured_alt") }), h("figcaption", {}, t("review.face")),
            h("button", { type: "button", onclick: () => goto("face") }, t("review.retake")))
        : null,
      h("section", { class: "card thumb" }, h("h2", {}, t("review.fingers")), h("p", {}, t("review.fingers_summary", { count: fingerCount, missing })),
        h("button", { type: "button", onclick: () => goto("fingerprints") }, t("review.retake"))),
      view.documents.map((d) =>
        h("figure", { class: "thumb card" }, h("img", { src: `/api/workflow/captures/${d.capture_id}`, alt: t(`document.kind.${d.kind}`) }), h("figcaption", {}, t(`document.kind.${d.kind}`)),
          h("button", { type: "button", onclick: () => goto("documents") }, t("review.retake"))),
      ),
    ),
    view.provisioned ? null : h("p", { class: "banner bad" }, t("not_provisioned")),
    view.sealing && view.sealing.state === "failed"
      ? h("p", { class: "banner bad", role: "alert", id: "seal-failed" }, t(view.sealing.error || "seal.failed"))
      : null,
    h(
      "div",
      { class: "row" },
      h("button", {
        type: "button",
        class: "good big",
        id: "submit-enrolment",
        disabled: !view.can_submit,
        onclick: async (event) => {
          event.currentTarget.disabled = true;
          await app.act(() => post("/api/workflow/submit"));
        },
      }, t("review.submit")),
      cancelButton(app),
    ),
  );
  return {};
}

export function submitting(app) {
  mount(app.main, heading(t("submitting.title")), h("p", { role: "status" }, t("submitting.text")));
  const stop = poller(app, 250);
  return { leave: stop };
}

// ---------------------------------------------------------------------------- receipt

export function receipt(app, view) {
  const r = view.receipt || {};
  const items = r.items || {};
  const body = applicantRegion(
    h(
      "section",
      { class: "card receipt stack", id: "receipt", "aria-labelledby": "receipt-title" },
      h("h1", { id: "receipt-title" }, a("receipt.title")),
      h(
        "dl",
        {},
        h("dt", {}, a("receipt.case")), h("dd", { id: "receipt-case", dir: "ltr" }, r.case_reference),
        h("dt", {}, a("receipt.date")), h("dd", { dir: "ltr" }, r.submitted_at),
        h("dt", {}, a("receipt.centre")), h("dd", { dir: "ltr" }, `${r.site_id} · ${r.kiosk}`),
        h("dt", {}, a("receipt.items")),
        h("dd", {},
          h("ul", {},
            h("li", {}, a("receipt.face", { count: items.face ?? 0 })),
            h("li", {}, a("receipt.fingers", { count: items.fingers ?? 0 })),
            items.missing_fingers ? h("li", {}, a("receipt.missing", { count: items.missing_fingers })) : null,
            h("li", {}, a("receipt.documents", { count: items.documents ?? 0 })),
          ),
        ),
      ),
      h("p", {}, a("receipt.no_biometrics")),
      h("p", {}, a("receipt.next_steps")),
      h("p", {}, a("receipt.keep")),
    ),
  );
  mount(
    app.main,
    noticeBanner(app, view),
    body,
    h("div", { class: "row no-print" },
      h("button", { type: "button", class: "big", id: "receipt-print", onclick: () => window.print() }, t("receipt.print")),
      h("button", { type: "button", class: "primary big", id: "next-applicant", onclick: () => app.act(() => post("/api/workflow/finish")) }, t("receipt.next")),
    ),
  );
  return {};
}

export function aborted(app, view) {
  mount(
    app.main,
    heading(t("aborted.title")),
    h("p", { class: "banner bad" }, t(view.notice || "workflow.aborted_after_restart")),
    h("p", {}, t("aborted.case", { case: view.case_reference })),
    h("button", { type: "button", class: "primary big", id: "aborted-ok", onclick: () => app.act(() => post("/api/workflow/finish")) }, t("notice.ok")),
  );
  return {};
}
