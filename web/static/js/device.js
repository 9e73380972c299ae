// @ts-check
// The ward tablet's and the entrance kiosk's page. It keeps one signaling socket all
// day; between visits it shows the facility, a large clock and today's visits; when a
// visit booked for this device opens it joins with no touch, full screen; afterwards
// the kiosk asks for the screen to be wiped, then goes back to idle. Every morning
// before visiting hours (and when staff press "Check now") it checks its own camera,
// microphone and connection between visits, as a family's check page does (probe.js).

import { Signaling } from "./signaling.js";
import { Mesh } from "./mesh.js";
import { $, CallView, allowSound, openMedia, whenSoundAllowed } from "./callview.js";
import { listenForSignal, openCheckMedia, probeNetwork, relayOfIceServers, sampleCamera } from "./probe.js";
import { CaptionSender, CaptionView } from "./captions.js";

/**
 * @typedef {import("../../types/protocol").ServerFrame} ServerFrame
 * @typedef {import("../../types/protocol").ScheduleEntry} ScheduleEntry
 * @typedef {import("../../types/protocol").VisitInfo} VisitInfo
 * @typedef {import("../../types/protocol").VisitFrame} VisitFrame
 * @typedef {import("../../types/protocol").DeviceCheck} DeviceCheck
 * @typedef {import("../../types/protocol").CameraWord} CameraWord
 * @typedef {import("../../types/protocol").MicWord} MicWord
 */

const TOKEN_KEY = "menkai-device-token";
const config = $("device-config").dataset;

// A launcher hands the token in the fragment; keep it and clear it from the address.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {
  localStorage.setItem(TOKEN_KEY, fragment.get("token") ?? "");
  history.replaceState(null, "", location.pathname);
}
const token = localStorage.getItem(TOKEN_KEY);

/** @type {MediaStream | null} */
let local = null;
/** @type {import("../../types/protocol").Role} */
let role = "ward";
/** @type {string | null} */
let visitId = null;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let cleaningTimer;
/** Why camera or microphone cannot be used, if so (from opening them, or a probe). */
let mediaProblem = /** @type {string | null} */ (null);
const HEALTH_EVERY_MS = 60000;
/** The camera opens this long before a visit (a preview, a self-check) and is released
 * when it ends: no camera light in the resident's room between visits. */
const PREPARE_MS = 2 * 60000;
/** @type {ScheduleEntry[]} */
let schedule = [];
/** Server time minus this device's time (from `welcome`). */
let serverOffset = 0;
/** @type {Promise<void> | null} */
let opening = null;
/** Whether the signaling socket is up (for #device-status). */
let linkUp = false;
/**
 * The latest self-check: every health report after it carries it.
 * @type {DeviceCheck | null}
 */
let lastCheck = null;
/**
 * The self-check under way: what it holds open, and what a visit pulls to stop it.
 * @typedef {{ abort: AbortController, stream: MediaStream | null, audio: AudioContext | null, video: HTMLVideoElement | null }} SelfCheck
 * @type {SelfCheck | null}
 */
let selfChecking = null;
/** With nobody there to speak, the microphone is judged by any signal within this. */
const SIGNAL_MS = 3000;
/** The server keeps at most one health report per 10 s (web/ws.rs): a self-check's
 * report waits until it will be kept. */
const HEALTH_GAP_MS = 11000;
/** performance.now() when the last health report was sent. */
let lastHealthAt = -Infinity;

/** Opens camera and microphone if they are not open; links already made start sending. */
async function ensureMedia() {
  // A visit (or the minutes before it) wins over a self-check under way.
  stopSelfCheck();
  if (local) return;
  opening ??= openMedia().then((media) => {
    local = media.stream;
    mediaProblem = media.problem;
    opening = null;
    mesh.setLocal(local);
    view.showSelf(local);
    showMediaWarning();
    reportHealth();
    sendKioskCaptions();
  });
  await opening;
}

/**
 * Runs `then` once camera and microphone are open, or at once if they are not opening.
 * @param {() => void} then
 */
function whenMediaReady(then) {
  if (opening) opening.then(then);
  else then();
}

/** Stops camera and microphone (the indicator light goes off). */
function releaseMedia() {
  if (!local) return;
  for (const track of local.getTracks()) track.stop();
  local = null;
  mesh.setLocal(null);
  view.showSelf(null);
  sendKioskCaptions();
}

