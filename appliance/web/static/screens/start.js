// The start screen (multilingual welcome, case reference looked up and shown in the case
// panel before anything starts, device readiness) and the
// handover screen (another user's enrolment: resume or discard).

import { ApiError, get, post } from "../api.js";
import { h, mount } from "../dom.js";
import { a, applicantBundles, applicantLanguage, applicantRegion, inLanguage, languages, t } from "../i18n.js";
import { actionBar, button, confirmDialog, deviceBanner, modalForm, supervisorFields } from "../ui.js";
import { lookUp, showCase } from "./case_panel.js";
import { heading, noticeBanner } from "./common.js";

const CASE_PATTERN = /^[A-Za-z0-9/_.-]{3,64}$/;

function welcome(app) {
  const current = applicantLanguage().code;
  const grid = h("div", { class: "welcome-grid", role: "group", "aria-labelledby": "welcome-title" });
  const section = h(
    "section",
    { class: "card welcome", "aria-labelledby": "welcome-title" },
    applicantRegion(h("h2", { id: "welcome-title" }, a("welcome.title"))),
    grid,
    applicantRegion(h("p", { id: "welcome-text" }, a("welcome.text"))),
  );
  applicantBundles().then(() => {
    mount(
      grid,
      languages().map((language) =>
        h(
          "button",
          {
            type: "button",
            class: "welcome-language",
            lang: language.code,
            dir: language.dir,
            "data-welcome-language": language.code,
            "aria-pressed": String(language.code === current),
            onclick: () => app.switchApplicantLanguage(language.code),
          },
          h("span", { class: "language-name" }, language.name),
          h("span", { class: "language-ask" }, inLanguage(language.code, "welcome.choose")),
        ),
      ),
    );
  });
  return section;
}

