// @ts-check
// Runs before a page's own modules, written in JavaScript that every browser still in
// use can run (no modules, no arrows, no `let`): does this browser have what the page
// needs? A browser without WebRTC (Debian's WebKitGTK, an old iPhone, an in-app
// browser) would otherwise get as far as "Connecting you now…" and hang there with no
// word why. It also gives the pages one way to stop on an error of their own.
//
// The page names what it needs on <body data-needs="…">; docs/BROWSERS.md lists the
// checks and the browsers that pass them. When something is missing, #unsupported
// (templates/browser_trouble.html) says which browsers work and the page's modules do
// not start (they read `window.menkaiMissing`).
(function () {
  /** @type {Record<string, () => boolean>} */
  var checks = {
    // Not in a secure context (plain http:// away from this computer) the browser
    // hides the camera: that is the address's fault, not the browser's, and the page
    // says so itself. Everything else is the browser's.
    media: function () {
      return !window.isSecureContext || !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
    },
    webrtc: function () {
      return typeof window.RTCPeerConnection === "function";
    },
    websocket: function () {
      return typeof window.WebSocket === "function";
    },
    audio: function () {
      return typeof window.AudioContext === "function";
    },
    storage: function () {
      try {
        return !!window.localStorage;
      } catch (e) {
        return false;
      }
    },
    // The pages' modules use 2021's JavaScript (`??=`, replaceChildren): Safari 14,
    // Chrome 86, Firefox 79 and later. Older ones fail to parse them and do nothing.
    language: function () {
      return typeof Promise.any === "function" && typeof Element.prototype.replaceChildren === "function";
    },
  };

  var needs = (document.body.getAttribute("data-needs") || "").split(" ");
  /** @type {string[]} */
  var missing = [];
  for (var i = 0; i < needs.length; i++) {
    var check = checks[needs[i]];
    if (check && !check()) missing.push(needs[i]);
  }
  window.menkaiMissing = missing;

  /**
   * Shows one of the trouble screens in place of everything else on the page.
   * @param {"unsupported" | "crashed"} which
   */
  function show(which) {
    document.body.setAttribute("data-trouble", which);
    var section = document.getElementById(which);
    if (section) {
      section.hidden = false;
      var heading = section.querySelector("h1");
      if (heading instanceof HTMLElement) heading.focus();
    }
  }

  if (missing.length) {
    var detail = document.getElementById("unsupported-missing");
    if (detail) detail.textContent = (detail.getAttribute("data-prefix") || "") + missing.join(", ");
    show("unsupported");
    if (window.console) console.warn("Menkai cannot run in this browser; it lacks: " + missing.join(", "));
  }

  var reloadButton = document.getElementById("crashed-reload");
  if (reloadButton) {
    reloadButton.onclick = function () {
      location.reload();
    };
  }

  /**
   * The page stopped on an error of its own: log it, and say so with a way back
   * instead of freezing. The page has already told the server (`client_error`) and
   * closed its calls. A device page (nobody to tap on the ward) reloads itself, at
   * most three times in ten minutes so a page that always fails does not spin.
   * @param {unknown} error
   */
  window.menkaiCrash = function (error) {
    var text = error instanceof Error ? error.name + ": " + error.message : String(error);
    if (window.console) console.error("Menkai stopped on an error: " + text, error);
    show("crashed");
    if (document.body.getAttribute("data-reload-after-error") === null) return;
    var key = "menkai-crash-reloads";
    var now = Date.now();
    /** @type {number[]} */
    var recent = [];
    try {
      recent = JSON.parse(sessionStorage.getItem(key) || "[]").filter(function (/** @type {number} */ t) {
        return now - t < 10 * 60000;
      });
    } catch (e) {
      recent = [];
    }
    if (recent.length >= 3) return;
    recent.push(now);
    try {
      sessionStorage.setItem(key, JSON.stringify(recent));
    } catch (e) {
      /* private mode: reload anyway */
    }
    setTimeout(function () {
      location.reload();
    }, 15000);
  };
})();