/** In a visit, or one starts within PREPARE_MS. */
function mediaWanted() {
  if (visitId) return true;
  const now = Date.now() + serverOffset;
  return schedule.some((e) => Date.parse(e.starts_at) - now <= PREPARE_MS && Date.parse(e.ends_at) > now);
}

function followSchedule() {
  if (mediaWanted()) ensureMedia();
  else releaseMedia();
}

/**
 * Without opening anything: can this device use a camera and a microphone at all?
 * Sets `mediaProblem` for the idle screen's warning and the health report.
 */
async function probeMedia() {
  if (!navigator.mediaDevices?.getUserMedia) {
    mediaProblem = "insecure";
    return;
  }
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const kinds = new Set(devices.map((d) => d.kind));
    if (!kinds.has("videoinput") && !kinds.has("audioinput")) mediaProblem = "noDevices";
    else if (!kinds.has("videoinput")) mediaProblem = "noCamera";
    for (const name of ["camera", "microphone"]) {
      const status = await navigator.permissions?.query({ name: /** @type {PermissionName} */ (name) });
      if (status?.state === "denied") mediaProblem = "denied";
    }
  } catch {
    // Browsers that cannot tell: say nothing until a visit opens the camera.
  }
}

/** A large, plain warning on the idle screen for staff walking past. */
function showMediaWarning() {
  const warning = $("media-warning");
  const key = { insecure: "warnInsecure", denied: "warnDenied", noDevices: "warnMissing", noCamera: "warnMissing" }[mediaProblem ?? ""];
  warning.textContent = key ? (config[key] ?? "") : "";
  warning.hidden = !key;
}

/**
 * What this device can say about itself (docs/PROTOCOL.md, `health`): staff see it
 * on the Devices and Today pages before a family is waiting.
 * @returns {Promise<import("../../types/protocol").HealthFrame>}
 */
async function health() {
  const tracks = local?.getTracks() ?? [];
  // Between visits nothing is open: then the probe's answer stands for both.
  /** @param {string} kind */
  const has = (kind) =>
    local
      ? tracks.some((t) => t.kind === kind && t.readyState === "live")
      : !mediaProblem || (mediaProblem === "noCamera" && kind === "audio");
  /** @type {Record<string, import("../../types/protocol").MediaProblem>} */
  const problems = { insecure: "insecure", denied: "denied", noDevices: "missing", noCamera: "missing" };
  /** @type {import("../../types/protocol").HealthFrame} */
  const frame = {
    type: "health",
    camera: has("video"),
    microphone: has("audio"),
    app: `menkai-device/${config.version ?? ""}`,
    browser: navigator.userAgent.slice(0, 200),
  };
  // The kiosk program (menkai-kiosk) says how long it has kept this screen up and how
  // often it had to restart the browser; a tablet's own browser has no such keeper.
  const kiosk = /** @type {{ menkaiKiosk?: { startedAt: number, restarts: number } }} */ (/** @type {unknown} */ (window)).menkaiKiosk;
  if (kiosk) {
    frame.uptime_s = Math.max(0, Math.round((Date.now() - kiosk.startedAt) / 1000));
    frame.restarts = kiosk.restarts;
    frame.app = `menkai-kiosk+${frame.app}`;
  }
  if (visitId) frame.relayed = (await mesh.stats()).some((s) => s.relayed);
  const problem = mediaProblem ? problems[mediaProblem] : undefined;
  if (problem && !frame.camera) frame.camera_problem = problem;
  if (problem && mediaProblem !== "noCamera" && !frame.microphone) frame.microphone_problem = problem;
  if (lastCheck) frame.check = lastCheck;
  // Battery: Chromium tells, other browsers do not (then the fields stay out).
  const nav = /** @type {Navigator & { getBattery?: () => Promise<{ level: number, charging: boolean }> }} */ (navigator);
  if (nav.getBattery) {
    try {
      const battery = await nav.getBattery();
      frame.battery = battery.level;
      frame.charging = battery.charging;
    } catch {
      // Not allowed here: leave it out.
    }
  }
  return frame;
}

async function reportHealth() {
  const frame = await health();
  signaling?.send(frame);
  lastHealthAt = performance.now();
}

// ---- The self-check (the server's `check` frame) ----

/** #device-status: offline, or checking, or nothing. */
function showStatus() {
  const status = $("device-status");
  status.textContent = !linkUp ? (status.dataset.offline ?? "…") : selfChecking ? (config.selfChecking ?? "") : "";
}

/**
 * Camera light off, microphone closed, sound released: what a self-check held.
 * @param {SelfCheck} run
 */