export function start(app, view) {
  const error = h("p", { class: "field-error", id: "case-error", role: "alert", hidden: true });
  const refused = h("div", { id: "start-refused" });
  const devicesArea = h("div", {}, deviceBanner(view.devices));
  const input = h("input", {
    id: "case-reference",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    inputmode: "text",
    "aria-describedby": "case-hint case-error",
    value: app.draftCase || "",
    oninput: (event) => {
      app.draftCase = event.currentTarget.value;
      error.hidden = true;
    },
  });
  // The case panel: looked up first, the enrolment starts only from it (case_panel.js).
  const panel = h("section", { class: "card stack", id: "case-panel", "aria-labelledby": "case-title", hidden: true });
  let looked = null;
  input.addEventListener("input", () => {
    panel.hidden = true;
    looked = null;
  });
  const previewBox = h("div", { class: "preview", hidden: true });
  const chips = h("div", { class: "chips", id: "device-chips" });
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
  const lookUpCase = async () => {
    const reference = input.value.trim();
    if (!CASE_PATTERN.test(reference)) {
      error.textContent = t("start.case_invalid");
      error.hidden = false;
      input.focus();
      return;
    }
    mount(refused);
    const check = await app.act(() => lookUp(reference), { refresh: false });
    if (!check) return;
    looked = reference;
    showCase(panel, check, startCase);
    panel.scrollIntoView?.({ block: "nearest" });
  };
  // ``extra``: identity_confirmed and, from the override dialog (``raise``), the
  // supervisor's override; errors other than the two below go back to that dialog.
  const startCase = async (extra, { raise = false, acknowledge = false } = {}) => {
    mount(refused);
    try {
      await post("/api/workflow", {
        case_reference: looked,
        language: applicantLanguage().code,
        acknowledge_duplicate: acknowledge,
        ...extra,
      });
      app.draftCase = "";
      await app.refresh();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.code === "workflow.devices_not_ready") {
        document.getElementById("dialog").close?.();
        mount(refused, h("p", { class: "banner bad", role: "alert" }, t("start.refused_devices")));
        mount(devicesArea, deviceBanner(e.body.devices));
        refused.scrollIntoView({ block: "nearest" });
      } else if (e.code.startsWith("case.already_")) {
        document.getElementById("dialog").close?.();
        const when = new Date(e.body.at * 1000).toLocaleString(app.locale());
        const yes = await confirmDialog({
          title: t("case.duplicate_title"),
          body: [t(e.code, { when }), t("case.duplicate_question")],
          yes: t("case.duplicate_continue"),
          no: t("case.duplicate_stop"),
          yesKind: "primary",
          id: "duplicate",
        });
        if (yes) await startCase(extra, { acknowledge: true });
      } else if (raise) {
        throw e;
      } else {
        app.error(e);
      }
    }
  };
  const form = h(
    "form",
    {
      class: "card stack",
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        lookUpCase();
      },
    },
    heading(t("start.title")),
    h("p", {}, t("start.hint")),
    h(
      "div",
      {},
      h("label", { for: "case-reference" }, t("start.case_reference")),
      input,
      h("p", { class: "hint", id: "case-hint" }, t("start.case_format")),
      error,
    ),
    h("div", { class: "row" }, scanButton),
    previewBox,
  );
  mount(
    app.main,
    noticeBanner(app, view),
    refused,
    devicesArea,
    h("div", { class: "start-grid" }, welcome(app), h("div", { class: "stack" }, form, panel)),
    h("section", { class: "card", "aria-labelledby": "devices-title" }, h("h2", { id: "devices-title" }, t("start.devices")), chips),
  );
  actionBar(button("start-enrolment", t("start.look_up"), () => lookUpCase(), "primary"));
  const refreshDevices = async () => {
    try {
      const [devices, cases] = await Promise.all([
        get("/api/devices", { passive: true }),
        get("/api/cases", { passive: true }).catch(() => null),
      ]);
      mount(
        chips,
        devices.devices.map((d) => {
          const ok = d.state === "ready" || d.state === "busy";
          return h("span", { class: `chip ${ok ? "ok" : "ko"}` }, ok ? "✓ " : "✗ ", `${t(`device.role.${d.role}`)}: ${t(`device.state.${d.state}`)}`);
        }),
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

// ---------------------------------------------------------------------------- handover

export function handover(app, view) {
  const sameRole = view.operator_role === app.me.role;
  const resume = () => app.act(() => post("/api/workflow/resume"));
  const discard = async () => {
    if (!view.has_captures) {
      const yes = await confirmDialog({
        title: t("handover.discard_title"),
        body: [t("handover.discard_text")],
        yes: t("handover.discard"),
        no: t("cancel.no"),
        id: "discard",
      });
      if (yes) await app.act(() => post("/api/workflow/discard", {}));
      return;
    }
    supervisorDiscard(app);
  };
  mount(
    app.main,
    heading(t("handover.title")),
    h(
      "section",
      { class: "card stack" },
      h("p", { id: "handover-text" }, t("handover.text", { operator: view.operator, step: t(`step.${view.step}`) })),
      view.paused ? h("p", {}, t("handover.paused")) : null,
      h("p", {}, view.has_captures ? t("handover.has_captures") : t("handover.no_captures")),
      sameRole ? null : h("p", { class: "banner warn", id: "handover-other-role" }, t("handover.other_role", { role: t(`role.${view.operator_role}`) })),
    ),
  );
  actionBar(
    sameRole ? button("handover-resume", t("handover.resume"), resume, "primary") : null,
    button("handover-discard", t("handover.discard"), discard, "danger"),
  );
  return {};
}

function supervisorDiscard(app) {
  const confirm = supervisorFields("discard-supervisor", "discard-pin");
  modalForm({
    id: "discard",
    title: t("handover.discard_title"),
    content: [h("p", {}, t("handover.discard_supervisor")), confirm.rows, confirm.error],
    actions: h("button", { type: "submit", class: "danger big", id: "discard-confirm" }, t("handover.discard")),
    submit: async (dialog) => {
      try {
        await post("/api/workflow/discard", confirm.values());
        dialog.close();
        await app.refresh();
      } catch (e) {
        confirm.fail(e);
      }
    },
  });
}
