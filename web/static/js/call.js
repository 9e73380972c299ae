// @ts-check
// The family's page once the link works: camera preview and waiting screen, then the
// call (joined by itself when the visit opens), then the end screen.

import { Signaling } from "./signaling.js";
import { Mesh } from "./mesh.js";
import { $, CallView, openMedia, t } from "./callview.js";

/**
 * @typedef {import("../../types/protocol").ServerFrame} ServerFrame
 * @typedef {import("../../types/protocol").VisitState} VisitState
 * @typedef {import("../../types/protocol").ErrorCode} ErrorCode
 */

/**
 * Errors after which this link cannot take part any more: the page stops reconnecting
 * and says why (the title comes from #strings, `data-error_<code>`).
 * @type {ErrorCode[]}
 */
const FINAL_ERRORS = ["invalid_token", "link_expired", "link_replaced", "visit_cancelled", "visit_full", "joined_elsewhere"];

const token = location.pathname.split("/")[2] ?? "";
/** @type {MediaStream | null} */
let local = null;
/** @type {VisitState} */
let state = "scheduled";
let everConnected = false;

/** @type {Mesh} */
const mesh = new Mesh((to, data) => signaling.signal(to, data), {
  onStream: (info, stream) => view.addStream(info, stream),
  onGone: (peerId) => view.removePeer(peerId),
  onState: (peerId, state) => view.setPeerState(peerId, state),
});
/** @type {CallView} */
const view = new CallView(mesh);
const signaling = new Signaling(token, onMessage, (up) => {
  $("reconnecting").hidden = up || !everConnected;
}, stopOnError);
/**
 * Our own voice as captions on the resident's screen, when on for the visit. Loaded
 * only then: most families' pages never need it (and the page stays small).
 * @type {import("./captions.js").CaptionSender | null}
 */
let captions = null;

/** Captions on or off for the visit (welcome and visit frames). */
async function setCaptions(/** @type {boolean} */ on) {
  if (on && !captions) {
    const { CaptionSender } = await import("./captions.js");
    captions ??= new CaptionSender(signaling, document.documentElement.lang);
    captions.setStream(local);
  }
  captions?.setOn(on);
}

/**
 * The page stopped on an error of its own (the server has been told): nothing may
 * stay half-open behind the "Something went wrong" screen.
 * @param {unknown} error
 */
function stopOnError(error) {
  signaling.stop();
  mesh.closeAll();
  for (const track of local?.getTracks() ?? []) track.stop();
  window.menkaiCrash?.(error);
}

/**
 * Shows one of the page's screens.
 * @param {"prejoin" | "call" | "ended"} screen
 */
function show(screen) {
  for (const id of ["prejoin", "call", "ended"]) $(id).hidden = id !== screen;
  document.body.dataset.screen = screen;
}

/** @param {VisitState} next */
function setState(next) {
  state = next;
  document.body.dataset.visitState = state;
  if (state === "open" || state === "live") {
    show("call");
    // Captions start with the visit (the server takes no audio before it).
    captions?.update();
  }
  else if (state === "ended" || state === "cancelled") finish(state === "cancelled" ? "cancelledTitle" : "endedTitle");
  else show("prejoin");
}

/**
 * Stops for good (no socket, no connections, camera off) and shows the end screen.
 * @param {string} titleKey
 */
function finish(titleKey) {
  signaling.stop();
  mesh.closeAll();
  for (const track of local?.getTracks() ?? []) track.stop();
  $("ended-title").textContent = t(titleKey);
  show("ended");
}

/** @param {ServerFrame} msg */
function onMessage(msg) {
  if (mesh.handle(msg)) return;
  switch (msg.type) {
    case "welcome": {
      const resumed = everConnected;
      everConnected = true;
      mesh.me = msg.peer_id;
      mesh.iceServers = msg.ice_servers ?? [];
      mesh.iceTransportPolicy = msg.ice_transport_policy ?? "all";
      for (const peer of msg.peers) mesh.add(peer);
      if (msg.visit) {
        view.residentName = msg.visit.resident;
        view.setTimes(msg.visit.ends_at, msg.now);
        setState(msg.visit.state);
        setCaptions(!!msg.visit.captions).catch(stopOnError);
      }
      // Back after a drop: the media never stopped, but paths may have changed.
      if (resumed) mesh.restartIce();
      break;
    }
    case "visit":
      view.setTimes(msg.ends_at, msg.now);
      setState(msg.state);
      if (msg.captions !== undefined) setCaptions(msg.captions).catch(stopOnError);
      break;
    case "captions":
      $("captions-notice").hidden = msg.available;
      break;
    case "error":
      mesh.note(`server error ${msg.code}`);
      if (msg.code === "too_early") {
        $("wait-msg").textContent = t("tooEarly");
      } else if (FINAL_ERRORS.includes(msg.code)) {
        // joined_elsewhere: the same link was opened on another device, which has the
        // seat now; reconnecting by itself would take it back and start a tug of war.
        // The person chooses instead: the visit goes on there, or here after one tap
        // (a fresh page takes the seat back; the other device is told the same).
        finish(`error_${msg.code}`);
        if (msg.code === "joined_elsewhere") {
          $("ended-body").hidden = true;
          $("elsewhere").hidden = false;
          $("take-back").onclick = () => location.reload();
        }
      }
      break;
  }
}

async function start() {
  // This browser lacks what a call needs: guard.js shows which browsers work.
  if (window.menkaiMissing?.length) return;
  show("prejoin");
  const { stream, problem } = await openMedia();
  local = stream;
  if (problem) {
    const help = $("media-help");
    help.textContent = t(`media_${problem}`);
    help.hidden = false;
  }
  if (problem === "insecure") {
    // Not a secure address (plain http:// anywhere but this computer): the browser
    // gives no camera or microphone at all, and a call in which nobody can be seen or
    // heard is worse than none. Say only what to do instead, and do not join.
    // The family cannot fix the address; the care home can: its phone number.
    for (const p of document.querySelectorAll("#prejoin > p")) {
      if (!(p instanceof HTMLElement)) continue;
      p.hidden = !(p.id === "media-help" || p.id === "media-help-phone" || p.matches(".hello, .when"));
    }
    return;
  }
  const preview = /** @type {HTMLVideoElement} */ ($("preview"));
  preview.srcObject = stream;
  preview.hidden = !stream || stream.getVideoTracks().length === 0;
  view.showSelf(stream);
  mesh.setLocal(stream);
  view.bindControls(() => local, () => {
    signaling.leave();
    mesh.closeAll();
    for (const track of local?.getTracks() ?? []) track.stop();
    $("ended-title").textContent = t("leftTitle");
    $("rejoin").hidden = false;
    show("ended");
  });
  signaling.connect();
}

// For tests and support: what the page is doing.
Object.assign(window, {
  menkai: { mesh, captions: () => captions, state: () => state, stats: () => mesh.stats(), linked: () => signaling.ws?.readyState === WebSocket.OPEN, screen: () => document.body.dataset.screen },
});
start().catch(stopOnError);