function releaseCheck(run) {
  for (const track of run.stream?.getTracks() ?? []) track.stop();
  run.stream = null;
  if (run.video) run.video.srcObject = null;
  run.audio?.close().catch(() => {});
  run.audio = null;
}

/** A visit begins: the self-check stops at once, lets its media go and sends nothing. */
function stopSelfCheck() {
  const run = selfChecking;
  if (!run) return;
  selfChecking = null;
  run.abort.abort();
  releaseCheck(run);
  showStatus();
}

/**
 * Camera (three samples of its picture, in a video element in no document) and
 * microphone (any signal from the room: nobody is asked to speak) side by side, then
 * both closed again.
 * @param {SelfCheck} run @returns {Promise<{ camera: CameraWord, microphone: MicWord } | null>} null if stopped
 */
async function checkMedia(run) {
  const media = await openCheckMedia();
  run.stream = media.stream;
  if (run.abort.signal.aborted || !media.stream) {
    releaseCheck(run);
    return run.abort.signal.aborted ? null : { camera: media.camera ?? "missing", microphone: media.microphone ?? "missing" };
  }
  const stream = media.stream;
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  run.video = video;
  // A context of its own, closed after; a browser that keeps it suspended (nobody has
  // tapped this screen yet) leaves the verdict to the track (listenForSignal).
  const track = stream.getAudioTracks()[0];
  const AudioContextClass = window.AudioContext;
  if (!media.microphone && track && AudioContextClass) run.audio = new AudioContextClass();
  const audio = run.audio;
  /** @type {MicWord | Promise<MicWord>} */
  const microphone = media.microphone ?? (audio ? listenForSignal(audio, stream, SIGNAL_MS) : track?.readyState === "live" ? "ok" : "missing");
  const words = await Promise.all([media.camera ?? sampleCamera(stream, video), microphone]);
  releaseCheck(run);
  return run.abort.signal.aborted ? null : { camera: words[0], microphone: words[1] };
}

/**
 * The self-check, between visits only (docs/PROTOCOL.md, `check`): camera,
 * microphone and the way through to the relay, measured as a family's check measures
 * them, then reported in `health` (and in every report after it). The idle screen
 * shows only a line in #device-status. A visit that begins meanwhile stops it at once
 * (`stopSelfCheck`) and nothing is sent.
 */
/** @param {RTCIceServer[]} iceServers */
async function selfCheck(iceServers) {
  if (visitId || local || opening || selfChecking) return;
  /** @type {SelfCheck} */
  const run = { abort: new AbortController(), stream: null, audio: null, video: null };
  selfChecking = run;
  showStatus();
  try {
    const checked_at = new Date(Date.now() + serverOffset).toISOString();
    const media = await checkMedia(run);
    if (!media || run.abort.signal.aborted) return;
    const net = await probeNetwork(relayOfIceServers(iceServers), run.abort.signal);
    if (run.abort.signal.aborted) return;
    /** @type {DeviceCheck} */
    const check = { checked_at, ...media, path: net.path };
    if (net.up_kbps !== null) check.up_kbps = net.up_kbps;
    if (net.down_kbps !== null) check.down_kbps = net.down_kbps;
    if (net.rtt_ms !== null) check.rtt_ms = net.rtt_ms;
    lastCheck = check;
    setTimeout(reportHealth, Math.max(0, lastHealthAt + HEALTH_GAP_MS - performance.now()));
  } catch (e) {
    // A check that failed on its own error must not stop the device: visits matter more.
    mesh.note(`self-check failed: ${e}`);
  } finally {
    releaseCheck(run);
    if (selfChecking === run) selfChecking = null;
    showStatus();
  }
}

/** @param {"idle" | "call" | "cleaning" | "unpaired" | "removed"} screen */
function show(screen) {
  for (const id of ["idle", "call", "cleaning", "unpaired", "removed"]) $(id).hidden = id !== screen;
  document.body.dataset.screen = screen;
}

/** @type {Mesh} */
const mesh = new Mesh((to, data) => signaling?.signal(to, data), {
  onStream: (info, stream) => view.addStream(info, stream),
  onGone: (peerId) => view.removePeer(peerId),
  onState: (peerId, state) => view.setPeerState(peerId, state),
});
/** @type {CallView} */
const view = new CallView(mesh);
/** Live captions of what the family says, when on for the visit. */
const captions = new CaptionView((peerId) => mesh.links.get(peerId)?.info.name ?? "");
/** At the entrance the family speaks into this kiosk: its microphone is captioned. */
const kioskCaptions = new CaptionSender({ send: (frame) => signaling?.send(frame), get ws() { return signaling?.ws ?? null; } }, config.lang ?? "ja");

