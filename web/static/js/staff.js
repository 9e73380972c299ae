// @ts-check
// Small conveniences on staff pages. Everything works without this script; it only
// saves clicks.

document.documentElement.classList.add("js");

// On a phone the pages' links are one row that scrolls sideways: the current page's
// link starts in sight (Devices, Settings and History are off to the right otherwise).
document.querySelector('.staff-nav [aria-current="page"]')?.scrollIntoView({ block: "nearest", inline: "nearest" });

// Booking: choosing a resident, date, mode or device shows the free slots at once.
for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  if (!(form instanceof HTMLFormElement)) continue;
  form.addEventListener("change", () => form.requestSubmit());
}

// "Copy" buttons next to links and messages.
for (const button of document.querySelectorAll("button[data-copy]")) {
  if (!(button instanceof HTMLButtonElement)) continue;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy ?? "");
    if (!(source instanceof HTMLInputElement || source instanceof HTMLTextAreaElement)) return;
    source.select();
    try {
      await navigator.clipboard.writeText(source.value);
    } catch {
      document.execCommand("copy");
    }
    const label = button.textContent;
    button.textContent = button.dataset.copied ?? label;
    setTimeout(() => { button.textContent = label; }, 2000);
  });
}

// The print card's "Print" button.
for (const button of document.querySelectorAll("button[data-print]")) {
  button.addEventListener("click", () => window.print());
}

// Today's visits: reload every few seconds to show who is connected, unless the person
// is in the middle of something on the page.
for (const marker of document.querySelectorAll("[data-autorefresh]")) {
  if (!(marker instanceof HTMLElement)) continue;
  const seconds = Number(marker.dataset.autorefresh) || 30;
  setInterval(() => {
    const busy =
      (document.activeElement && ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) ||
      document.querySelector("dialog[open]") !== null;
    if (!busy && document.visibilityState === "visible") location.reload();
  }, seconds * 1000);
}

// Destructive actions ask first, in plain words, in a real modal dialog: focus moves
// into it, Escape or "Go back" cancels, and a screen reader reads the question. The
// safe choice has the focus. Without this script the form simply submits.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  if (!(form instanceof HTMLFormElement)) continue;
  form.addEventListener("submit", (event) => {
    if (form.dataset.confirmed) return;
    event.preventDefault();
    askFirst(form);
  });
}

/** @param {HTMLFormElement} form */
function askFirst(form) {
  const dialog = document.createElement("dialog");
  dialog.className = "confirm";
  dialog.setAttribute("aria-labelledby", "confirm-question");
  const question = document.createElement("p");
  question.id = "confirm-question";
  question.textContent = form.dataset.confirm ?? "";
  const keep = document.createElement("button");
  keep.type = "button";
  keep.textContent = form.dataset.confirmNo ?? "";
  const go = document.createElement("button");
  go.type = "button";
  go.className = "danger";
  go.textContent = form.dataset.confirmYes ?? "";
  const actions = document.createElement("div");
  actions.className = "confirm-actions";
  actions.append(keep, go);
  dialog.append(question, actions);
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  keep.addEventListener("click", () => dialog.close());
  go.addEventListener("click", () => {
    form.dataset.confirmed = "yes";
    dialog.close();
    form.requestSubmit();
  });
  dialog.showModal();
  keep.focus();
}
