// Login and the idle-lock screen.

import { ApiError, post } from "../api.js";
import { h, mount } from "../dom.js";
import { has, t } from "../i18n.js";

function authMessage(error) {
  if (error instanceof ApiError) {
    if (error.code === "auth.locked_out") {
      return t("auth.locked_out", { minutes: Math.max(1, Math.ceil((error.body?.retry_after_s || 60) / 60)) });
    }
    if (has(error.code)) return t(error.code);
    return t("error.generic", { code: error.code });
  }
  return String(error);
}

export function login(app) {
  const message = h("p", { class: "banner bad", id: "login-error", role: "alert", hidden: true });
  const username = h("input", {
    id: "username",
    name: "username",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
  });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const form = h(
    "form",
    {
      class: "card login stack",
      onsubmit: async (event) => {
        event.preventDefault();
        message.hidden = true;
        try {
          const me = await post("/api/auth/login", { username: username.value.trim(), password: password.value });
          password.value = "";
          await app.loggedIn(me);
        } catch (error) {
          password.value = "";
          message.textContent = authMessage(error);
          message.hidden = false;
          password.focus();
        }
      },
    },
    h("h1", {}, t("login.title")),
    h("p", {}, t("login.hint")),
    h("div", {}, h("label", { for: "username" }, t("login.username")), username),
    h("div", {}, h("label", { for: "password" }, t("login.password")), password),
    message,
    h("button", { type: "submit", class: "primary big", id: "login-submit" }, t("login.submit")),
  );
  mount(app.main, form);
  username.focus();
  return {};
}

export function lock(app) {
  const message = h("p", { class: "banner bad", role: "alert", hidden: true });
  const secret = h("input", {
    id: "unlock-secret",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const form = h(
    "form",
    {
      class: "card login stack",
      onsubmit: async (event) => {
        event.preventDefault();
        message.hidden = true;
        try {
          const me = await post("/api/auth/unlock", { secret: secret.value });
          secret.value = "";
          await app.loggedIn(me);
        } catch (error) {
          secret.value = "";
          if (error instanceof ApiError && error.code === "auth.locked_out") {
            app.showLogin();
            return;
          }
          message.textContent = authMessage(error);
          message.hidden = false;
          secret.focus();
        }
      },
    },
    h("h1", { id: "lock-title" }, t("lock.title")),
    h("p", {}, t("lock.hint", { name: app.me?.display_name || "" })),
    h("div", {}, h("label", { for: "unlock-secret" }, t("lock.secret")), secret),
    message,
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary big", id: "unlock-submit" }, t("lock.unlock")),
      h("button", { type: "button", class: "big", onclick: () => app.logout() }, t("lock.switch_user")),
    ),
  );
  mount(app.main, form);
  secret.focus();
  return {};
}
