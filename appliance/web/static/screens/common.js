// Helpers of the enrolment screens: the notice banner, cancelling, polling the workflow.

import { del, get, post } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { button, confirmDialog } from "../ui.js";

export const POLL_MS = 500;

export function heading(text, id = "screen-title") {
  return h("h1", { id }, text);
}

export function noticeBanner(app, view) {
  const key = view.problem || view.notice;
  if (!key) return null;
  return h(
    "div",
    { class: `banner ${view.problem ? "bad" : "warn"} row`, role: view.problem ? "alert" : "status" },
    h("span", { class: "grow" }, t(key)),
    h("button", { type: "button", onclick: () => app.act(() => post("/api/workflow/notice/ack")) }, t("notice.ok")),
  );
}

export function cancelButton(app) {
  return button("cancel-enrolment", t("cancel.button"), () => confirmCancel(app), "danger");
}

async function confirmCancel(app) {
  const yes = await confirmDialog({
    title: t("cancel.confirm_title"),
    body: [t("cancel.confirm_text")],
    yes: t("cancel.yes"),
    no: t("cancel.no"),
    id: "cancel",
  });
  if (!yes) return;
  app.leave();
  await app.act(() => del("/api/workflow"));
}

/** Poll the workflow while a screen is shown; a step change re-routes. */
export function poller(app, interval = POLL_MS) {
  const timer = setInterval(async () => {
    try {
      const view = await get("/api/workflow", { passive: true });
      if (!view.active || view.step !== app.view?.step || view.operator !== app.view?.operator) {
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
