// @ts-check
// The family's waiting screens: a live countdown to the start, and a reload when the
// link's next state begins (the link opens, or the visit starts), so nobody has to
// press anything. Times come as seconds from the server's "now"; the page counts only
// the time passed since it loaded, so a phone whose clock is wrong still counts right
// (and the wall clock, unlike a monotonic one, keeps going while a phone sleeps).
// A page opened long before the visit has no socket: it asks the link's state now and
// then (and when the phone wakes) and reloads when staff cancelled the visit, replaced
// the link or moved the time.

/** How often a visible waiting page asks whether its link changed. */
const WATCH_EVERY_MS = 15_000;

const loadedAt = Date.now();

/** @param {number} seconds @param {HTMLElement} el */
function describe(seconds, el) {
  const minutes = Math.ceil(seconds / 60);
  if (minutes <= 1) return el.dataset.soon ?? "";
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  // Non-breaking spaces: a number never ends a line without its unit ("3 / 時間 57 分"
  // read as two things); the time left wraps, if at all, only after the prefix.
  const nbsp = "\u00a0";
  const parts = [];
  if (days) parts.push(`${days}${nbsp}${el.dataset.days}`);
  if (hours) parts.push(`${hours}${nbsp}${el.dataset.hours}`);
  if (mins && !days) parts.push(`${mins}${nbsp}${el.dataset.minutes}`);
  return `${el.dataset.prefix} ${parts.join(nbsp)}`;
}

for (const el of document.querySelectorAll("[data-seconds]")) {
  if (!(el instanceof HTMLElement)) continue;
  const target = Number(el.dataset.seconds);
  const refresh = Number(el.dataset.refresh);
  const tick = () => {
    const elapsed = (Date.now() - loadedAt) / 1000;
    if (Number.isFinite(refresh) && elapsed >= refresh) {
      location.reload();
      return;
    }
    if (Number.isFinite(target)) el.textContent = describe(Math.max(0, target - elapsed), el);
  };
  tick();
  // Every few seconds: cheap, and catches up soon after a phone wakes from sleep.
  setInterval(tick, 5000);
  const watch = el.dataset.watch;
  if (watch) watchLink(watch, el.dataset.state ?? "");
}

/** @param {string} url @param {string} shown */
function watchLink(url, shown) {
  const look = async () => {
    if (document.hidden) return;
    try {
      const res = await fetch(url, { cache: "no-store" });
      if (!res.ok) return;
      const { state } = await res.json();
      if (typeof state === "string" && state !== shown) location.reload();
    } catch {
      // Offline for a moment: the next look will tell.
    }
  };
  setInterval(look, WATCH_EVERY_MS);
  document.addEventListener("visibilitychange", look);
}