/** Whether captions are on for the visit we are in (welcome, visit frames). */
let captionsOn = false;

function setCaptions(/** @type {boolean} */ on) {
  captionsOn = on;
  captions.setOn(on);
  sendKioskCaptions();
}

/** The kiosk captions its microphone while captions are on and it is open (called
 * again whenever either changes). */
function sendKioskCaptions() {
  if (role !== "entrance") return;
  kioskCaptions.setStream(local);
  kioskCaptions.setOn(captionsOn && !!visitId && !!local);
}

// 24-hour time as on every other screen ("13:00", never "1:00 PM"), without the
// leading zero some languages add ("9:05", as the staff pages write it).
const timeFormat = new Intl.DateTimeFormat(config.lang, { hour: "numeric", minute: "2-digit", hourCycle: "h23", timeZone: config.timeZone });
/** @param {Date} date */
const clockTime = (date) => timeFormat.format(date).replace(/^0(?=\d)/, "");
// Japanese: the short weekday in full-width brackets, as the other pages write a date
// (2030年1月7日（月）); other languages: the full date.
const dateFormat = config.lang === "ja"
  ? new Intl.DateTimeFormat("ja", { year: "numeric", month: "long", day: "numeric", weekday: "short", timeZone: config.timeZone })
  : new Intl.DateTimeFormat(config.lang, { dateStyle: "full", timeZone: config.timeZone });
/** @param {Date} date */
const dayText = (date) => dateFormat.format(date).replace("(", "（").replace(")", "）");
function tick() {
  const now = new Date();
  $("clock").textContent = clockTime(now);
  $("today").textContent = dayText(now);
}
tick();
setInterval(tick, 1000);

/** @param {ScheduleEntry[]} entries */
function renderSchedule(entries) {
  schedule = entries;
  followSchedule();
  const list = $("schedule");
  list.replaceChildren();
  if (!entries.length) {
    const empty = document.createElement("li");
    empty.className = "empty-item";
    empty.textContent = config.noVisits ?? "";
    list.append(empty);
  }
  for (const entry of entries) {
    const item = document.createElement("li");
    const time = document.createElement("strong");
    time.textContent = `${clockTime(new Date(entry.starts_at))}–${clockTime(new Date(entry.ends_at))}`;
    item.append(time, ` ${entry.resident}`);
    list.append(item);
  }
}

/**
 * @param {VisitInfo | VisitFrame} visit from `welcome` or a `visit` frame with an `id`
 * @param {string} now the server's clock
 */
function enterVisit(visit, now) {
  visitId = visit.id ?? null;
  captions.clear();
  setCaptions("captions" in visit ? !!visit.captions : false);
  clearTimeout(cleaningTimer);
  // The kiosk shows the tablet's tile under the resident's name.
  if (visit.resident) view.residentName = visit.resident;
  // Once the call's paths are settled, tell staff whether it goes through a relay.
  setTimeout(reportHealth, 12000);
  view.setTimes(visit.ends_at, now);
  ensureMedia();
  show("call");
  document.documentElement.requestFullscreen?.().catch(() => {});
}

function leaveVisit() {
  visitId = null;
  setCaptions(false);
  mesh.closeAll();
  followSchedule();
  if (role === "entrance") {
    // The kiosk is shared by strangers: ask for a wipe during the cleaning buffer.
    show("cleaning");
    cleaningTimer = setTimeout(() => show("idle"), Number(config.bufferMinutes ?? 10) * 60000);
  } else {
    show("idle");
  }
}

