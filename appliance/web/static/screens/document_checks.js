// The documents step's checks, for the operator: what the MRZ says and whether it is valid,
// where it differs from the case, the supervisor's override; the chip's authenticity
// verdicts and the 1:1 face match shown side by side, and the supervisor's decision.

import { post } from "../api.js";
import { h } from "../dom.js";
import { has, t } from "../i18n.js";
import { modalForm, supervisorFields } from "../ui.js";

const MRZ_FIELDS = ["surname", "given_names", "document_number", "nationality", "birth_date", "expiry_date", "sex", "issuer"];

function label(prefix, value) {
  return has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : String(value);
}

/** One captured document's MRZ reading, its mismatches with the case and any override. */
export function mrzPanel(app, d) {
  if (d.reading) {
    return h("p", { class: "verdict unknown", "data-verdict": "reading", role: "status" }, t("documents.reading"));
  }
  if (!d.mrz) {
    return h("p", { class: "verdict unknown", "data-verdict": "pending" }, "– ", t("review.document_unchecked"));
  }
  const ok = d.mrz.verdict === "valid";
  const parts = [
    h(
      "p",
      { class: `verdict ${ok ? "ok" : "low"}`, "data-verdict": d.mrz.verdict, "data-mrz-verdict": d.capture_id },
      ok ? "✓ " : "✗ ",
      t(`review.document_${d.mrz.verdict}`),
    ),
  ];
  if (d.mrz.fields) {
    parts.push(
      h(
        "dl",
        { class: "case-data mrz-fields" },
        MRZ_FIELDS.filter((f) => d.mrz.fields[f]).map((f) => [
          h("dt", {}, t(`mrz.field.${f}`)),
          h("dd", { "data-mrz-field": f }, String(d.mrz.fields[f])),
        ]),
      ),
    );
  } else if (d.mrz.reason) {
    parts.push(h("p", { class: "hint" }, label("mrz.reason", d.mrz.reason)));
  }
  if (d.mrz.failed_checks.length) {
    parts.push(h("p", { class: "field-error" }, t("documents.failed_checks", { checks: d.mrz.failed_checks.map((c) => label("mrz.field", c)).join(", ") })));
  }
  if (d.mismatches.length) {
    parts.push(
      h(
        "table",
        { class: "mismatches", "data-mismatches": d.capture_id },
        h("caption", {}, t("documents.mismatch_title")),
        h("tr", {}, h("th", { scope: "col" }, t("documents.col.field")), h("th", { scope: "col" }, t("documents.col.document")), h("th", { scope: "col" }, t("documents.col.case"))),
        d.mismatches.map((m) => h("tr", { "data-mismatch": m.field }, h("th", { scope: "row" }, t(`mrz.field.${m.field}`)), h("td", {}, m.mrz), h("td", {}, m.case))),
      ),
    );
  }
  if (d.override) {
    parts.push(h("p", { class: "banner warn", "data-override": d.capture_id }, t("documents.overridden", { supervisor: d.override.confirmed_by, reason: d.override.reason })));
  } else if (d.blocking) {
    parts.push(
      h("p", { class: "banner bad", role: "alert" }, t("documents.blocked")),
      h(
        "button",
        { type: "button", class: "primary", "data-override-document": d.capture_id, onclick: () => supervisorDialog(app, "document", d.capture_id) },
        t("documents.override_button"),
      ),
    );
  }
  return h("div", { class: "stack mrz-panel" }, parts);
}

