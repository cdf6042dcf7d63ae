// E-mail and password sign-in (issue 18, "Same sign-in everywhere"): the server keeps the session (an HttpOnly
// cookie the page cannot read); the page asks it for an access token whenever it (re)connects, so no credential is
// kept in the browser's storage. Requests carry the CSRF cookie's value as X-CSRF-Token (double submit).

export class SessionError extends Error {
  constructor(type, message, status) {
    super(message || type || "Request failed");
    this.type = type || "internal";
    this.status = status;
  }
}

function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "ws_agent_csrf") return decodeURIComponent(value.join("="));
  }
  return "";
}

async function post(path, body) {
  const headers = { "Content-Type": "application/json" };
  const csrf = csrfToken();
  if (csrf) headers["X-CSRF-Token"] = csrf;
  let response;
  try {
    response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}),
                                   credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new SessionError("connection", "Could not reach the server", 0);
  }
  let payload = {};
  try {
    payload = await response.json();
  } catch {
    // (an empty or non-JSON answer: the status says enough)
  }
  if (!response.ok) {
    const error = payload.error || {};
    throw new SessionError(error.type, error.message, response.status);
  }
  return payload;
}

/** Signs in; the session cookie is set by the answer. */
export const passwordSignIn = (email, password) => post("/agent/session", { email, password });

/** The session's access token for the RTM login, or null when there is no session (signed out, expired). */
export async function sessionToken() {
  if (!csrfToken()) return null; // never signed in on this browser (or signed out): no need to ask
  try {
    return (await post("/agent/session/token")).access_token;
  } catch (err) {
    if (err.status === 401 || err.status === 403) return null;
    throw err;
  }
}

export const endSession = () => post("/agent/session/sign-out").catch(() => {});

export const changePassword = (current, next) =>
  post("/agent/session/password", { current_password: current, new_password: next });
