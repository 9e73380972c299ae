// @ts-check
// Small conveniences on staff pages. Everything works without this script; it only
// saves clicks.

document.documentElement.classList.add("js");

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
