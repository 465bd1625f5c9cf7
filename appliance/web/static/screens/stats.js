// The supervisor's Statistics page: this kiosk's service ledger for the day, the week or
// the month (enrolments, deliveries, exceptions, no-shows, average software and wall time,
// quality reject rates by check), with a CSV export. The figures come from the record of
// operations (GET /api/stats); the CSV is GET /api/stats.csv.

import { get } from "../api.js";
import { h, mount } from "../dom.js";
import { has, operatorLanguage, t } from "../i18n.js";

const PERIODS = ["day", "week", "month"];
const COUNTS = ["started", "completed", "delivered", "cancelled", "consent_refused", "exceptions", "check_ins"];

function number(value, digits = 1) {
  if (value === null || value === undefined) return "—";
  return Number(value).toLocaleString(operatorLanguage(), { maximumFractionDigits: digits });
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${number(value * 100, 1)} %`;
}

function checkLabel(name) {
  const [kind, ...rest] = name.split(".");
  const kindLabel = has(`stats.kind.${kind}`) ? t(`stats.kind.${kind}`) : kind;
  if (!rest.length) return kindLabel;
  const check = rest.join(".");
  return `${kindLabel} · ${has(`stats.check.${check}`) ? t(`stats.check.${check}`) : check}`;
}

function row(label, value, id) {
  return h("tr", {}, h("th", { scope: "row" }, label), h("td", { id }, value));
}

export function statistics(app) {
  let period = "day";
  const title = h("h1", { id: "screen-title" }, t("stats.title"));
  const range = h("p", { class: "muted", id: "stats-range" });
  const totals = h("tbody", {});
  const rejects = h("tbody", {});
  const days = h("tbody", {});
  const exportLink = h("a", { class: "button", id: "stats-csv", download: "" }, t("stats.export_csv"));
  const buttons = PERIODS.map((name) =>
    h(
      "button",
      {
        type: "button",
        "data-period": name,
        "aria-pressed": String(name === period),
        onclick: () => {
          period = name;
          refresh();
        },
      },
      t(`stats.period.${name}`),
    ),
  );

  const refresh = async () => {
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.period === period));
    exportLink.setAttribute("href", `/api/stats.csv?period=${period}`);
    let data;
    try {
      data = await get(`/api/stats?period=${period}`, { passive: true });
    } catch (error) {
      app.error(error);
      return;
    }
    const s = data.summary;
    range.textContent = t("stats.range", { first: data.first_day, last: data.last_day, site: data.site_id });
    mount(
      totals,
      COUNTS.map((key) => row(t(`stats.count.${key}`), number(s.counts[key], 0), `stats-${key}`)),
      row(t("stats.avg_wall"), s.avg_wall_s === null ? "—" : t("stats.seconds", { value: number(s.avg_wall_s) }), "stats-avg-wall"),
      row(t("stats.avg_software"), s.avg_software_s === null ? "—" : t("stats.seconds", { value: number(s.avg_software_s) }), "stats-avg-software"),
      row(
        t("stats.no_show_rate"),
        s.appointments === null ? t("stats.no_list") : `${percent(s.no_show_rate)} (${number(s.no_shows, 0)} / ${number(s.appointments, 0)})`,
        "stats-no-show",
      ),
    );
    const checks = Object.entries(s.reject_rates);
    mount(
      rejects,
      checks.length
        ? checks.map(([name, r]) =>
            h("tr", { "data-check": name }, h("td", {}, checkLabel(name)), h("td", {}, number(r.attempts, 0)), h("td", {}, number(r.rejects, 0)), h("td", {}, percent(r.rate))),
          )
        : h("tr", {}, h("td", { colspan: "4" }, t("stats.none"))),
    );
    mount(
      days,
      data.days.length
        ? data.days.map((d) =>
            h("tr", {}, h("td", {}, d.day), h("td", {}, String(d.started)), h("td", {}, String(d.completed)), h("td", {}, String(d.delivered)), h("td", {}, String(d.cancelled)), h("td", {}, String(d.exceptions))),
          )
        : h("tr", {}, h("td", { colspan: "6" }, t("stats.none"))),
    );
  };

  mount(
    app.main,
    h(
      "section",
      { class: "card stack", "aria-labelledby": "screen-title" },
      title,
      range,
      h("div", { class: "row", role: "group", "aria-label": t("stats.period.label") }, buttons),
      h("h2", {}, t("stats.totals")),
      h("table", {}, totals),
      h("h2", {}, t("stats.reject_rates")),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("stats.check")), h("th", { scope: "col" }, t("stats.attempts")), h("th", { scope: "col" }, t("stats.rejects")), h("th", { scope: "col" }, t("stats.rate")))),
        rejects,
      ),
      h("h2", {}, t("stats.days")),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, ["day", "started", "completed", "delivered", "cancelled", "exceptions"].map((k) => h("th", { scope: "col" }, k === "day" ? t("stats.day") : t(`stats.count.${k}`))))),
        days,
      ),
      h(
        "div",
        { class: "row" },
        exportLink,
        h("button", { type: "button", id: "stats-back", onclick: () => app.closeStatistics() }, t("stats.back")),
      ),
    ),
  );
  refresh();
  return { update: refresh };
}
