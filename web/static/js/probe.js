// @ts-check
// How Menkai measures a phone, tablet or computer before a visit: camera (a picture
// that is neither black nor frozen), microphone, and the way through to this server's
// relay (signaling, STUN, TURN over UDP, TCP and TLS, round trip and throughput). The
// family's check page (check.js) and the devices' own morning self-check (device.js)
// measure the same way, so staff read one meaning into "camera ok" or "relay_tcp"
// whoever reported it. Nothing here touches a page's DOM: each page shows what it
// learns in its own way (the check page step by step, the device in its `health`).

/**
 * @typedef {import("../../types/protocol").CameraWord} CameraWord
 * @typedef {import("../../types/protocol").MicWord} MicWord
 * @typedef {import("../../types/protocol").Path} Path
 * @typedef {"denied" | "in_use" | "missing" | "error"} MediaProblem
 * @typedef {{ stream: MediaStream | null, camera?: MediaProblem, microphone?: MediaProblem }} OpenedMedia
 * @typedef {{ stun: RTCIceServer | null, udp: RTCIceServer | null, tcp: RTCIceServer | null, tls: RTCIceServer | null }} Relay
 * @typedef {{ send: RTCDataChannel, echo: RTCDataChannel, close: () => void }} Loop
 * @typedef {{ rtt_ms: number | null, up_kbps: number | null, down_kbps: number | null }} Measured
 * @typedef {{ udp: boolean, tcp: boolean, tls: boolean }} Transports
 * @typedef {{ signaling: boolean, signaling_ms: number | null, srflx: boolean, transports: Transports,
 *   path: Path, rtt_ms: number | null, up_kbps: number | null, down_kbps: number | null }} Network
 */

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

// ---- Camera and microphone ----

const AUDIO = { echoCancellation: true, noiseSuppression: true };
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 } };

/** @param {unknown} err @returns {MediaProblem} */
export function problemOf(err) {
  const name = err instanceof Error || err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return "denied";
  if (name === "NotReadableError" || name === "AbortError") return "in_use";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "missing";
  return "error";
}

/**
 * Camera and microphone for a check (callview.js's `openMedia` opens them for a call).
 * Both at once (one question from the browser); when one of the two is missing, each
 * alone, so that the other is still tested.
 * @returns {Promise<OpenedMedia>}
 */
export async function openCheckMedia() {
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

/** A picture darker than this on every sample is a covered lens or a held camera. */
const BLACK_LUMA = 12;

/** @param {Uint8ClampedArray} rgba */
export function meanLuma(rgba) {
  let sum = 0;
  for (let i = 0; i < rgba.length; i += 4) sum += 0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2];
  return sum / (rgba.length / 4);
}

/** @param {Uint8ClampedArray} a @param {Uint8ClampedArray} b */
export function sameBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * A live camera's picture always changes a little (sensor noise): three identical
 * samples mean a stuck driver or a still image, not a still room.
 * @param {Uint8ClampedArray[]} frames @returns {CameraWord}
 */
export function judgeFrames(frames) {
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

/**
 * Plays the camera in `video` (the check page's preview, or an element of the device
 * page's own that is in no document) and judges three small samples of its picture.
 * `video` keeps playing the stream afterwards: its owner lets it go.
 * @param {MediaStream} stream @param {HTMLVideoElement} video @returns {Promise<CameraWord>}
 */
export async function sampleCamera(stream, video) {
  const track = stream.getVideoTracks()[0];
  if (!track) return "missing";
  video.srcObject = stream;
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
 * The microphone's signal through `audio`: an analyser on a silent path to the
 * speakers (some engines only run nodes that lead there), and how to let it go.
 * @param {AudioContext} audio @param {MediaStream} stream
 */
function tap(audio, stream) {
  const source = audio.createMediaStreamSource(stream);
  const analyser = audio.createAnalyser();
  analyser.fftSize = 1024;
  const mute = audio.createGain();
  mute.gain.value = 0;
  source.connect(analyser).connect(mute).connect(audio.destination);
  const samples = new Float32Array(analyser.fftSize);
  return {
    /** The latest ~20 ms of signal. */
    read() {
      analyser.getFloatTimeDomainData(samples);
      return samples;
    },
    close() {
      source.disconnect();
      mute.disconnect();
    },
  };
}

/** Speech, not room hiss: RMS above this for SPEAKING_MS in all counts as heard. */
const SPEAKING_RMS = 0.02;
const SPEAKING_MS = 300;
const LISTEN_MS = 5000;
/** Speech sits far below full scale; the level is scaled up so a voice visibly moves a meter. */
const METER_GAIN = 5;

/**
 * Listens until the person has spoken for a moment, or gives up after LISTEN_MS.
 * `onLevel` is told the level for a meter (0 to 1, speech scaled up) about 20 times a
 * second, and 0 once at the end.
 * @param {AudioContext} audio @param {MediaStream} stream @param {(level: number) => void} onLevel
 * @returns {Promise<MicWord>}
 */
export function listenForSpeech(audio, stream, onLevel) {
  const track = stream.getAudioTracks()[0];
  if (!track) return Promise.resolve("missing");
  // Safari may suspend a context made before the microphone opened; the tap has
  // already unlocked it, so resuming needs no second tap.
  audio.resume().catch(() => {});
  const input = tap(audio, stream);
  const began = performance.now();
  let last = began;
  let heard = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const level = rms(input.read());
      onLevel(Math.min(1, level * METER_GAIN));
      if (level > SPEAKING_RMS) heard += now - last;
      last = now;
      /** @type {MicWord | null} */
      const word = heard >= SPEAKING_MS ? "ok" : track.readyState !== "live" ? "missing" : now - began >= LISTEN_MS ? "silent" : null;
      if (!word) return;
      clearInterval(timer);
      input.close();
      onLevel(0);
      resolve(word);
    }, 50);
  });
}

