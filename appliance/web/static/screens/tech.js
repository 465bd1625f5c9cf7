// Technician status page: devices, outbox, last upload, certificate, disk, self-test,
// the redacted log view and operator accounts.

import { get, post } from "../api.js";
import { h, mount } from "../dom.js";
import { has, t } from "../i18n.js";

function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

function when(seconds) {
  if (!seconds) return t("tech.never");
  return new Date(seconds * 1000).toLocaleString();
}

function row(label, value, id) {
  return h("tr", {}, h("th", { scope: "row" }, label), h("td", { id }, value));
}

export function status(app) {
  const overview = h("tbody", {});
  const devices = h("tbody", {});
  const results = h("div", { class: "stack", id: "selftest-results", "aria-live": "polite" });
  const logs = h("pre", { class: "logview", id: "log-view", tabindex: "0" });
  const accounts = h("tbody", {});
  const newUser = h("input", { id: "new-username", autocomplete: "off", autocapitalize: "none" });
  const newPassword = h("input", { id: "new-password", type: "password", autocomplete: "new-password" });
  const newPin = h("input", { id: "new-pin", type: "password", inputmode: "numeric", autocomplete: "off" });
  const newRole = h("select", { id: "new-role" }, ["operator", "supervisor"].map((r) => h("option", { value: r }, t(`role.${r}`))));

  const refresh = async () => {
    const s = await get("/api/tech/status", { passive: true });
    const outbox = s.outbox;
    mount(
      overview,
      row(t("tech.site"), `${s.site_id} · ${s.kiosk} · v${s.version}`),
      row(t("tech.outbox_depth"), outbox ? String(outbox.depth) : "—", "outbox-depth"),
      row(t("tech.outbox_quota"), outbox ? `${bytes(outbox.bytes)} / ${bytes(outbox.quota_bytes)} (${outbox.used_percent} %)` : "—"),
      row(t("tech.last_upload"), outbox ? when(outbox.last_delivery_at) : "—", "last-upload"),
      row(t("tech.certificate"), s.certificate ? t("tech.certificate_days", { date: s.certificate.not_after.slice(0, 10), days: s.certificate.days_left }) : t("tech.not_provisioned"), "certificate"),
      row(t("tech.disk"), t("tech.disk_free", { free: bytes(s.disk.free_bytes), total: bytes(s.disk.total_bytes) })),
    );
    mount(
      devices,
      s.devices.map((d) =>
        h(
          "tr",
          { "data-role": d.role },
          h("td", {}, t(`device.role.${d.role}`)),
          h("td", {}, d.model, d.simulated ? ` (${t("tech.simulated")})` : ""),
          h("td", {}, h("span", { class: `chip ${d.state === "ready" ? "ok" : "ko"}` }, t(`device.state.${d.state}`))),
          h("td", {}, d.message_key ? (has(d.message_key) ? t(d.message_key) : d.message_key) : ""),
          h("td", {}, String(d.failures)),
          h("td", {}, h("button", { type: "button", onclick: () => app.act(() => post(`/api/tech/devices/${d.role}/reset`), { refresh: false }).then(refresh) }, t("tech.reset"))),
        ),
      ),
    );
  };
  const refreshLogs = async () => {
    const data = await get("/api/tech/logs?lines=200", { passive: true });
    logs.textContent = data.lines.join("\n") || t("tech.no_logs");
  };
  const refreshAccounts = async () => {
    const data = await get("/api/tech/accounts", { passive: true });
    mount(
      accounts,
      data.accounts.map((acc) =>
        h("tr", {},
          h("td", {}, acc.username),
          h("td", {}, t(`role.${acc.role}`)),
          // Only a locked account offers "unlock".
          h("td", {}, acc.locked ? h("button", { type: "button", "data-unlock": acc.username, onclick: () => app.act(() => post(`/api/tech/accounts/${encodeURIComponent(acc.username)}/unlock`), { refresh: false }).then(refreshAccounts) }, t("tech.unlock_account")) : t("tech.account_active")),
        ),
      ),
    );
  };
  const selfTest = async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    mount(results, h("p", { role: "status" }, t("tech.testing")));
    const data = await app.act(() => post("/api/tech/test-devices"), { refresh: false });
    button.disabled = false;
    if (!data) return mount(results);
    mount(
      results,
      data.results.map((r) =>
        h(
          "p",
          { class: `banner ${r.ok ? "good" : "bad"}`, "data-selftest": r.role },
          `${t(`device.role.${r.role}`)}: ${r.ok ? t("tech.test_ok") : has(r.message_key) ? t(r.message_key) : r.message_key}`,
          r.fps ? ` · ${r.fps} fps · ${r.resolution}` : "",
          ` · ${r.ms} ms`,
        ),
      ),
    );
    await refresh();
    return undefined;
  };

  mount(
    app.main,
    h("h1", { id: "screen-title" }, t("tech.title")),
    h("section", { class: "card" }, h("h2", {}, t("tech.overview")), h("table", {}, overview)),
    h(
      "section",
      { class: "card stack" },
      h("h2", {}, t("tech.devices")),
      h("table", {},
        h("thead", {}, h("tr", {}, [t("tech.col_role"), t("tech.col_model"), t("tech.col_state"), t("tech.col_message"), t("tech.col_failures"), t("tech.col_action")].map((c) => h("th", { scope: "col" }, c)))),
        devices,
      ),
      h("div", { class: "row" }, h("button", { type: "button", class: "primary big", id: "test-devices", onclick: selfTest }, t("tech.test_devices"))),
      results,
    ),
    h("section", { class: "card stack" },
      h("div", { class: "row" }, h("h2", { class: "grow" }, t("tech.logs")), h("button", { type: "button", onclick: refreshLogs }, t("tech.refresh"))),
      h("p", {}, t("tech.logs_hint")),
      logs,
    ),
    h("section", { class: "card stack" },
      h("h2", {}, t("tech.accounts")),
      h("table", {}, accounts),
      h("form", {
        class: "stack",
        onsubmit: async (event) => {
          event.preventDefault();
          const created = await app.act(() => post("/api/tech/accounts", {
            username: newUser.value.trim(),
            role: newRole.value,
            password: newPassword.value,
            pin: newPin.value || null,
          }), { refresh: false });
          if (created) {
            newUser.value = newPassword.value = newPin.value = "";
            await refreshAccounts();
          }
        },
      },
      h("h2", {}, t("tech.new_account")),
      h("div", {}, h("label", { for: "new-username" }, t("login.username")), newUser),
      h("div", {}, h("label", { for: "new-role" }, t("tech.role")), newRole),
      h("div", {}, h("label", { for: "new-password" }, t("login.password")), newPassword),
      h("div", {}, h("label", { for: "new-pin" }, t("tech.pin_optional")), newPin),
      h("button", { type: "submit", class: "primary" }, t("tech.create_account")),
      ),
    ),
  );
  refresh().catch((e) => app.error(e));
  refreshLogs().catch(() => {});
  refreshAccounts().catch(() => {});
  const timer = setInterval(() => refresh().catch(() => {}), 5000);
  return { leave: () => clearInterval(timer) };
}
