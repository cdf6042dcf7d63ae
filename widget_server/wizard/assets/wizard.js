// The theming wizard's enhancements (the pages work without them): colour pickers beside the #rrggbb fields, the
// WCAG contrast check as you type, the form builders' add / move / remove buttons, the live preview (the
// form is posted as a draft, then the preview page with the real widget reloads) and the snippet's copy button.
// Runs under a strict CSP: no inline script or style, DOM text via textContent only.
"use strict";

const $ = (id) => document.getElementById(id);

for (const el of document.querySelectorAll("[data-js-only]")) el.hidden = false;

const summary = $("error-summary");
if (summary) summary.focus();

// --- contrast (the same computation as the server's, widget_server/wizard/form.py) ----------------------------------

const COLOR_RE = /^#[0-9a-f]{6}$/;

function normalColor(raw) {
  let v = (raw || "").trim().toLowerCase();
  if (/^#[0-9a-f]{3}$/.test(v)) v = "#" + [...v.slice(1)].map((c) => c + c).join("");
  return v;
}

function luminance(hex) {
  const channel = (i) => {
    const s = parseInt(hex.slice(i, i + 2), 16) / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

// rounded down, so that a ratio just short of 4.5 never reads as 4.5
const floor = (ratio) => (Math.floor(ratio * 10) / 10).toFixed(1);

const readableOn = (c) => (contrast(c, "#ffffff") >= contrast(c, "#111111") ? "#ffffff" : "#111111");

// --- the settings form -------------------------------------------------------------------------------------------------

const form = $("settings");
if (form) {
  const themes = JSON.parse($("theme-data").textContent);
  const SLOTS = { primary_color: "primary", background_color: "background", text_color: "text" };

  const themeColors = () => {
    const checked = form.querySelector('input[name="theme"]:checked');
    const theme = themes.find((t) => checked && t.name === checked.value) || themes[0];
    return { ...theme.colors };
  };

  const effectiveColors = () => {
    const colors = themeColors();
    for (const [name, slot] of Object.entries(SLOTS)) {
      const value = normalColor(form.elements[name].value);
      if (COLOR_RE.test(value)) {
        colors[slot] = value;
        if (slot === "primary") colors.on_primary = readableOn(value);
      }
    }
    return colors;
  };

  const showWarnings = () => {
    const c = effectiveColors();
    const out = [];
    let ratio = contrast(c.primary, c.on_primary);
    if (ratio < 4.5) {
      out.push(`Low contrast: text on the primary colour ${c.primary} reaches ${floor(ratio)}:1 ` +
        "(WCAG AA asks for 4.5:1). Choose a darker or lighter primary colour.");
    }
    ratio = contrast(c.text, c.background);
    if (ratio < 4.5) {
      out.push(`Low contrast: the text colour ${c.text} on the background ${c.background} reaches ` +
        `${floor(ratio)}:1 (WCAG AA asks for 4.5:1).`);
    }
    const box = $("contrast");
    const now = out.join("\n");
    if (box.dataset.shown !== now) {  // rewrite only on change: it is a live region
      box.dataset.shown = now;
      box.replaceChildren(...out.map((text) => Object.assign(document.createElement("p"), { textContent: text })));
    }
  };

  // pickers follow the text fields (and start from the theme's colour when a field is empty)
  const syncPickers = () => {
    const theme = themeColors();
    for (const picker of form.querySelectorAll("[data-color-for]")) {
      const value = normalColor(form.elements[picker.dataset.colorFor].value);
      picker.value = COLOR_RE.test(value) ? value : theme[SLOTS[picker.dataset.colorFor]];
    }
  };
  for (const picker of form.querySelectorAll("[data-color-for]")) {
    picker.addEventListener("input", () => {
      const field = form.elements[picker.dataset.colorFor];
      field.value = picker.value;
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
  for (const button of form.querySelectorAll("[data-clear]")) {
    button.addEventListener("click", () => {
      const field = form.elements[button.dataset.clear];
      field.value = "";
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.focus();
    });
  }

  // field errors: the server's answer to a draft, shown next to each field like after a save
  const showErrors = (errors) => {
    for (const box of form.querySelectorAll(".field-error")) {
      const name = box.id.replace(/-error$/, "");
      const message = errors[name] || "";
      box.textContent = message;
      box.hidden = !message;
      const control = $(name) || $(`${name}-group`);
      if (control) {
        if (message) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
      }
    }
  };

  // --- the form builders (pre-chat, post-chat, message form): one per fieldset[data-survey] ------------------------

  const announce = (text) => { $("preview-status").textContent = text; };

  for (const builder of document.querySelectorAll("[data-survey]")) {
    const kind = builder.dataset.survey;
    const rows = builder.querySelector("[data-rows]");
    const template = builder.querySelector("[data-row-template]");
    const add = builder.querySelector("[data-add]");
    const prefix = new RegExp(`${kind}-(\\d+|new)-`, "g");

    const renumber = () => {
      [...rows.children].forEach((li, i) => {
        li.querySelector("[data-n]").textContent = String(i + 1);
        for (const button of li.querySelectorAll("[data-move]")) {
          // the name starts with the button's visible text (WCAG 2.5.3, axe's label-content-name-mismatch): a
          // speech user says what they see
          button.setAttribute("aria-label", `${button.dataset.move === "-1" ? "Move up" : "Move down"}: field ${i + 1}`);
        }
        li.querySelector("[data-remove]").setAttribute("aria-label", `Remove: field ${i + 1}`);
        for (const el of li.querySelectorAll("[id], [name], [for], [aria-describedby]")) {
          for (const attr of ["id", "name", "for", "aria-describedby"]) {
            const value = el.getAttribute(attr);
            if (value) el.setAttribute(attr, value.replace(prefix, `${kind}-${i}-`));
          }
        }
      });
    };
    const toggleOptions = (li) => {
      li.querySelector("[data-options]").hidden = li.querySelector('[data-part="type"]').value !== "choice";
    };
    const wire = (li) => {
      for (const el of li.querySelectorAll("[data-js-only]")) el.hidden = false;
      toggleOptions(li);
    };

    for (const li of [...rows.children]) {
      if (li.classList.contains("blank")) li.remove();  // the no-script page's spare rows: "Add a field" does it here
      else wire(li);
    }
    renumber();

    rows.addEventListener("change", (e) => {
      if (e.target.matches('[data-part="type"]')) toggleOptions(e.target.closest("[data-row]"));
    });
    rows.addEventListener("click", (e) => {
      const button = e.target.closest("button");
      if (!button) return;
      const li = button.closest("[data-row]");
      if (button.dataset.move) {
        const other = button.dataset.move === "-1" ? li.previousElementSibling : li.nextElementSibling;
        if (!other) return;
        if (button.dataset.move === "-1") other.before(li);
        else other.after(li);
        renumber();
        button.focus();  // moving the row took the focus away
        announce(`Field moved to position ${[...rows.children].indexOf(li) + 1}.`);
      } else if ("remove" in button.dataset) {
        const next = li.nextElementSibling || li.previousElementSibling;
        li.remove();
        renumber();
        (next ? next.querySelector("select") : add).focus();
        announce("Field removed.");
      }
      schedule();
    });
    add.hidden = false;
    add.addEventListener("click", () => {
      const li = template.content.firstElementChild.cloneNode(true);
      rows.append(li);
      wire(li);
      renumber();
      li.querySelector('[data-part="type"]').focus();
      schedule();
    });
  }

  // --- the live preview ----------------------------------------------------------------------------------------------

  const frame = $("preview");
  const open = $("preview-open");
  const agents = $("preview-agents");
  const avatarInput = $("avatar_file");
  let timer = null;
  let sent = 0;
  let reloads = 0;
  let uploaded = null;

  const reload = () => {
    frame.src = `/wizard/preview?open=${open.checked ? 1 : 0}&r=${++reloads}`;
  };

  async function sendDraft() {
    const body = new FormData(form);
    const file = avatarInput.files[0];
    if (!file || file === uploaded) body.delete("avatar_file");  // sent once; then its URL is in agent_avatar
    body.set("preview_agents", agents.value);
    const mine = ++sent;
    announce("Updating the preview…");
    let r;
    let answer = {};
    try {
      r = await fetch("/wizard/draft", { method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRF-Token": form.dataset.csrf } });
      answer = await r.json();
    } catch (err) {
      if (mine === sent) announce("The preview could not be updated. Check your connection.");
      return;
    }
    if (mine !== sent) return;  // a newer draft is on its way
    showErrors(answer.errors || {});
    if (r.status === 401) return announce("Your session ended: sign in again to save your changes.");
    if (!r.ok) {
      return announce(answer.errors ? "The preview keeps your last valid settings: see the fields marked above."
        : answer.error || "The preview could not be updated.");
    }
    if (file) uploaded = file;
    if (typeof answer.avatar === "string") {
      $("agent_avatar").value = answer.avatar;
      const img = $("avatar-img");
      img.hidden = !answer.avatar;
      if (answer.avatar) img.src = answer.avatar;
    }
    reload();
    announce("Preview updated.");
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(sendDraft, 400);
  }

  const changed = (e) => {
    if (e.target.closest && e.target.closest("[data-row-template]")) return;
    if (e.target.name === "theme" || e.target.dataset.colorFor === undefined) syncPickers();
    showWarnings();
    schedule();
  };
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  open.addEventListener("change", reload);
  agents.addEventListener("change", schedule);
  syncPickers();
  showWarnings();
}

// --- the install page's copy button ------------------------------------------------------------------------------------

for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", async () => {
    const source = $(button.dataset.copy);
    const status = $("copy-status");
    try {
      await navigator.clipboard.writeText(source.textContent);
      status.textContent = "Copied. Paste it before </body> on your pages.";
    } catch (err) {  // no clipboard permission: select it for Ctrl+C
      const range = document.createRange();
      range.selectNodeContents(source);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  });
}
