// @ts-check
// The pre-visit check (templates/check.html): any day before the visit, the family
// tries camera, microphone, sound and connection, sees in plain words what works and
// what to do about what does not, and the server keeps the result for staff. The page
// measures and reports; the server alone decides the verdict, so staff and family read
// the same one. Nothing runs before the tap on "Start": that tap is also the gesture
// browsers want before an AudioContext may make sound.

import { $ } from "./callview.js";

/**
 * @typedef {"browser" | "camera" | "microphone" | "speaker" | "network"} Step
 * @typedef {"ok" | "denied" | "in_use" | "missing" | "black" | "frozen" | "error"} CameraWord
 * @typedef {"ok" | "denied" | "in_use" | "missing" | "silent" | "error"} MicWord
 * @typedef {"denied" | "in_use" | "missing" | "error"} MediaProblem
 * @typedef {"direct" | "relay_udp" | "relay_tcp" | "relay_tls" | "none"} Path
 * @typedef {"ready" | "ready_relayed" | "audio_only" | "cannot_connect" | "problem"} Verdict
 * @typedef {{ stun: RTCIceServer | null, udp: RTCIceServer | null, tcp: RTCIceServer | null, tls: RTCIceServer | null }} Relay
 * @typedef {{ send: RTCDataChannel, echo: RTCDataChannel, close: () => void }} Loop
 * @typedef {{ rtt_ms: number | null, up_kbps: number | null, down_kbps: number | null }} Measured
 * @typedef {{ signaling: boolean, signaling_ms: number | null, srflx: boolean, transports: { udp: boolean, tcp: boolean, tls: boolean },
 *   path: Path, rtt_ms: number | null, up_kbps: number | null, down_kbps: number | null, network_ms: number | null, total_ms: number | null }} Figures
 * @typedef {{ camera: CameraWord, microphone: MicWord, speaker: "ok" | "not_heard", path: Path, up_kbps?: number, down_kbps?: number, rtt_ms?: number }} Report
 * @typedef {Report & { checked_at: string, verdict: Verdict, browser?: string }} Stored
 */

const STEPS = /** @type {const} */ (["browser", "camera", "microphone", "speaker", "network"]);
const TRANSPORTS = /** @type {const} */ (["udp", "tcp", "tls"]);
const AUDIO = { echoCancellation: true, noiseSuppression: true };
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 } };
/** A picture darker than this on every sample is a covered lens or a held camera. */
const BLACK_LUMA = 12;
/** Speech, not room hiss: RMS above this for SPEAKING_MS in all counts as heard. */
const SPEAKING_RMS = 0.02;
const SPEAKING_MS = 300;
const LISTEN_MS = 5000;
/** Speech sits far below full scale; the meter is scaled up so a voice visibly moves it. */
const METER_GAIN = 5;
const CHUNK = 16 * 1024;
const BUFFER_CAP = 1024 * 1024;

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

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `promise`, or `fallback` once `ms` have passed.
 * @template T @param {Promise<T>} promise @param {number} ms @param {T} fallback @returns {Promise<T>}
 */
function within(promise, ms, fallback) {
  /** @type {Promise<T>} */
  const late = new Promise((resolve) => setTimeout(() => resolve(fallback), ms));
  return Promise.race([promise, late]);
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

/** @param {unknown} err @returns {MediaProblem} */
function problemOf(err) {
  const name = err instanceof Error || err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return "denied";
  if (name === "NotReadableError" || name === "AbortError") return "in_use";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "missing";
  return "error";
}

/**
 * Both at once (one question from the browser); when one of the two is missing, each
 * alone, so that the other is still tested.
 * @returns {Promise<{ stream: MediaStream | null, camera?: MediaProblem, microphone?: MediaProblem }>}
 */
async function openMedia() {
  const ask = (/** @type {MediaStreamConstraints} */ c) => navigator.mediaDevices.getUserMedia(c);
  try {
    return { stream: await ask({ audio: AUDIO, video: VIDEO }) };
  } catch (err) {
    const word = problemOf(err);
    if (word !== "missing") return { stream: null, camera: word, microphone: word };
  }
  try {
    return { stream: await ask({ audio: AUDIO }), camera: "missing" };
  } catch (err) {
    const microphone = problemOf(err);
    try {
      return { stream: await ask({ video: VIDEO }), microphone };
    } catch (err2) {
      return { stream: null, camera: problemOf(err2), microphone };
    }
  }
}

/** @param {Uint8ClampedArray} rgba */
function meanLuma(rgba) {
  let sum = 0;
  for (let i = 0; i < rgba.length; i += 4) sum += 0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2];
  return sum / (rgba.length / 4);
}

