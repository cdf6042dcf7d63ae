// The sign-in form's e-mail and password, and changing one's password (issue 18, "Same sign-in everywhere").

import { $ } from "./dom.js";
import { showError, showStatus } from "./notices.js";
import { signIn } from "./session.js";
import { state } from "./state.js";
import { changePassword, passwordSignIn, sessionToken } from "./signin.js";

export function wireSignIn() {
  $("password-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const email = $("email").value.trim();
    const password = $("password").value;
    if (!email || !password) return;
    state.loginWith = "password";
    const button = e.currentTarget.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await passwordSignIn(email, password);
      $("password").value = "";
      const token = await sessionToken();
      if (token) await signIn(token, { session: true });
      else showError("Signed in, but the session could not be used. Are cookies allowed for this site?");
    } catch (err) {
      showError(err.message);
      $("password").select();
    } finally {
      button.disabled = false;
    }
  });
  $("password-change-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const current = $("current-password").value;
    const next = $("new-password").value;
    if (next !== $("repeat-password").value) {
      showError("The new password and its repetition differ.");
      return;
    }
    try {
      await changePassword(current, next);
      for (const id of ["current-password", "new-password", "repeat-password"]) $(id).value = "";
      $("account").open = false;
      showStatus("Your password was changed.");
    } catch (err) {
      showError(err.message);
    }
  });
}
