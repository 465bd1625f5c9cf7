// The start screen's case panel: what central (or the day's list) says about the case,
// for the operator to compare with the identity document presented, and the supervisor's
// override when the case did not verify. Operator-facing text only.

import { post } from "../api.js";
import { h, mount } from "../dom.js";
import { operatorLanguage, t } from "../i18n.js";
import { modalForm, supervisorFields } from "../ui.js";

const OVERRIDE_REASONS = [
  "case_reopened",
  "appointment_transferred",
  "data_not_yet_synchronised",
  "central_unreachable",
  "aima_instruction",
];

function when(iso, options) {
  return new Date(iso).toLocaleString(operatorLanguage(), options);
}

function windowText(data) {
  const day = when(data.window_start, { dateStyle: "medium" });
  const from = when(data.window_start, { hour: "2-digit", minute: "2-digit" });
  const to = when(data.window_end, { hour: "2-digit", minute: "2-digit" });
  return `${day} ${from}–${to}`;
}

function caseData(data) {
  const rows = [
    ["case.field.full_name", data.full_name, "case-name"],
    ["case.field.date_of_birth", data.date_of_birth, "case-birth"],
    ["case.field.nationality", data.nationality, "case-nationality"],
    ["case.field.document", `${t(`case.document.${data.document_type}`)} ${data.document_number}`, "case-document"],
    ["case.field.case_reference", data.case_reference, "case-reference-found"],
    ["case.field.status", t(`case.status.${data.status}`), "case-status"],
    ["case.field.appointment", windowText(data), "case-appointment"],
  ];
  return h(
    "dl",
    { class: "case-data" },
    rows.map(([label, value, id]) => [h("dt", {}, t(label)), h("dd", { id }, value)]),
  );
}

/** Show a lookup's answer in ``panel``; ``start(body)`` posts the start request. */
export function showCase(panel, check, start) {
  const found = check.outcome === "found";
  const data = check.case;
  const source = h("span", { class: `chip ${check.source === "online" ? "ok" : "ko"}`, id: "case-source" }, t(`case.source.${check.source}`));
  const message = h(
    "p",
    { class: `banner ${found ? "good" : "bad"}`, id: "case-outcome", role: found ? "status" : "alert" },
    t(`case.${check.outcome}`),
  );
  const notToday = data && !data.appointment_today ? h("p", { class: "banner warn", id: "case-not-today" }, t("case.not_today")) : null;
  const actions = found
    ? h("button", {
        type: "button",
        class: "good big",
        id: "confirm-identity",
        onclick: () => start({ identity_confirmed: true }),
      }, t("case.confirm_button"))
    : h("button", {
        type: "button",
        class: "primary big",
        id: "override-case",
        onclick: () => overrideDialog(check, start),
      }, t("case.override_button"));
  mount(
    panel,
    h("h2", { id: "case-title" }, t("case.title"), " ", source),
    message,
    notToday,
    data ? caseData(data) : null,
    data ? h("p", {}, t("case.compare_hint")) : null,
    h("div", { class: "row" }, actions),
  );
  panel.hidden = false;
}

function overrideDialog(check, start) {
  let reason = null;
  const confirm = supervisorFields("override-supervisor", "override-pin");
  const identity = check.case
    ? h("input", { type: "checkbox", id: "override-identity" })
    : null;
  const reasons = h(
    "div",
    { class: "reason-list", role: "group", "aria-label": t("case.override_reason") },
    OVERRIDE_REASONS.map((r) =>
      h("button", {
        type: "button",
        "data-reason": r,
        "aria-pressed": "false",
        onclick: (event) => {
          reason = r;
          for (const b of reasons.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
          event.currentTarget.setAttribute("aria-pressed", "true");
        },
      }, t(`case.reason.${r}`)),
    ),
  );
  modalForm({
    id: "override",
    title: t("case.override_title"),
    content: [
      h("p", {}, t(`case.${check.outcome}`)),
      h("p", {}, t("case.override_hint")),
      reasons,
      identity ? h("div", { class: "row" }, identity, h("label", { for: "override-identity" }, t("case.override_identity"))) : null,
      confirm.rows,
      confirm.error,
    ],
    actions: h("button", { type: "submit", class: "primary big", id: "override-confirm" }, t("case.override_confirm")),
    submit: async (dialog) => {
      if (reason === null) return confirm.fail(t("case.pick_reason"));
      if (identity && !identity.checked) return confirm.fail(t("case.confirm_identity"));
      try {
        await start({ identity_confirmed: Boolean(identity && identity.checked), override: { ...confirm.values(), reason } }, { raise: true });
        dialog.close();
      } catch (e) {
        confirm.fail(e);
      }
      return undefined;
    },
  });
}

/** Ask who the reference names (POST /api/workflow/case). */
export function lookUp(reference) {
  return post("/api/workflow/case", { reference });
}