/** @param {Uint8ClampedArray} a @param {Uint8ClampedArray} b */
function sameBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * A live camera's picture always changes a little (sensor noise): three identical
 * samples mean a stuck driver or a still image, not a still room.
 * @param {Uint8ClampedArray[]} frames @returns {CameraWord}
 */
function judgeFrames(frames) {
  if (frames.every((f) => meanLuma(f) < BLACK_LUMA)) return "black";
  if (frames.every((f) => sameBytes(f, frames[0]))) return "frozen";
  return "ok";
}

/** @param {HTMLVideoElement} video @param {number} ms */
function firstFrame(video, ms) {
  if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) return Promise.resolve(true);
  const ready = new Promise((resolve) => video.addEventListener("loadeddata", () => resolve(true), { once: true }));
  return within(ready, ms, false);
}

/** @param {MediaStream} stream @returns {Promise<CameraWord>} */
async function watchCamera(stream) {
  const track = stream.getVideoTracks()[0];
  if (!track) return "missing";
  const video = /** @type {HTMLVideoElement} */ ($("check-preview"));
  video.srcObject = stream;
  video.hidden = false;
  video.play().catch(() => {});
  await firstFrame(video, 3000);
  // Cameras often send dark frames while their exposure settles.
  await sleep(500);
  const canvas = document.createElement("canvas");
  canvas.width = 64;
  canvas.height = 48;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d", { willReadFrequently: true }));
  /** @type {Uint8ClampedArray[]} */
  const frames = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(500);
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    frames.push(ctx.getImageData(0, 0, canvas.width, canvas.height).data);
  }
  return track.readyState === "live" ? judgeFrames(frames) : "missing";
}

/** @param {Float32Array} samples */
function rms(samples) {
  let sum = 0;
  for (const v of samples) sum += v * v;
  return Math.sqrt(sum / samples.length);
}

/**
 * Listens until the person has spoken for a moment, or gives up after LISTEN_MS.
 * @param {AudioContext} audio @param {MediaStream} stream @returns {Promise<MicWord>}
 */
function listen(audio, stream) {
  const track = stream.getAudioTracks()[0];
  if (!track) return Promise.resolve("missing");
  $("mic-test").hidden = false;
  // Safari may suspend a context made before the microphone opened; the tap has
  // already unlocked it, so resuming needs no second tap.
  audio.resume().catch(() => {});
  const meter = /** @type {HTMLMeterElement} */ ($("mic-level"));
  const source = audio.createMediaStreamSource(stream);
  const analyser = audio.createAnalyser();
  analyser.fftSize = 1024;
  // Silent, but connected: some engines only run nodes that lead to the speakers.
  const mute = audio.createGain();
  mute.gain.value = 0;
  source.connect(analyser).connect(mute).connect(audio.destination);
  const samples = new Float32Array(analyser.fftSize);
  const began = performance.now();
  let last = began;
  let heard = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      analyser.getFloatTimeDomainData(samples);
      const level = rms(samples);
      meter.value = Math.min(1, level * METER_GAIN);
      if (level > SPEAKING_RMS) heard += now - last;
      last = now;
      /** @type {MicWord | null} */
      const word = heard >= SPEAKING_MS ? "ok" : track.readyState !== "live" ? "missing" : now - began >= LISTEN_MS ? "silent" : null;
      if (!word) return;
      clearInterval(timer);
      source.disconnect();
      mute.disconnect();
      meter.value = 0;
      $("mic-test").hidden = true;
      resolve(word);
    }, 50);
  });
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
  const media = await openMedia();
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

/**
 * The signaling socket opens and the server answers a frame. The check never says
 * hello (that would join the visit), and the server answers anything before hello
 * with an error frame (docs/PROTOCOL.md): any answer proves the round trip.
 */
function probeSignaling() {
  const began = performance.now();
  return new Promise((/** @type {(r: { ok: boolean, ms: number | null }) => void} */ resolve) => {
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    } catch {
      resolve({ ok: false, ms: null });
      return;
    }
    const finish = (/** @type {boolean} */ ok) => {
      clearTimeout(timer);
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      ws.close();
      resolve({ ok, ms: ok ? Math.round(performance.now() - began) : null });
    };
    const timer = setTimeout(() => finish(false), 5000);
    ws.onopen = () => ws.send(JSON.stringify({ type: "ping" }));
    ws.onmessage = (event) => {
      try {
        const type = JSON.parse(event.data).type;
        if (type === "pong" || type === "error") finish(true);
      } catch {
        /* not a frame of ours: keep waiting */
      }
    };
    ws.onerror = ws.onclose = () => finish(false);
  });
}