/** The chip card: read it, its verdicts, the portrait beside the live capture, the decision. */
export function chipPanel(app, view) {
  const chip = view.chip;
  if (!chip) return null;
  const canRead = view.documents.some((d) => d.mrz && d.mrz.fields) && chip.state !== "reading";
  const rows = [];
  if (chip.state === "reading") rows.push(h("p", { role: "status", id: "chip-state" }, t("chip.state.reading")));
  if (chip.state === "failed") rows.push(h("p", { class: "banner bad", role: "alert", id: "chip-state" }, has(chip.error) ? t(chip.error) : t("chip.state.failed")));
  if (chip.state === "done") {
    const verdict = (key, value, good) => {
      const [head, ...detail] = String(value).split(":");
      const text = label("chip.value", head) + (detail.length ? ` (${detail.join(":").trim()})` : "");
      return h("li", { "data-chip": key, class: good ? "ok" : "low" }, good ? "✓ " : "✗ ", t(`chip.${key}`), ": ", text);
    };
    const notFailed = (value) => !String(value).startsWith("failed");
    rows.push(
      h(
        "ul",
        { class: "chip-verdicts", id: "chip-verdicts" },
        verdict("pa", chip.pa, chip.pa === "passed"),
        chip.active_auth ? verdict("active_auth", chip.active_auth, notFailed(chip.active_auth)) : null,
        chip.chip_auth ? verdict("chip_auth", chip.chip_auth, notFailed(chip.chip_auth)) : null,
        chip.dg1_matches_mrz === null ? null : verdict("dg1", chip.dg1_matches_mrz ? "same" : "different", chip.dg1_matches_mrz),
      ),
    );
    const face = view.face && view.face.capture_id;
    rows.push(
      h(
        "div",
        { class: "side-by-side", id: "chip-faces" },
        chip.portrait ? h("figure", {}, h("img", { src: "/api/workflow/chip/portrait", alt: t("chip.portrait_alt") }), h("figcaption", {}, t("chip.portrait"))) : null,
        face ? h("figure", {}, h("img", { src: `/api/workflow/captures/${face}`, alt: t("chip.live_alt") }), h("figcaption", {}, t("chip.live"))) : null,
      ),
    );
    if (chip.match) {
      rows.push(
        h(
          "p",
          { class: `verdict ${chip.match === "match" ? "ok" : "low"}`, id: "chip-match", "data-match": chip.match },
          chip.match === "match" ? "✓ " : "✗ ",
          t(`chip.match.${chip.match}`),
          chip.distance === null ? "" : ` · ${t("chip.distance", { distance: chip.distance.toFixed(3), threshold: chip.threshold.toFixed(2) })}`,
        ),
      );
    } else if (chip.match_error) {
      rows.push(h("p", { class: "hint", id: "chip-match" }, label("chip.match_error", chip.match_error)));
    }
  }
  if (chip.decision) {
    rows.push(h("p", { class: "banner warn", id: "chip-decision" }, t(chip.decision.accepted ? "chip.decided_accept" : "chip.decided_reject", { supervisor: chip.decision.confirmed_by, reason: chip.decision.reason })));
  } else if (chip.needs_decision) {
    rows.push(
      h("p", { class: "banner bad", role: "alert" }, t("chip.needs_decision")),
      h("button", { type: "button", class: "primary", id: "chip-decide", onclick: () => supervisorDialog(app, "chip") }, t("chip.decision_button")),
    );
  }
  return h(
    "section",
    { class: "card stack", id: "chip-panel", "aria-labelledby": "chip-title" },
    h("h2", { id: "chip-title" }, t("chip.title")),
    h("p", { class: "hint" }, t("chip.hint")),
    rows,
    h("button", { type: "button", class: "big", id: "chip-read", disabled: !canRead, onclick: () => app.act(() => post("/api/workflow/chip")) }, chip.state === "idle" ? t("chip.read") : t("chip.read_again")),
  );
}

/** A supervisor's PIN and reason: override a document's check, or decide on the chip. */
function supervisorDialog(app, what, captureId) {
  const confirm = supervisorFields("decision-supervisor", "decision-pin");
  const reason = h("input", { id: "decision-reason", maxlength: "200", autocomplete: "off" });
  let dialog = null;
  const send = async (accepted) => {
    const body = { ...confirm.values(), reason: reason.value.trim() };
    try {
      if (what === "document") await post(`/api/workflow/documents/${captureId}/override`, body);
      else await post("/api/workflow/chip/decision", { ...body, accepted });
      dialog.close();
      await app.refresh();
    } catch (e) {
      confirm.fail(e);
    }
  };
  const actions =
    what === "document"
      ? [h("button", { type: "submit", class: "primary big", id: "decision-confirm" }, t("documents.override_confirm"))]
      : [
          h("button", { type: "submit", class: "good big", id: "decision-confirm" }, t("chip.decision_accept")),
          h("button", { type: "button", class: "danger big", id: "decision-reject", onclick: () => send(false) }, t("chip.decision_reject")),
        ];
  dialog = modalForm({
    id: "decision",
    title: t(what === "document" ? "documents.override_title" : "chip.decision_title"),
    content: [
      h("p", {}, t(what === "document" ? "documents.override_hint" : "chip.decision_hint")),
      h("div", {}, h("label", { for: "decision-reason" }, t("decision.reason")), reason),
      confirm.rows,
      confirm.error,
    ],
    actions,
    submit: () => send(true),
  });
}