/** How long a context that is not running may take to start before it is not waited for. */
const RESUME_MS = 500;

/**
 * With nobody there to speak (a device checking itself): does the microphone deliver
 * any signal at all? A working one always hears the room, however quiet, and
 * after noise suppression that is still never exactly zero; a dead, muted or
 * disconnected one delivers exact zeros. "ok" as soon as any sample is not zero,
 * "silent" if none is within `ms`, "missing" without a live track. A context the
 * browser keeps suspended (no tap yet on this page) would only ever read zeros: then
 * the live track alone says "ok".
 * @param {AudioContext} audio @param {MediaStream} stream @param {number} ms
 * @returns {Promise<MicWord>}
 */
export async function listenForSignal(audio, stream, ms) {
  const track = stream.getAudioTracks()[0];
  if (!track || track.readyState !== "live") return "missing";
  if (audio.state !== "running") await within(audio.resume().then(() => true, () => false), RESUME_MS, false);
  if (audio.state !== "running") return track.readyState === "live" ? "ok" : "missing";
  const input = tap(audio, stream);
  const began = performance.now();
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      /** @type {MicWord | null} */
      const word = input.read().some((v) => v !== 0) ? "ok"
        : track.readyState !== "live" ? "missing"
        : performance.now() - began >= ms ? "silent" : null;
      if (!word) return;
      clearInterval(timer);
      input.close();
      resolve(word);
    }, 50);
  });
}

// ---- The way through to the relay ----

const TRANSPORTS = /** @type {const} */ (["udp", "tcp", "tls"]);
const CHUNK = 16 * 1024;
const BUFFER_CAP = 1024 * 1024;

/**
 * The signaling socket opens and the server answers a frame. The check never says
 * hello (that would join the visit), and the server answers anything before hello
 * with an error frame (docs/PROTOCOL.md): any answer proves the round trip.
 */
