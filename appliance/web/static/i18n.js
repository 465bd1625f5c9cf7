// Two catalogs at a time: the operator's (pt-PT or en) and the applicant's (any of ten).
// Texts come from the daemon's gettext catalogs (/api/i18n/...); keys stand in for a
// missing text so nothing is ever blank. Applicant regions carry lang and dir, so Arabic
// and Urdu read right to left while the operator's controls stay as they are.

import { get } from "./api.js";

const state = {
  operator: { code: "pt-PT", messages: {} },
  applicant: { code: "pt-PT", dir: "ltr", messages: {} },
  languages: [],
};

function format(text, params) {
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** Operator-facing text. */
export function t(key, params = {}) {
  const text = state.operator.messages[key];
  return format(text === undefined ? key : text, params);
}

/** Whether the operator catalog has a text for this key (error codes, device states). */
export function has(key) {
  return key in state.operator.messages;
}

/** Applicant-facing text, in the applicant's language. */
export function a(key, params = {}) {
  const text = state.applicant.messages[key];
  return format(text === undefined ? key : text, params);
}

export function hasApplicant(key) {
  return key in state.applicant.messages;
}

export function applicantLanguage() {
  return state.applicant;
}

export function operatorLanguage() {
  return state.operator.code;
}

export function languages() {
  return state.languages;
}

export async function loadLanguages() {
  const data = await get("/api/i18n/languages");
  state.languages = data.applicant;
  return data;
}

export async function setOperatorLanguage(code) {
  const bundle = await get(`/api/i18n/operator/${encodeURIComponent(code)}`);
  state.operator = { code: bundle.code, messages: bundle.operator };
  document.documentElement.lang = bundle.code;
  try {
    localStorage.setItem("operator-language", bundle.code);
  } catch {
    /* storage may be disabled on the kiosk: the default applies */
  }
}

export function savedOperatorLanguage(fallback) {
  try {
    return localStorage.getItem("operator-language") || fallback;
  } catch {
    return fallback;
  }
}

export async function setApplicantLanguage(code) {
  if (state.applicant.code === code && Object.keys(state.applicant.messages).length) return;
  const bundle = await get(`/api/i18n/applicant/${encodeURIComponent(code)}`);
  state.applicant = { code: bundle.code, dir: bundle.dir, messages: bundle.applicant };
}

/** Mark an element as applicant-facing: its language and direction follow the applicant. */
export function applicantRegion(element) {
  element.lang = state.applicant.code;
  element.dir = state.applicant.dir;
  element.classList.add("applicant");
  return element;
}

const allBundles = new Map();

/** Every applicant language's catalog (the multilingual welcome shows each in its own). */
export async function applicantBundles() {
  if (allBundles.size === 0) {
    const bundles = await Promise.all(
      state.languages.map((language) => get(`/api/i18n/applicant/${encodeURIComponent(language.code)}`)),
    );
    for (const bundle of bundles) allBundles.set(bundle.code, bundle);
  }
  return allBundles;
}

/** A text of another applicant language than the current one (loaded by applicantBundles). */
export function inLanguage(code, key) {
  const bundle = allBundles.get(code);
  return (bundle && bundle.applicant[key]) || key;
}
