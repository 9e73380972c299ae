// @ts-check
// The pre-visit check (templates/check.html): any day before the visit, the family
// tries camera, microphone, sound and connection, sees in plain words what works and
// what to do about what does not, and the server keeps the result for staff. The page
// measures and reports; the server alone decides the verdict, so staff and family read
// the same one. Nothing runs before the tap on "Start": that tap is also the gesture
// browsers want before an AudioContext may make sound. The measuring itself is in
// probe.js (the devices check themselves the same way); this is the page around it.

import { fetchCheckRelay, listenForSpeech, openCheckMedia, probeNetwork, sampleCamera } from "./probe.js";

// The call screen's code (callview.js, mesh.js) is not loaded here: the check page
// stays small for a phone on a poor line.
/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @typedef {"browser" | "camera" | "microphone" | "speaker" | "network"} Step
 * @typedef {import("./probe.js").CameraWord} CameraWord
 * @typedef {import("./probe.js").MicWord} MicWord
 * @typedef {import("./probe.js").Path} Path
 * @typedef {"ready" | "ready_relayed" | "audio_only" | "cannot_connect" | "problem"} Verdict
 * @typedef {import("./probe.js").Network & { network_ms: number | null, total_ms: number | null }} Figures
 * @typedef {{ camera: CameraWord, microphone: MicWord, speaker: "ok" | "not_heard", path: Path, up_kbps?: number, down_kbps?: number, rtt_ms?: number }} Report
 * @typedef {Report & { checked_at: string, verdict: Verdict, browser?: string }} Stored
 */

const STEPS = /** @type {const} */ (["browser", "camera", "microphone", "speaker", "network"]);
/** A server that has not answered the result by then is taken as out of reach. */
const SEND_TIMEOUT_MS = 10000;
/** A result the server could not be told is sent again this often (and at once when
 * the browser says it is back online), for this long: a family whose network was down
 * during the check still reaches staff once it is back. */
const RESEND_EVERY_MS = 10000;
const RESEND_FOR_MS = 10 * 60000;

const token = location.pathname.split("/")[2] ?? "";

/** @type {"idle" | "running" | "done"} */
let state = "idle";
/** @type {Record<Step, string>} */
const words = { browser: "waiting", camera: "waiting", microphone: "waiting", speaker: "waiting", network: "waiting" };
/** @type {Stored | null} */
let answer = null;
/** @type {Figures} */
let figures = emptyFigures();
/** What must be let go when the check ends or the page is left: the camera light goes off. */
const held = {
  /** @type {MediaStream | null} */ stream: null,
  /** @type {AudioContext | null} */ audio: null,
};

/**
 * A translated string from #check-strings, named as its data attribute is (after
 * `data-`); `{name}` placeholders are filled from `vars`.
 * @param {string} name @param {Record<string, string | number>} [vars]
 */
function s(name, vars = {}) {
  const key = name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  const text = $("check-strings")?.dataset[key] ?? name;
  return text.replace(/\{(\w+)\}/g, (whole, v) => (v in vars ? String(vars[v]) : whole));
}

/** @returns {Figures} */
function emptyFigures() {
  return { signaling: false, signaling_ms: null, srflx: false, transports: { udp: false, tcp: false, tls: false },
    path: "none", rtt_ms: null, up_kbps: null, down_kbps: null, network_ms: null, total_ms: null };
}

/** The settings screen to send someone to differs by phone; iPadOS says it is a Mac. */
function platform() {
  const ua = navigator.userAgent;
  if (/iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1)) return "iphone";
  return /Android/.test(ua) ? "android" : "computer";
}

/** @param {Step} step @param {string} word */
function adviceFor(step, word) {
  if (["waiting", "running", "ok"].includes(word)) return null;
  if (word !== "denied") return s(`${step}-${word}-advice`);
  // One question asks for both: say what to do once, under the camera.
  if (step === "microphone" && words.camera === "denied") return s("microphone-denied-same");
  return s(`denied-${platform()}`);
}

/**
 * Shows a step's state: its marker, its status line and, for a problem, what to do.
 * @param {Step} step @param {string} word "waiting", "running", "ok" or the problem
 * @param {string} [status] the status line, when it is not the word's own
 */
