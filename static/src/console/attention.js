// Getting the agent's attention: a short beep (Web Audio, made here: no sound file), a desktop notification
// (Notification API; permission asked from a button, i.e. on a user gesture), a line for screen readers, unread
// counts per chat and in the tab's title. Each agent can mute the beep and the notifications (kept in localStorage).

import { $, el } from "./dom.js";
import { concernsMe, state } from "./state.js";

const MUTE_KEY = "widget_server.console.muted.";
const TITLE = document.title;

let audio = null;

function muteKey() {
  return state.me ? MUTE_KEY + state.me.id : null;
}

export function isMuted() {
  const key = muteKey();
  try {
    return key !== null && localStorage.getItem(key) === "1";
  } catch {
    return false; // storage refused (a locked-down browser): never muted
  }
}

export function setMuted(muted) {
  const key = muteKey();
  if (key === null) return;
  try {
    if (muted) localStorage.setItem(key, "1");
    else localStorage.removeItem(key);
  } catch {
    // the switch still holds for this page
  }
  $("mute").checked = muted;
}

/** After sign-in: this agent's mute, and the notification button when the browser has not been asked yet. */
export function startAttention() {
  $("mute").checked = isMuted();
  renderPermission();
}

function renderPermission() {
  $("notify-permission").hidden = !("Notification" in window) || Notification.permission !== "default";
}

/** The button's click (a user gesture, as browsers require). */
export async function askPermission() {
  if (!("Notification" in window)) return;
  await Notification.requestPermission().catch(() => "denied");
  renderPermission();
}

/** A browser lets a page start audio only after a user gesture: the context is made (or resumed) on one. */
export function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  audio = audio || new Context();
  if (audio.state === "suspended") audio.resume().catch(() => {});
}

function beep() {
  unlockAudio();
  if (!audio) return;
  const now = audio.currentTime;
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.type = "sine";
  tone.frequency.setValueAtTime(880, now);
  tone.frequency.setValueAtTime(660, now + 0.09);
  gain.gain.setValueAtTime(0.0001, now);
  gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.25);
  tone.connect(gain).connect(audio.destination);
  tone.start(now);
  tone.stop(now + 0.3);
}

/** Tells the agent about a chat: the screen-reader line always; beep and notification unless muted. */
export function alertAgent(chat, title, body) {
  $("attention").textContent = `${title}: ${body}`;
  if (isMuted()) return;
  beep();
  if ("Notification" in window && Notification.permission === "granted") {
    try {
      // one notification per chat at a time: a newer one replaces it
      const note = new Notification(title, { body, tag: `chat-${chat.id}` });
      note.onclick = () => {
        window.focus();
        note.close();
        document.dispatchEvent(new CustomEvent("console:open-chat", { detail: chat.id }));
      };
    } catch {
      // (some browsers allow notifications only from a service worker)
    }
  }
}

/** Unread messages of the agent's chats in the tab's title, e.g. "(3) Agent console". */
export function renderTitle() {
  let total = 0;
  for (const chat of state.chats.values()) if (concernsMe(chat)) total += chat.unread;
  document.title = total ? `(${total}) ${TITLE}` : TITLE;
  $("unread-total").replaceChildren(...(total ? [String(total), el("span", { class: "visually-hidden", text: " unread" })]
    : []));
}
