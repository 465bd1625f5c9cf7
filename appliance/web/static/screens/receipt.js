// Submitting, the receipt and the aborted notice. The receipt says what is true now:
// "saved on the kiosk, being sent" until central's signed receipt is in, then "received by
// AIMA" with the receipt's id and time. It is bilingual (Portuguese and the applicant's
// language), with a QR code of the packet id; it prints on the receipt printer when one is
// configured, else through the browser (CUPS).

import { ApiError, post } from "../api.js";
import { h, mount } from "../dom.js";
import { applicantBundles, applicantLanguage, inLanguage, t } from "../i18n.js";
import { actionBar, button } from "../ui.js";
import { heading, noticeBanner, poller } from "./common.js";

function status(tr, delivery) {
  if (delivery && delivery.state === "received") {
    return tr("receipt.status_received", {
      id: delivery.receipt_id || "",
      time: (delivery.received_at || "").replace("T", " ").slice(0, 19),
    });
  }
  return tr("receipt.status_stored");
}

function block(code, dir, r, delivery, primary) {
  const tr = (key, params = {}) =>
    inLanguage(code, key).replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  const items = r.items || {};
  const received = delivery && delivery.state === "received";
  return h(
    "section",
    { class: "receipt-block applicant", lang: code, dir, "data-receipt-language": code, "aria-labelledby": `receipt-title-${code}` },
    h(primary ? "h1" : "h2", { id: primary ? "receipt-title" : `receipt-title-${code}` }, tr("receipt.title")),
    h(
      "dl",
      {},
      h("dt", {}, tr("receipt.case")), h("dd", { class: "receipt-case", dir: "ltr" }, r.case_reference),
      h("dt", {}, tr("receipt.date")), h("dd", { dir: "ltr" }, r.submitted_at),
      h("dt", {}, tr("receipt.centre")), h("dd", {}, `${r.municipality || r.site_id} · ${r.kiosk}`),
      h("dt", {}, tr("receipt.items")),
      h(
        "dd",
        {},
        h(
          "ul",
          {},
          h("li", {}, tr("receipt.face", { count: items.face ?? 0 })),
          h("li", {}, tr("receipt.fingers", { count: items.fingers ?? 0 })),
          items.missing_fingers ? h("li", {}, tr("receipt.missing", { count: items.missing_fingers })) : null,
          h("li", {}, tr("receipt.documents", { count: items.documents ?? 0 })),
        ),
      ),
      h("dt", {}, tr("receipt.status_label")),
      h("dd", { class: `receipt-status ${received ? "received" : "stored"}`, "data-status": received ? "received" : "stored" }, received ? "✓ " : "… ", status(tr, delivery)),
    ),
    h("p", {}, tr("receipt.no_biometrics")),
    h("p", {}, received ? tr("receipt.next_steps") : tr("receipt.next_steps_pending")),
    h("p", {}, tr("receipt.keep")),
  );
}

export function receipt(app, view) {
  const body = h("div", { class: "card receipt stack", id: "receipt" });
  const printed = h("p", { role: "status", id: "print-status" });
  let last = "";
  const draw = async (v) => {
    await applicantBundles();
    const key = JSON.stringify(v.delivery);
    if (key === last) return;
    last = key;
    const r = v.receipt || {};
    const code = r.language || applicantLanguage().code;
    const dir = code === "ar" || code === "ur" ? "rtl" : "ltr";
    mount(
      body,
      block("pt-PT", "ltr", r, v.delivery, true),
      code === "pt-PT" ? null : block(code, dir, r, v.delivery, false),
      h("figure", { class: "qr" }, h("img", { src: "/api/workflow/receipt/qr.svg", alt: t("receipt.qr_alt"), id: "receipt-qr" }), h("figcaption", { dir: "ltr" }, r.packet_id)),
    );
  };
  const print = async () => {
    try {
      await post("/api/workflow/receipt/print");
      printed.textContent = t("receipt.printed");
    } catch (e) {
      if (e instanceof ApiError && e.code === "printer.none") window.print();
      else app.error(e);
    }
  };
  mount(app.main, noticeBanner(app, view), body, printed);
  actionBar(
    button("next-applicant", t("receipt.next"), () => app.nextApplicant(), "primary"),
    button("receipt-print", t("receipt.print"), print),
  );
  draw(view);
  const stopPolling = poller(app, 1500);
  return { update: (v) => draw(v), leave: stopPolling };
}

export function submitting(app) {
  mount(app.main, heading(t("submitting.title")), h("p", { role: "status" }, t("submitting.text")));
  actionBar();
  const stop = poller(app, 250);
  return { leave: stop };
}

export function aborted(app, view) {
  mount(
    app.main,
    heading(t("aborted.title")),
    h("p", { class: "banner bad" }, t(view.notice || "workflow.aborted_after_restart")),
    h("p", {}, t("aborted.case", { case: view.case_reference })),
  );
  actionBar(button("aborted-ok", t("notice.ok"), () => app.nextApplicant(), "primary"));
  return {};
}