/** @returns {Promise<Relay>} */
async function relayServers() {
  const none = { stun: null, udp: null, tcp: null, tls: null };
  try {
    const res = await within(fetch(`/v/${token}/check/relay`), 4000, null);
    return res?.ok ? { ...none, ...(await res.json()) } : none;
  } catch {
    return none;
  }
}

/**
 * A public address seen by STUN: a direct path between homes is likely.
 * @param {RTCIceServer | null} stun
 */
async function probeDirect(stun) {
  if (!stun) return false;
  /** @type {RTCPeerConnection[]} */
  const made = [];
  let srflx = false;
  try {
    const pc = new RTCPeerConnection({ iceServers: [stun], iceTransportPolicy: "all" });
    made.push(pc);
    const gathered = new Promise((resolve) => {
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate) resolve(true);
        else if (candidate.type === "srflx" || / typ srflx /.test(candidate.candidate)) srflx = true;
      };
    });
    pc.createDataChannel("check");
    await pc.setLocalDescription(await pc.createOffer());
    await within(gathered, 3000, false);
  } catch {
    /* as far as it got */
  }
  for (const pc of made) pc.close();
  return srflx;
}

/**
 * Candidates to the other side as they come; those that come before it has the
 * description wait for `flush`.
 * @param {RTCPeerConnection} from @param {RTCPeerConnection} to
 */
function pipe(from, to) {
  /** @type {RTCIceCandidate[]} */
  const early = [];
  from.onicecandidate = ({ candidate }) => {
    if (!candidate) return;
    if (to.remoteDescription) to.addIceCandidate(candidate).catch(() => {});
    else early.push(candidate);
  };
  return () => {
    for (const c of early.splice(0)) to.addIceCandidate(c).catch(() => {});
  };
}

/**
 * Two connections in this page that may only meet through the relay: if a data
 * channel opens between them, this transport gets through this network.
 * @param {RTCIceServer} server @returns {Promise<Loop | null>}
 */
async function openLoop(server) {
  /** @type {RTCPeerConnection[]} */
  const both = [];
  const close = () => both.forEach((pc) => pc.close());
  try {
    /** @type {RTCConfiguration} */
    const config = { iceServers: [server], iceTransportPolicy: "relay" };
    const a = new RTCPeerConnection(config);
    const b = new RTCPeerConnection(config);
    both.push(a, b);
    const flushToB = pipe(a, b);
    const flushToA = pipe(b, a);
    const send = a.createDataChannel("check");
    const opened = new Promise((resolve) => (send.onopen = () => resolve(true)));
    /** @type {Promise<RTCDataChannel>} */
    const echo = new Promise((resolve) => (b.ondatachannel = ({ channel }) => resolve(channel)));
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(/** @type {RTCSessionDescription} */ (a.localDescription));
    flushToB();
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(/** @type {RTCSessionDescription} */ (b.localDescription));
    flushToA();
    const open = await within(Promise.all([echo, opened]), 4000, null);
    if (open) return { send, echo: open[0], close };
  } catch {
    /* this transport did not get through */
  }
  close();
  return null;
}

/**
 * Each transport in turn; the first that connects stays open to be measured.
 * @param {Relay} relay
 */
async function probeRelays(relay) {
  const transports = { udp: false, tcp: false, tls: false };
  /** @type {Loop | null} */
  let best = null;
  for (const kind of TRANSPORTS) {
    const server = relay[kind];
    const loop = server ? await openLoop(server) : null;
    transports[kind] = !!loop;
    if (loop && !best) best = loop;
    else loop?.close();
  }
  return { transports, best };
}

/**
 * Round trip (median of five) and throughput (3 s) over the loop.
 * @param {Loop} loop
 * @returns {Promise<Measured>}
 */