export function probeSignaling() {
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

/** @returns {Relay} */
function noRelay() {
  return { stun: null, udp: null, tcp: null, tls: null };
}

/**
 * The relay, one transport at a time, as the server hands it to a family's check
 * (`/v/{token}/check/relay`: credentials for a few minutes); none if it cannot be had.
 * @param {string} token the invitation's
 * @returns {Promise<Relay>}
 */
export async function fetchCheckRelay(token) {
  const none = noRelay();
  try {
    const res = await within(fetch(`/v/${token}/check/relay`), 4000, null);
    return res?.ok ? { ...none, ...(await res.json()) } : none;
  } catch {
    return none;
  }
}

/**
 * The same split of the relay out of the STUN/TURN servers the signaling `welcome`
 * gives a device (as the server makes it for a family's check, turn/mod.rs
 * `for_check`): of the servers with a username, the first `turns:` URL is TLS, the
 * first `turn:` with `transport=tcp` TCP, the first other `turn:` UDP; STUN is asked
 * on the UDP relay's own address.
 * @param {ReadonlyArray<{ urls: string | string[], username?: string, credential?: string }>} iceServers
 * @returns {Relay}
 */
export function relayOfIceServers(iceServers) {
  const relay = noRelay();
  for (const server of iceServers) {
    if (!server.username) continue;
    for (const url of typeof server.urls === "string" ? [server.urls] : server.urls) {
      /** @type {"udp" | "tcp" | "tls" | null} */
      const kind = url.startsWith("turns:") ? "tls"
        : url.startsWith("turn:") && url.includes("transport=tcp") ? "tcp"
        : url.startsWith("turn:") ? "udp" : null;
      if (kind && !relay[kind]) relay[kind] = { urls: [url], username: server.username, credential: server.credential };
    }
  }
  const udp = relay.udp ? /** @type {string[]} */ (relay.udp.urls)[0] : null;
  if (udp) relay.stun = { urls: [`stun:${udp.slice("turn:".length).split("?")[0]}`] };
  return relay;
}

/**
 * A public address seen by STUN: a direct path between homes is likely.
 * @param {RTCIceServer | null} stun
 */
export async function probeDirect(stun) {
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
export async function openLoop(server) {
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
 * @returns {Promise<{ transports: Transports, best: Loop | null }>}
 */
export async function probeRelays(relay) {
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
 * Round trip (median of five) and throughput (3 s) over the loop. An aborted
 * `signal` (a device's visit began) stops the sending at once; throughput is then
 * unknown.
 * @param {Loop} loop @param {AbortSignal} [signal]
 * @returns {Promise<Measured>}
 */
export async function measure({ send, echo }, signal) {
  let received = 0;
  echo.binaryType = "arraybuffer";
  echo.onmessage = ({ data }) => {
    if (typeof data === "string") echo.send(data);
    else received += /** @type {ArrayBuffer} */ (data).byteLength;
  };
  /** @type {number[]} */
  const rtts = [];
  for (let i = 0; i < 5 && !signal?.aborted; i++) {
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
    while (send.readyState === "open" && send.bufferedAmount < BUFFER_CAP && performance.now() < until && !signal?.aborted) {
      send.send(chunk);
      sent += CHUNK;
    }
  };
  send.bufferedAmountLowThreshold = BUFFER_CAP / 2;
  send.onbufferedamountlow = fill;
  fill();
  if (signal) {
    /** @type {Promise<void>} */
    const stopped = new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await (signal.aborted ? undefined : Promise.race([sleep(3000), stopped]));
  } else {
    await sleep(3000);
  }
  const seconds = (performance.now() - began) / 1000;
  const left = send.bufferedAmount;
  send.onbufferedamountlow = null;
  rtts.sort((x, y) => x - y);
  const rtt_ms = rtts.length ? Math.round(rtts[Math.floor(rtts.length / 2)]) : null;
  if (signal?.aborted) return { rtt_ms, up_kbps: null, down_kbps: null };
  // Every byte the other end received left this device first (the loop goes up to
  // the relay and back down), so the upload is at least the download; on a slow line
  // the browser's send buffer drains too unevenly to say more.
  const down_kbps = Math.round((received * 8) / seconds / 1000);
  return {
    rtt_ms,
    up_kbps: Math.max(down_kbps, Math.round(((sent - left) * 8) / seconds / 1000)),
    down_kbps,
  };
}

/** @param {boolean} srflx @param {Transports} t @returns {Path} */
export function pathOf(srflx, t) {
  if (srflx) return "direct";
  return t.udp ? "relay_udp" : t.tcp ? "relay_tcp" : t.tls ? "relay_tls" : "none";
}

/**
 * The whole way through: signaling, a public address from STUN, each of the relay's
 * transports, then round trip and throughput over the first that connected. `relay`
 * may still be on its way (the check page fetches it): signaling is tried meanwhile.
 * An aborted `signal` skips or cuts short the measuring (the figures are then
 * unknown or partial).
 * @param {Relay | Promise<Relay>} relay @param {AbortSignal} [signal]
 * @returns {Promise<Network>}
 */
export async function probeNetwork(relay, signal) {
  const signaling = probeSignaling();
  const servers = await relay;
  const [sig, srflx, relays] = await Promise.all([signaling, probeDirect(servers.stun), probeRelays(servers)]);
  /** @type {Measured} */
  let measured = { rtt_ms: null, up_kbps: null, down_kbps: null };
  if (relays.best) {
    try {
      if (!signal?.aborted) measured = await measure(relays.best, signal);
    } catch {
      /* connected, but not measured: the figures stay unknown */
    } finally {
      relays.best.close();
    }
  }
  const path = pathOf(srflx, relays.transports);
  return { signaling: sig.ok, signaling_ms: sig.ms, srflx, transports: relays.transports, path, ...measured };
}