function setStep(step, word, status) {
  words[step] = word;
  const section = $(`step-${step}`);
  section.dataset.state = ["waiting", "running", "ok"].includes(word) ? word : "problem";
  const line = /** @type {HTMLElement} */ (section.querySelector(".step-status"));
  line.textContent = status ?? s(word === "waiting" ? "waiting" : `${step}-${word}`);
  const advice = /** @type {HTMLElement} */ (section.querySelector(".step-advice"));
  const text = adviceFor(step, word);
  advice.textContent = text ?? "";
  advice.hidden = !text;
}

// ---- Camera and microphone ----

/**
 * The camera's picture in the preview while it is judged.
 * @param {MediaStream} stream @returns {Promise<CameraWord>}
 */
function watchCamera(stream) {
  const video = /** @type {HTMLVideoElement} */ ($("check-preview"));
  if (stream.getVideoTracks()[0]) video.hidden = false;
  return sampleCamera(stream, video);
}

/**
 * Asks the person to speak, with a meter that moves with their voice.
 * @param {AudioContext} audio @param {MediaStream} stream @returns {Promise<MicWord>}
 */
async function listen(audio, stream) {
  const test = $("mic-test");
  const meter = /** @type {HTMLMeterElement} */ ($("mic-level"));
  if (stream.getAudioTracks()[0]) test.hidden = false;
  const word = await listenForSpeech(audio, stream, (level) => (meter.value = level));
  test.hidden = true;
  return word;
}

/**
 * A step's verdict, shown as soon as it is known.
 * @template {string} W @param {Step} step @param {W | Promise<W>} verdict @returns {Promise<W>}
 */
async function shown(step, verdict) {
  const word = await verdict;
  setStep(step, word);
  return word;
}

/** Camera and microphone side by side; their verdicts shown as each comes in. */
async function testMedia(/** @type {AudioContext} */ audio) {
  setStep("camera", "running");
  setStep("microphone", "running");
  const media = await openCheckMedia();
  held.stream = media.stream;
  const camera = media.camera ?? (media.stream ? watchCamera(media.stream) : "missing");
  const microphone = media.microphone ?? (media.stream ? listen(audio, media.stream) : "missing");
  const [c, m] = await Promise.all([shown("camera", camera), shown("microphone", microphone)]);
  return { camera: c, microphone: m };
}

// ---- Speaker ----

/**
 * A soft two-note chime, about 0.6 s.
 * @param {AudioContext} audio
 */
function chime(audio) {
  const at = audio.currentTime + 0.05;
  for (const [i, hz] of [784, 659].entries()) {
    const start = at + i * 0.3;
    const tone = audio.createOscillator();
    tone.frequency.value = hz;
    const gain = audio.createGain();
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.33);
    tone.connect(gain).connect(audio.destination);
    tone.start(start);
    tone.stop(start + 0.35);
  }
}

/** @param {AudioContext} audio @returns {Promise<"ok" | "not_heard">} */
async function testSpeaker(audio) {
  // iOS sends Web Audio to the quiet earpiece while the microphone is open.
  for (const track of held.stream?.getAudioTracks() ?? []) track.stop();
  setStep("speaker", "running");
  const play = () => {
    audio.resume().catch(() => {});
    chime(audio);
  };
  $("speaker-play").onclick = play;
  $("speaker-test").hidden = false;
  $("step-speaker").scrollIntoView({ block: "center", behavior: "smooth" });
  play();
  const heard = await new Promise((resolve) => {
    $("speaker-yes").onclick = () => resolve(true);
    $("speaker-no").onclick = () => resolve(false);
  });
  $("speaker-test").hidden = true;
  const word = heard ? "ok" : "not_heard";
  setStep("speaker", word);
  return word;
}

// ---- Network ----

/** @param {number} kbps */
function speed(kbps) {
  if (kbps < 1000) return s("speed-kbps", { n: kbps });
  return s("speed-mbps", { n: kbps < 10000 ? (kbps / 1000).toFixed(1) : Math.round(kbps / 1000) });
}

