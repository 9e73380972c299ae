// @ts-check
// Pairing a tablet or kiosk: trade the one-time code from the staff pages for a
// device token, keep it on this device, and go to the device page.

const form = /** @type {HTMLFormElement} */ (document.getElementById("pair-form"));
const error = /** @type {HTMLElement} */ (document.getElementById("pair-error"));

form.addEventListener("submit", async (event) => {
  // This browser could not run the device page: guard.js says so instead.
  if (window.menkaiMissing?.length) return;
  event.preventDefault();
  const code = /** @type {HTMLInputElement} */ (document.getElementById("code")).value;
  error.hidden = true;
  try {
    const res = await fetch("/api/v1/devices/pair", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code }),
    });
    if (res.ok) {
      const { device_token } = /** @type {{ device_token: string }} */ (await res.json());
      localStorage.setItem("menkai-device-token", device_token);
      location.replace("/device");
      return;
    }
    error.textContent = (res.status === 429 ? form.dataset.errorWait : form.dataset.errorInvalid) ?? "";
  } catch {
    error.textContent = form.dataset.errorNetwork ?? "";
  }
  error.hidden = false;
});
