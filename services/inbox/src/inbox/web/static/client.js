// The API under /api/v1, as the web inbox uses it: the session cookie, and the session's
// CSRF token echoed on every change.

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `the server answered ${status}`);
    this.status = status;
    this.body = body;
  }
}

export const session = {
  agent: null,
  csrf: null,
  onEnded: () => {}, // called when a signed-in request answers 401
};

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session.csrf) headers["X-CSRF-Token"] = session.csrf;
  const response = await fetch(API + path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && session.agent) session.onEnded();
    throw new ApiError(response.status, data);
  }
  return data;
}