/** @param {number} began performance.now() at the tap */
async function testNetwork(began) {
  setStep("network", "running");
  const net = await probeNetwork(fetchCheckRelay(token));
  Object.assign(figures, net);
  figures.network_ms = Math.round(performance.now() - began);
  const { path, rtt_ms, up_kbps, down_kbps } = net;
  const word = path === "none" ? "none" : net.signaling ? "ok" : "signaling";
  setStep("network", word, word === "ok" ? s(`path-${path}`) : undefined);
  const shown = $("network-figures");
  shown.hidden = rtt_ms === null || up_kbps === null || down_kbps === null;
  if (!shown.hidden) shown.textContent = s("figures", { down: speed(Number(down_kbps)), up: speed(Number(up_kbps)), rtt: Number(rtt_ms) });
  return figures;
}

// ---- The result ----

/** What the server is told: only what the page learnt. @returns {Report} */
function reportOf(/** @type {{ camera: CameraWord, microphone: MicWord, speaker: "ok" | "not_heard" }} */ media, /** @type {Figures} */ f) {
  /** @type {Report} */
  const report = { ...media, path: f.path };
  if (f.path === "none") return report;
  if (f.up_kbps !== null) report.up_kbps = f.up_kbps;
  if (f.down_kbps !== null) report.down_kbps = f.down_kbps;
  if (f.rtt_ms !== null) report.rtt_ms = f.rtt_ms;
  return report;
}

/**
 * Tells the server. `retry`: whether the same report may still get through later (no
 * network, no answer, the server busy), rather than being refused for what it is.
 * @param {Report} report @param {AbortController} [abort] stops the request
 * @returns {Promise<{ stored: Stored | null, retry: boolean }>}
 */
