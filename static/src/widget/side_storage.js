// LiveChat's customer_side_storage: a small map of strings the server asks the client to keep
// (`customer_side_storage_updated`) and send back in its next `login`. As LiveChat's widget, the frame keeps it in
// its localStorage under the organization's key; where third-party storage is blocked (reading it throws) the map
// lives in memory for this frame's life, so a reconnection still sends it. What is read back is checked and bounded:
// a map the server would refuse would make every login fail.
const MAX_KEYS = 32;
const MAX_CHARS = 1024;

function clean(map) {
  if (!map || typeof map !== "object" || Array.isArray(map)) return null;
  const out = {};
  let n = 0;
  for (const [key, value] of Object.entries(map)) {
    if (typeof value !== "string" || key.length > 256 || value.length > MAX_CHARS) continue;
    out[key] = value;
    if (++n >= MAX_KEYS) break;
  }
  return n ? out : null;
}

export function sideStorage(org) {
  const key = `ws_side_${org}`;
  let kept = null;
  try {
    kept = clean(JSON.parse(localStorage.getItem(key) || "null"));
  } catch (e) { /* blocked or unreadable: start empty */ }
  return {
    get: () => kept,
    set(map) {
      const fresh = clean(map);
      if (!fresh) return;
      kept = fresh;
      try {
        localStorage.setItem(key, JSON.stringify(kept));
      } catch (e) { /* blocked: kept in memory only */ }
    },
  };
}
