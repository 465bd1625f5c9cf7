// The kiosk UI's controller: session, idle lock, routing by workflow step, chrome.
//
// The server is the source of truth: the screen shown follows the workflow's step from
// GET /api/workflow, so a reload, a second tab or a daemon restart all land on the right
// screen. Screens are built once and then updated in place (a live preview keeps running).

import { ApiError, get, onAuthProblem, post, setCsrf } from "./api.js";
import { h, mount } from "./dom.js";
import { actionBar, confirmDialog } from "./ui.js";
import {
  applicantLanguage,
  has,
  languages,
  loadLanguages,
  operatorLanguage,
  savedOperatorLanguage,
  setApplicantLanguage,
  setOperatorLanguage,
  t,
} from "./i18n.js";
import * as authScreens from "./screens/auth.js";
import * as enrolScreens from "./screens/enrol.js";
import * as statsScreens from "./screens/stats.js";
import * as techScreens from "./screens/tech.js";

const STEPS = ["consent", "face", "fingerprints", "documents", "review", "done"];
const FINISHED = ["done", "aborted", "declined"];

export const app = {
  me: null,
  view: null,
  current: null, // {name, update, leave}
  idleLockS: 120,
  lastInteraction: Date.now(),
  lastServerTouch: Date.now(),
  operatorDefault: "pt-PT",
  main: null,

  /** Show a screen by name; an already shown screen is updated in place. */
  show(name, module, data) {
    if (this.current && this.current.name === name) {
      this.current.update?.(data);
      return;
    }
    this.leave();
    const screen = module(this, data) || {};
    this.current = { name, ...screen };
    document.body.dataset.screen = name;
    this.main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  },

  leave() {
    if (this.current && this.current.leave) this.current.leave();
    this.current = null;
    actionBar(); // the next screen brings its own actions (never the old screen's)
  },

  /** Re-read the session and the workflow, then show the screen they call for. */
  async route() {
    try {
      if (!this.me) {
        try {
          this.me = await get("/api/auth/me");
          setCsrf(this.me.csrf_token);
          this.idleLockS = this.me.idle_lock_s;
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) return this.showLogin();
          throw error;
        }
      }
      if (this.me.locked) return this.showLock();
      this.renderChrome();
      if (this.me.role === "technician") {
        return this.show("tech", techScreens.status);
      }
      if (this.statsOpen && this.me.role === "supervisor") {
        document.getElementById("steps").hidden = true;
        document.getElementById("langbar").hidden = true;
        return this.show("stats", statsScreens.statistics);
      }
      const view = await get("/api/workflow", { passive: true });
      this.view = view;
      if (view.language && view.language !== applicantLanguage().code) {
        await setApplicantLanguage(view.language);
      }
      this.renderSteps(view);
      this.renderLanguageBar(view);
      this.watchOutbox();
      if (!view.active) return this.show("start", enrolScreens.start, view);
      if (view.operator !== this.me.username) {
        // Another user's enrolment (logged out mid-way): resume it (same role) or discard it.
        document.getElementById("langbar").hidden = true;
        return this.show(`handover-${view.workflow_id}`, enrolScreens.handover, view);
      }
      const screen = {
        consent: enrolScreens.consent,
        face: enrolScreens.face,
        fingerprints: enrolScreens.fingerprints,
        documents: enrolScreens.documents,
        review: enrolScreens.review,
        submitting: enrolScreens.submitting,
        done: enrolScreens.receipt,
        aborted: enrolScreens.aborted,
        declined: enrolScreens.declined,
      }[view.step];
      return this.show(view.step, screen, view);
    } catch (error) {
      if (error instanceof ApiError && (error.code === "auth.locked" || error.code === "auth.required")) {
        return undefined; // the auth listener shows the right screen
      }
      this.error(error);
      return undefined;
    }
  },

  async refresh() {
    return this.route();
  },

  /** The supervisor's Statistics page (over the enrolment screens until closed). */
  async openStatistics() {
    this.statsOpen = true;
    this.leave();
    await this.route();
  },

  async closeStatistics() {
    this.statsOpen = false;
    this.leave();
    await this.route();
  },

  locale() {
    return operatorLanguage();
  },

  /** After the receipt, a refusal or an abort: a clean start in the kiosk's default language. */
  async nextApplicant() {
    await this.act(async () => {
      const view = await post("/api/workflow/finish");
      await setApplicantLanguage(view.language);
      this.draftCase = "";
      this.documentKind = undefined;
      this.leave();
    });
  },

  /** The outbox in the header: how many packets wait for central, and the last delivery. */
  watchOutbox() {
    if (this.outboxTimer) return;
    const show = async () => {
      const element = document.getElementById("outbox-state");
      if (!this.me || this.me.locked) {
        element.hidden = true;
        return;
      }
      try {
        const outbox = await get("/api/outbox", { passive: true });
        const last = outbox.last_delivery_at
          ? new Date(outbox.last_delivery_at * 1000).toLocaleTimeString(this.locale(), { hour: "2-digit", minute: "2-digit" })
          : t("outbox.never");
        const waiting = outbox.depth > 0;
        element.className = `outbox-state ${outbox.full || outbox.quarantined ? "bad" : waiting ? "waiting" : "ok"}`;
        element.dataset.depth = String(outbox.depth);
        mount(
          element,
          h("span", { "aria-hidden": "true" }, waiting ? "⇡ " : "✓ "),
          t("outbox.header", { depth: outbox.depth, last }),
          outbox.full ? ` · ${t("outbox.full")}` : "",
        );
        element.hidden = false;
      } catch {
        element.hidden = true;
      }
    };
    show();
    this.outboxTimer = setInterval(show, 4000);
  },

  showLogin() {
    this.me = null;
    this.statsOpen = false;
    setCsrf(null);
    this.hideChrome();
    this.show("login", authScreens.login);
  },

  showLock() {
    this.hideChrome();
    this.renderChrome({ locked: true });
    this.show("lock", authScreens.lock);
  },

  async loggedIn(me) {
    this.me = me;
    setCsrf(me.csrf_token);
    this.idleLockS = me.idle_lock_s;
    this.lastInteraction = Date.now();
    this.leave();
    await this.route();
  },

  /** Logging out mid-enrolment warns first, and leaves the enrolment paused for the next
   *  user (who resumes or discards it). */
  async logout() {
    const view = this.view;
    if (this.me && this.me.role !== "technician" && view && view.active && view.operator === this.me.username && !FINISHED.includes(view.step)) {
      const pause = await confirmDialog({
        title: t("logout.mid_title"),
        body: [t("logout.mid_text")],
        yes: t("logout.pause"),
        no: t("logout.stay"),
        yesKind: "primary",
        id: "logout",
      });
      if (!pause) return;
      try {
        await post("/api/workflow/pause");
      } catch (error) {
        this.error(error);
        return;
      }
    }
    try {
      await post("/api/auth/logout");
    } catch {
      /* already gone */
    }
    this.view = null;
    this.showLogin();
  },

  async lockNow() {
    try {
      this.me = await post("/api/auth/lock");
    } catch {
      /* the server locks on its own timer too */
    }
    if (this.me) this.me.locked = true;
    this.showLock();
  },

  error(error) {
    const code = error instanceof ApiError ? error.code : "error.generic";
    const text = has(code) ? t(code) : t("error.generic", { code });
    const toast = document.getElementById("toast");
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => {
      toast.hidden = true;
    }, 6000);
    if (!(error instanceof ApiError)) console.error(error);
  },

  /** Run an action from a button; errors become a toast, then the screen refreshes. */
  async act(action, { refresh = true } = {}) {
    try {
      const result = await action();
      if (refresh) await this.refresh();
      return result;
    } catch (error) {
      if (!(error instanceof ApiError && error.code.startsWith("auth."))) this.error(error);
      if (refresh) await this.refresh();
      return undefined;
    }
  },

  hideChrome() {
    document.getElementById("steps").hidden = true;
    document.getElementById("langbar").hidden = true;
    document.getElementById("outbox-state").hidden = true;
    actionBar();
    this.renderChrome({ anonymous: true });
  },

  renderChrome({ anonymous = false, locked = false } = {}) {
    const me = this.me;
    mount(document.getElementById("brand"), t("app.title"));
    mount(
      document.getElementById("who"),
      anonymous || !me ? "" : `${me.display_name} · ${t(`role.${me.role}`)}`,
    );
    const tools = [
      ...["pt-PT", "en"].map((code) =>
        h(
          "button",
          {
            type: "button",
            lang: code,
            "aria-pressed": String(operatorLanguage() === code),
            "data-operator-language": code,
            onclick: async () => {
              await setOperatorLanguage(code);
              const name = this.current?.name;
              this.leave();
              if (name === "login") this.showLogin();
              else await this.route();
            },
          },
          code === "pt-PT" ? "PT" : "EN",
        ),
      ),
    ];
    if (!anonymous && me && !locked && me.role === "supervisor") {
      tools.push(h("button", { type: "button", id: "stats-button", onclick: () => this.openStatistics() }, t("nav.stats")));
    }
    if (!anonymous && me && !locked) {
      if (me.role !== "technician") {
        tools.push(
          h("a", { class: "button", id: "applicant-screen", href: "/applicant", target: "claim-applicant", rel: "noopener" }, t("nav.applicant_screen")),
        );
      }
      tools.push(
        h("button", { type: "button", id: "lock-button", onclick: () => this.lockNow() }, t("nav.lock")),
        h("button", { type: "button", id: "logout-button", onclick: () => this.logout() }, t("nav.logout")),
      );
    }
    mount(document.getElementById("tools"), tools);
  },

  renderSteps(view) {
    const nav = document.getElementById("steps");
    nav.setAttribute("aria-label", t("steps.label"));
    if (!view.active) {
      nav.hidden = true;
      return;
    }
    nav.hidden = false;
    const at = { submitting: "review", declined: "consent", aborted: "review" }[view.step] || view.step;
    const current = STEPS.indexOf(at);
    mount(
      nav,
      h(
        "ol",
        {},
        STEPS.map((step, index) => {
          const done = index < current || view.completed.includes(step);
          const here = index === current;
          // Done and current show by a mark and a hidden word, not by colour alone.
          return h(
            "li",
            { class: done ? "done" : here ? "current" : "", "aria-current": here ? "step" : undefined, "data-step": step },
            h("span", { class: "mark", "aria-hidden": "true" }, done ? "✓" : here ? "▶" : String(index + 1)),
            " ",
            t(`step.${step}`),
            done ? h("span", { class: "visually-hidden" }, ` (${t("steps.done")})`) : null,
          );
        }),
      ),
    );
  },

  renderLanguageBar(view) {
    const bar = document.getElementById("langbar");
    bar.hidden = !view.active; // before the start, the welcome offers the languages
    bar.setAttribute("aria-label", t("language.applicant"));
    const currentCode = applicantLanguage().code;
    mount(
      bar,
      languages().map((language) =>
        h(
          "button",
          {
            type: "button",
            lang: language.code,
            dir: language.dir,
            "data-language": language.code,
            "aria-pressed": String(language.code === currentCode),
            onclick: () => this.switchApplicantLanguage(language.code),
          },
          language.name,
        ),
      ),
    );
    return view;
  },

  /** One tap: the server records the language, then the screen is redrawn in it.
   *  Taps are queued so that quick successive taps end on the last one. */
  switchApplicantLanguage(code) {
    this.languageQueue = (this.languageQueue || Promise.resolve()).then(() =>
      this.act(async () => {
        await post("/api/workflow/language", { language: code });
        await setApplicantLanguage(code);
        const name = this.current?.name;
        if (name !== "face" && name !== "documents") this.leave(); // rebuild in the new language
        else this.current.relabel?.();
        if (this.view) this.view.language = code;
      }),
    );
    return this.languageQueue;
  },
};