async function send(report, abort = new AbortController()) {
  const timer = setTimeout(() => abort.abort(), SEND_TIMEOUT_MS);
  try {
    const res = await fetch(`/v/${token}/check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(report),
      signal: abort.signal,
    });
    if (res.ok) return { stored: await res.json(), retry: false };
    return { stored: null, retry: res.status >= 500 || res.status === 408 || res.status === 429 };
  } catch {
    return { stored: null, retry: true };
  } finally {
    clearTimeout(timer);
  }
}

/** The result the server has not had yet, while it is being sent again. */
const resend = {
  /** @type {ReturnType<typeof setInterval> | undefined} */ timer: undefined,
  /** @type {(() => Promise<void>) | null} */ attempt: null,
  /** @type {AbortController | null} */ abort: null,
};

function stopResending() {
  clearInterval(resend.timer);
  if (resend.attempt) removeEventListener("online", resend.attempt);
  resend.attempt = null;
  resend.abort?.abort();
  resend.abort = null;
}

/**
 * Sends `report` again every RESEND_EVERY_MS, and at once when the browser is back
 * online, until the server has it (then its verdict replaces the page's own) or
 * RESEND_FOR_MS have passed. A new check stops it.
 * @param {Report} report
 */
function resendLater(report) {
  stopResending();
  const until = Date.now() + RESEND_FOR_MS;
  const attempt = async () => {
    if (resend.attempt !== attempt || resend.abort) return;
    const abort = new AbortController();
    resend.abort = abort;
    const sent = await send(report, abort);
    if (resend.attempt !== attempt) return;
    resend.abort = null;
    if (sent.stored) {
      stopResending();
      answer = sent.stored;
      showResult(answer.verdict, answer.path, true, false);
    } else if (!sent.retry || Date.now() >= until) {
      stopResending();
    }
  };
  resend.attempt = attempt;
  resend.timer = setInterval(attempt, RESEND_EVERY_MS);
  addEventListener("online", attempt);
}

/**
 * Only when the server could not be told: the nearest the page can say itself.
 * @param {Report} r
 * @returns {Verdict}
 */
function localVerdict(r) {
  if (r.path === "none" || !figures.signaling) return "cannot_connect";
  if (r.camera !== "ok" || r.microphone !== "ok" || r.speaker !== "ok") return "problem";
  // As the server says it: UDP through the relay is as good as direct for a call.
  return r.path === "relay_tcp" || r.path === "relay_tls" ? "ready_relayed" : "ready";
}

/**
 * @param {Verdict} verdict @param {Path} path @param {boolean} sent
 * @param {boolean} [moveTo] scroll to the result and focus its title (not when a result
 *   sent late replaces the page's own while the person may be reading)
 */
function showResult(verdict, path, sent, moveTo = true) {
  const result = $("check-result");
  result.dataset.verdict = verdict;
  $("check-verdict-title").textContent = s(`result-${verdict}-title`);
  $("check-verdict-body").textContent = s(`result-${verdict}-body`);
  const problems = $("check-problems");
  // "Cannot connect" already says what the connection step would.
  const listed = STEPS.filter((step) => $(`step-${step}`).dataset.state === "problem" && !(step === "network" && verdict === "cannot_connect"));
  problems.replaceChildren(...listed.map(problemItem));
  problems.hidden = problems.childElementCount === 0;
  $("check-not-sent").textContent = sent ? "" : s("result-not-sent");
  $("check-not-sent").hidden = sent;
  result.hidden = false;
  if (!moveTo) return;
  result.scrollIntoView({ block: "start", behavior: "smooth" });
  $("check-verdict-title").focus({ preventScroll: true });
}

/**
 * One step that found a problem, with what to do, as the step itself shows it.
 * @param {Step} step
 */
function problemItem(step) {
  const section = $(`step-${step}`);
  const item = document.createElement("li");
  const title = document.createElement("strong");
  title.textContent = section.querySelector("h2")?.textContent ?? step;
  const status = document.createElement("p");
  status.textContent = section.querySelector(".step-status")?.textContent ?? "";
  const advice = document.createElement("p");
  advice.textContent = section.querySelector(".step-advice")?.textContent ?? "";
  item.append(title, status, advice);
  return item;
}

/** Camera light off, microphone closed, sound released. */
function release() {
  for (const track of held.stream?.getTracks() ?? []) track.stop();
  held.stream = null;
  const video = /** @type {HTMLVideoElement} */ ($("check-preview"));
  video.srcObject = null;
  video.hidden = true;
  held.audio?.close().catch(() => {});
  held.audio = null;
}

function reset() {
  for (const step of STEPS) setStep(step, "waiting");
  for (const id of ["check-result", "network-figures", "mic-test", "speaker-test"]) $(id).hidden = true;
  answer = null;
  figures = emptyFigures();
}

/** The whole check. Called from a tap: the AudioContext is made and resumed before any await. */
async function run() {
  state = "running";
  stopResending();
  const began = performance.now();
  const audio = new AudioContext();
  audio.resume().catch(() => {});
  held.audio = audio;
  reset();
  $("check-start").hidden = true;
  $("check-steps").hidden = false;
  const network = testNetwork(began);
  const secure = window.isSecureContext && !!navigator.mediaDevices?.getUserMedia;
  setStep("browser", secure ? "ok" : "insecure");
  // Without a secure address the browser hides camera and microphone: nothing to try.
  /** @type {{ camera: CameraWord, microphone: MicWord }} */
  const media = secure ? await testMedia(audio) : { camera: "error", microphone: "error" };
  if (!secure) for (const step of /** @type {const} */ (["camera", "microphone"])) setStep(step, "error");
  const speaker = await testSpeaker(audio);
  const net = await network;
  figures.total_ms = Math.round(performance.now() - began);
  release();
  const report = reportOf({ ...media, speaker }, net);
  const sent = await send(report);
  answer = sent.stored;
  showResult(answer?.verdict ?? localVerdict(report), answer?.path ?? report.path, !!answer);
  if (!answer && sent.retry) resendLater(report);
  state = "done";
}

async function start() {
  if (window.menkaiMissing?.length) return;
  const begin = () => {
    if (state === "running") return;
    run().catch((e) => {
      release();
      window.menkaiCrash?.(e);
    });
  };
  $("check-start").onclick = begin;
  $("check-again").onclick = begin;
  addEventListener("pagehide", release);
  Object.assign(window, {
    menkai: {
      check: {
        state: () => state,
        steps: () => ({ ...words }),
        result: () => answer,
        figures: () => ({ ...figures, transports: { ...figures.transports } }),
      },
    },
  });
}

start().catch((e) => window.menkaiCrash?.(e));