/** @param {ServerFrame} msg */
function onMessage(msg) {
  // While camera and microphone are opening (a visit just began), the frames after
  // wait, in order: links to the others are then made with our media in them, with
  // no second negotiation to add it.
  if (opening) {
    opening.then(() => onMessage(msg));
    return;
  }
  if (mesh.handle(msg)) return;
  switch (msg.type) {
    case "welcome":
      reportHealth();
      serverOffset = Date.parse(msg.now) - Date.now();
      mesh.me = msg.peer_id;
      mesh.iceServers = msg.ice_servers ?? [];
      mesh.iceTransportPolicy = msg.ice_transport_policy ?? "all";
      role = msg.role;
      document.body.dataset.role = role;
      renderSchedule(msg.schedule ?? []);
      view.setVolume(msg.volume ?? 1);
      if (msg.visit) {
        enterVisit(msg.visit, msg.now);
        const peers = msg.peers;
        const meet = () => {
          for (const peer of peers) mesh.add(peer);
          mesh.restartIce();
        };
        whenMediaReady(meet);
      } else if (visitId) {
        leaveVisit();
      }
      break;
    case "visit":
      // Seated in a visit: relay credentials made for it.
      if (msg.ice_servers) mesh.iceServers = msg.ice_servers;
      if (msg.id && msg.id !== visitId && ["open", "live"].includes(msg.state)) enterVisit(msg, msg.now);
      else if (["ended", "cancelled"].includes(msg.state)) leaveVisit();
      else view.setTimes(msg.ends_at, msg.now);
      if (msg.captions !== undefined && visitId) setCaptions(msg.captions);
      break;
    case "caption":
      captions.add(msg);
      break;
    case "captions":
      captions.setAvailable(msg.available);
      break;
    case "schedule":
      renderSchedule(msg.schedule);
      break;
    case "control":
      view.setVolume(msg.volume);
      break;
    case "check":
      // Fresh relay credentials come with it: the welcome's may be a night old.
      selfCheck(msg.ice_servers.length ? msg.ice_servers : mesh.iceServers);
      break;
    case "error":
      mesh.note(`server error ${msg.code}`);
      if (msg.code === "invalid_token" || msg.code === "device_revoked") {
        // The token no longer works (never did, or staff revoked this device): stop
        // reconnecting, drop any call and the camera, and show how to pair again.
        localStorage.removeItem(TOKEN_KEY);
        signaling?.stop();
        stopSelfCheck();
        visitId = null;
        clearTimeout(cleaningTimer);
        mesh.closeAll();
        for (const track of local?.getTracks() ?? []) track.stop();
        // Removed by staff: say so plainly (staff must set it up again); a token that
        // never worked: offer pairing.
        show(msg.code === "device_revoked" ? "removed" : "unpaired");
      }
      break;
  }
}

/** Keeps the screen on (tablets sleep otherwise). */
async function keepAwake() {
  // The Screen Wake Lock API, spelled out: older TypeScript DOM libraries lack it, and
  // browsers without it leave `wakeLock` undefined.
  const wakeLock = /** @type {{ wakeLock?: { request(type: "screen"): Promise<unknown> } }} */ (navigator).wakeLock;
  try {
    await wakeLock?.request("screen");
  } catch {
    /* not available or refused: the device's own settings must keep it on */
  }
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") keepAwake();
});

/**
 * Browsers play sound only after one tap on the page; explain that, once, at start
 * (and again whenever a call's sound is held back: `play` in callview.js shows the
 * same overlay, so there is only ever one control to tap).
 */
function offerSoundUnlock() {
  $("sound-unlock-button").onclick = allowSound;
  const AudioContextClass = window.AudioContext;
  if (!AudioContextClass) return;
  const probe = new AudioContextClass();
  if (probe.state === "running") {
    probe.close();
    return;
  }
  $("sound-unlock").hidden = false;
  whenSoundAllowed(() => probe.close());
}

/** @type {Signaling | null} */
let signaling = null;

/**
 * The page stopped on an error of its own (the server has been told): camera off, no
 * call half-open; guard.js shows it and reloads the page after a while.
 * @param {unknown} error
 */
function stopOnError(error) {
  signaling?.stop();
  stopSelfCheck();
  mesh.closeAll();
  releaseMedia();
  window.menkaiCrash?.(error);
}

async function start() {
  // This browser lacks what the device page needs: guard.js shows which browsers work.
  if (window.menkaiMissing?.length) return;
  if (!token) {
    show("unpaired");
    return;
  }
  show("idle");
  keepAwake();
  offerSoundUnlock();
  await probeMedia();
  showMediaWarning();
  setInterval(reportHealth, HEALTH_EVERY_MS);
  setInterval(followSchedule, 10000);
  view.bindControls(() => local, () => {});
  signaling = new Signaling(token, onMessage, (up) => {
    linkUp = up;
    showStatus();
    $("reconnecting").hidden = up || !visitId;
  }, stopOnError);
  signaling.connect();
}

Object.assign(window, {
  menkai: { mesh, view, captions, visit: () => visitId, stats: () => mesh.stats(),
    liveTracks: () => (local?.getTracks() ?? []).filter((t) => t.readyState === "live").length, linked: () => signaling?.ws?.readyState === WebSocket.OPEN, screen: () => document.body.dataset.screen,
    selfCheck: () => lastCheck, checking: () => selfChecking !== null },
});
start().catch(stopOnError);
