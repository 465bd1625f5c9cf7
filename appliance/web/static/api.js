// HTTP calls to the appliance: JSON in and out, the CSRF token on every state change,
// "X-Passive" on background polls (they do not count as operator activity).

let csrfToken = null;
const listeners = new Set();

export function setCsrf(token) {
  csrfToken = token;
}

/** Called with (code) when the server says the session is gone or locked. */
export function onAuthProblem(listener) {
  listeners.add(listener);
}

export class ApiError extends Error {
  constructor(status, code, body) {
    super(code);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export async function api(method, path, body = undefined, { passive = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  if (passive) headers["X-Passive"] = "1";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  const type = response.headers.get("content-type") || "";
  const data = type.startsWith("application/json") ? await response.json() : null;
  if (!response.ok) {
    const code = (data && data.error) || `http.${response.status}`;
    if (code === "auth.required" || code === "auth.locked") {
      for (const listener of listeners) listener(code);
    }
    throw new ApiError(response.status, code, data);
  }
  return data;
}

export const get = (path, options) => api("GET", path, undefined, options);
export const post = (path, body = {}) => api("POST", path, body);
export const del = (path) => api("DELETE", path);
