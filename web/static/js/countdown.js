// @ts-check
// The family's waiting screens: a live countdown to the start, and a reload when the
// link's next state begins (the link opens, or the visit starts), so nobody has to
// press anything.

/** @param {number} ms @param {HTMLElement} el */
function describe(ms, el) {
  const minutes = Math.ceil(ms / 60000);
  if (minutes <= 1) return el.dataset.labelSoon ?? "";
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts = [];
  if (days) parts.push(`${days} ${el.dataset.labelDays}`);
  if (hours) parts.push(`${hours} ${el.dataset.labelHours}`);
  if (mins && !days) parts.push(`${mins} ${el.dataset.labelMinutes}`);
  return parts.join(" ");
}

for (const el of document.querySelectorAll("[data-countdown]")) {
  if (!(el instanceof HTMLElement)) continue;
  const target = Date.parse(el.dataset.countdown ?? "");
  const refresh = Date.parse(el.dataset.refresh ?? "");
  const tick = () => {
    const now = Date.now();
    if (!Number.isNaN(refresh) && now >= refresh) {
      location.reload();
      return;
    }
    if (!Number.isNaN(target)) el.textContent = describe(Math.max(0, target - now), el);
  };
  tick();
  // Check every few seconds: cheap, and catches up after a phone wakes from sleep.
  setInterval(tick, 5000);
}