async function measure({ send, echo }) {
  let received = 0;
  echo.binaryType = "arraybuffer";
  echo.onmessage = ({ data }) => {
    if (typeof data === "string") echo.send(data);
    else received += /** @type {ArrayBuffer} */ (data).byteLength;
  };
  /** @type {number[]} */
  const rtts = [];
  for (let i = 0; i < 5; i++) {
    const began = performance.now();
    const back = new Promise((resolve) => (send.onmessage = () => resolve(true)));
    send.send(String(i));
    if (!(await within(back, 1000, false))) break;
    rtts.push(performance.now() - began);
  }
  const chunk = new ArrayBuffer(CHUNK);
  const began = performance.now();
  const until = began + 3000;
  let sent = 0;
  const fill = () => {
    while (send.readyState === "open" && send.bufferedAmount < BUFFER_CAP && performance.now() < until) {
      send.send(chunk);
      sent += CHUNK;
    }
  };
  send.bufferedAmountLowThreshold = BUFFER_CAP / 2;
  send.onbufferedamountlow = fill;
  fill();
  await sleep(3000);
  const seconds = (performance.now() - began) / 1000;
  const left = send.bufferedAmount;
  send.onbufferedamountlow = null;
  rtts.sort((x, y) => x - y);
  return {
    rtt_ms: rtts.length ? Math.round(rtts[Math.floor(rtts.length / 2)]) : null,
    up_kbps: Math.round(((sent - left) * 8) / seconds / 1000),
    down_kbps: Math.round((received * 8) / seconds / 1000),
  };
}

/** @param {boolean} srflx @param {Record<"udp" | "tcp" | "tls", boolean>} t @returns {Path} */
function pathOf(srflx, t) {
  if (srflx) return "direct";
  return t.udp ? "relay_udp" : t.tcp ? "relay_tcp" : t.tls ? "relay_tls" : "none";
}

/** @param {number} kbps */
function speed(kbps) {
  if (kbps < 1000) return s("speed-kbps", { n: kbps });
  return s("speed-mbps", { n: kbps < 10000 ? (kbps / 1000).toFixed(1) : Math.round(kbps / 1000) });
}

/** @param {number} began performance.now() at the tap */
async function testNetwork(began) {
  setStep("network", "running");
  const signaling = probeSignaling();
  const relay = await relayServers();
  const [sig, srflx, relays] = await Promise.all([signaling, probeDirect(relay.stun), probeRelays(relay)]);
  /** @type {Measured} */
  let measured = { rtt_ms: null, up_kbps: null, down_kbps: null };
  if (relays.best) {
    try {
      measured = await measure(relays.best);
    } catch {
      /* connected, but not measured: the figures stay unknown */
    } finally {
      relays.best.close();
    }
  }
  const path = pathOf(srflx, relays.transports);
  Object.assign(figures, { signaling: sig.ok, signaling_ms: sig.ms, srflx, transports: relays.transports, path, ...measured });
  figures.network_ms = Math.round(performance.now() - began);
  const word = path === "none" ? "none" : sig.ok ? "ok" : "signaling";
  setStep("network", word, word === "ok" ? s(`path-${path}`) : undefined);
  const shown = $("network-figures");
  const { rtt_ms, up_kbps, down_kbps } = measured;
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

/** @param {Report} report @returns {Promise<Stored | null>} */
async function send(report) {
  try {
    const res = await fetch(`/v/${token}/check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(report),
    });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
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

/** @param {Verdict} verdict @param {Path} path @param {boolean} sent */
function showResult(verdict, path, sent) {
  const result = $("check-result");
  result.dataset.verdict = verdict;
  $("check-verdict-title").textContent = s(`result-${verdict}-title`);
  $("check-verdict-body").textContent = s(`result-${verdict}-body`);
  const via = $("check-verdict-path");
  // The body already says "through the relay"; only TCP and TLS add something to it.
  via.hidden = verdict !== "ready_relayed" || (path !== "relay_tcp" && path !== "relay_tls");
  via.textContent = via.hidden ? "" : s(`path-${path}`);
  const problems = $("check-problems");
  // "Cannot connect" already says what the connection step would.
  const listed = STEPS.filter((step) => $(`step-${step}`).dataset.state === "problem" && !(step === "network" && verdict === "cannot_connect"));
  problems.replaceChildren(...listed.map(problemItem));
  problems.hidden = problems.childElementCount === 0;
  $("check-not-sent").textContent = sent ? "" : s("result-not-sent");
  $("check-not-sent").hidden = sent;
  result.hidden = false;
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
  answer = await send(report);
  showResult(answer?.verdict ?? localVerdict(report), answer?.path ?? report.path, !!answer);
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