function trackActivity() {
  const touched = () => {
    app.lastInteraction = Date.now();
    if (app.me && !app.me.locked && Date.now() - app.lastServerTouch > (app.idleLockS * 1000) / 3) {
      app.lastServerTouch = Date.now();
      get("/api/auth/me").catch(() => {}); // tell the server the operator is here
    }
  };
  for (const type of ["pointerdown", "keydown", "touchstart"]) {
    window.addEventListener(type, touched, { passive: true, capture: true });
  }
  setInterval(() => {
    if (!app.me || app.me.locked) return;
    if (Date.now() - app.lastInteraction > app.idleLockS * 1000) app.lockNow();
  }, 1000);
}

async function boot() {
  app.main = document.getElementById("screen");
  onAuthProblem((code) => {
    if (code === "auth.locked" && app.me) {
      app.me.locked = true;
      app.showLock();
    } else if (code === "auth.required") {
      app.showLogin();
    }
  });
  const info = await loadLanguages();
  app.operatorDefault = info.operator_default;
  await setOperatorLanguage(savedOperatorLanguage(info.operator_default));
  await setApplicantLanguage("pt-PT");
  trackActivity();
  await app.route();
}

boot().catch((error) => {
  console.error(error);
  mount(document.getElementById("screen"), h("p", { class: "banner bad" }, String(error)));
});
