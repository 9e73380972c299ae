// @ts-check
// The call screen, shared by the family's page and the ward/entrance device page:
// the resident's side large, other family homes smaller, your own picture small,
// three big labelled buttons, a connection-quality sign, and gentle notices before
// the end. All text comes from the page (data-* attributes), already translated.

import { Mesh } from "./mesh.js";

/** @typedef {import("../../types/protocol").PeerInfo} PeerInfo */

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Translated strings rendered into #strings by the server.
 * @param {string} key the data attribute's name as `dataset` spells it
 */
export function t(key) {
  return $("strings")?.dataset[key] ?? key;
}

/**
 * Sound waiting for the one tap browsers may ask for (iOS Safari, Firefox by default,
 * Chromium with some policies): the elements muted only so that their picture could
 * play meanwhile, and what else the tap must wake (the amplifier's AudioContext).
 */
const sound = {
  /** @type {Set<HTMLMediaElement>} */
  mutedUntilTap: new Set(),
  /** @type {Array<() => void>} */
  onTap: [],
};

/** Whether `el` is muted only until the tap (for the volume code, which must keep it so). */
export function mutedUntilTap(/** @type {HTMLMediaElement} */ el) {
  return sound.mutedUntilTap.has(el);
}

/** Runs `fn` on the tap that lets sound play. */
export function whenSoundAllowed(/** @type {() => void} */ fn) {
  sound.onTap.push(fn);
}

/**
 * Plays a media element. If the browser wants a tap before it plays sound, the
 * picture plays anyway, muted, and the one "tap to hear" control appears (the
 * device page's overlay where there is one, else the call's button).
 * @param {HTMLMediaElement} el
 */
export async function play(el) {
  try {
    await el.play();
    return;
  } catch (err) {
    // Only a browser that wants a tap first says NotAllowedError; an interrupted
    // play() (the stream changed) is harmless.
    if (/** @type {Error} */ (err).name !== "NotAllowedError") return;
  }
  if (!el.muted) {
    el.muted = true;
    sound.mutedUntilTap.add(el);
  }
  el.play().catch(() => {});
  askForTap();
}

/** Shows the one control that asks for the tap. */
function askForTap() {
  const overlay = $("sound-unlock");
  if (overlay) {
    overlay.hidden = false;
    return;
  }
  const button = $("tap-for-sound");
  if (!button) return;
  button.hidden = false;
  button.onclick = allowSound;
}

/** The tap: sound on where it was held back, every picture playing, the control gone. */
export function allowSound() {
  for (const el of sound.mutedUntilTap) el.muted = false;
  sound.mutedUntilTap.clear();
  for (const fn of sound.onTap) fn();
  for (const media of document.querySelectorAll("video")) media.play().catch(() => {});
  for (const id of ["tap-for-sound", "sound-unlock"]) {
    const control = $(id);
    if (control) control.hidden = true;
  }
}

/** Staff may set up to 300%; above 100% the sound goes through a gain and a limiter. */
const MAX_VOLUME = 3;

/** @typedef {{ stream: MediaStream, source: MediaStreamAudioSourceNode, gain: GainNode }} Amp */

/** The quality sign judges a connection only after it has been up this long. */
const QUALITY_SETTLE_MS = 5000;
/** …or after it has tried this long without ever connecting. */
const QUALITY_NEVER_MS = 20000;

export class CallView {
  /** @param {Mesh} mesh */
  constructor(mesh) {
    this.mesh = mesh;
    this.remotes = $("remotes");
    /** @type {Map<string, HTMLElement>} */
    this.tiles = new Map();
    this.volume = 1;
    /**
     * Per peer, while amplifying.
     * @type {Map<string, Amp>}
     */
    this.amps = new Map();
    whenSoundAllowed(() => this.resumeSound());
    /**
     * The shared output of amplified sound.
     * @type {{ ctx: AudioContext, input: AudioNode, analyser: AnalyserNode } | null}
     */
    this.out = null;
    /** @type {number | null} */
    this.endsAt = null;
    /** @type {Set<number>} */
    this.noticed = new Set();
    this.serverOffset = 0;
    /** The resident's name, shown on the ward tablet's picture. */
    this.residentName = "";
    /**
     * Per peer: when its connection was first seen, and first seen connected (ms). The
     * quality sign judges a peer only once these are old enough (`judged`).
     * @type {Map<string, { seen: number, connected: number | null }>}
     */
    this.since = new Map();
    setInterval(() => this.refreshQuality(), 3000);
    setInterval(() => this.checkEnding(), 5000);
    setInterval(() => this.showRemaining(), 15000);
  }

  /** @param {MediaStream | null} stream */
  showSelf(stream) {
    this.showControls(stream);
    const self = /** @type {HTMLVideoElement} */ ($("self"));
    if (!self) return;
    self.srcObject = stream;
    self.hidden = !stream || stream.getVideoTracks().length === 0;
  }

  /**
   * The camera and microphone buttons say what is so: "No camera" (and cannot be
   * pressed) when there is none, never "Camera on".
   * @param {MediaStream | null} stream
   */
  showControls(stream) {
    for (const [id, kind, on, off, none] of /** @type {const} */ ([
      ["mic", "audio", "micOn", "micOff", "micNone"],
      ["cam", "video", "camOn", "camOff", "camNone"],
    ])) {
      const button = /** @type {HTMLButtonElement | null} */ ($(id));
      const label = button?.querySelector(".label");
      if (!button || !label) continue;
      const tracks = (kind === "audio" ? stream?.getAudioTracks() : stream?.getVideoTracks()) ?? [];
      button.disabled = tracks.length === 0;
      button.setAttribute("aria-pressed", String(tracks.length > 0 && !tracks[0].enabled));
      label.textContent = t(tracks.length === 0 ? none : tracks[0].enabled ? on : off);
    }
  }

  /** @param {PeerInfo} info @param {MediaStream} stream */
  addStream(info, stream) {
    let tile = this.tiles.get(info.peer_id);
    if (!tile) {
      tile = document.createElement("figure");
      tile.className = `tile role-${info.role}`;
      const video = document.createElement("video");
      video.autoplay = true;
      // Attributes, not properties: Firefox has neither property, and the attributes
      // are what every engine reads. iOS Safari plays a video without `playsinline`
      // only full screen, over the call; `disablepictureinpicture` keeps Firefox's and
      // Chrome's picture-in-picture button off the resident's face.
      video.setAttribute("playsinline", "");
      video.setAttribute("disablepictureinpicture", "");
      const caption = document.createElement("figcaption");
      // People, not devices: the tablet is the resident, the kiosk is the family at
      // the entrance; a device's own name ("2F east tablet") means nothing in a call.
      caption.textContent =
        info.role === "ward" && this.residentName ? this.residentName : info.role === "entrance" ? t("entranceFamily") : info.name;
      const paused = document.createElement("p");
      paused.className = "video-paused";
      paused.textContent = t("videoPaused");
      paused.hidden = true;
      const away = document.createElement("p");
      away.className = "peer-reconnecting";
      away.setAttribute("role", "status");
      away.textContent = t("peerReconnecting");
      away.hidden = true;
      tile.append(video, caption, paused, away);
      // The resident's side first and large.
      if (info.role === "guest") this.remotes.append(tile);
      else this.remotes.prepend(tile);
      this.tiles.set(info.peer_id, tile);
    }
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector("video"));
    if (video.srcObject !== stream) video.srcObject = stream;
    this.applyVolume(info.peer_id, tile);
    play(video);
    this.layout();
  }

  /**
   * Someone's connection dropped (their network, a tablet switched off): their tile
   * says "reconnecting…" over the last picture instead of freezing or vanishing
   * silently, until they are back or leave.
   * @param {string} peerId @param {RTCPeerConnectionState} state
   */
  setPeerState(peerId, state) {
    // The moment it connects, not at the next stats poll: the quality sign counts from it.
    this.track(peerId, state);
    const tile = this.tiles.get(peerId);
    if (!tile) return;
    const away = state === "disconnected" || state === "failed";
    tile.classList.toggle("reconnecting", away);
    const note = /** @type {HTMLElement | null} */ (tile.querySelector(".peer-reconnecting"));
    if (note) note.hidden = !away;
    // One message at a time: "picture paused" says the sound goes on, which it does not.
    const paused = /** @type {HTMLElement | null} */ (tile.querySelector(".video-paused"));
    if (paused && away) paused.hidden = true;
  }

  /** @param {string} peerId */
  removePeer(peerId) {
    this.unamplify(peerId);
    this.since.delete(peerId);
    this.tiles.get(peerId)?.remove();
    this.tiles.delete(peerId);
    this.layout();
  }

  layout() {
    this.remotes.dataset.count = String(this.tiles.size);
    $("alone").hidden = this.tiles.size > 0;
  }

  /** @param {number} volume 1 is the device's full volume; up to 3 amplifies */
  setVolume(volume) {
    this.volume = Math.max(0, Math.min(MAX_VOLUME, Number(volume) || 1));
    for (const [peerId, tile] of this.tiles) this.applyVolume(peerId, tile);
  }

  /**
   * Up to 100% the video element's own volume; above it the stream's sound goes
   * through a gain. The element keeps playing the stream, muted (browsers feed remote
   * WebRTC sound to Web Audio only while an element plays it).
   * @param {string} peerId @param {HTMLElement} tile
   */
  applyVolume(peerId, tile) {
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector("video"));
    const stream = video.srcObject instanceof MediaStream ? video.srcObject : null;
    const boost = this.volume > 1 && !!stream && stream.getAudioTracks().length > 0;
    const current = this.amps.get(peerId);
    if (current && (!boost || current.stream !== stream)) this.unamplify(peerId);
    if (boost && stream && !this.amps.has(peerId)) {
      const out = this.output();
      const source = out.ctx.createMediaStreamSource(stream);
      const gain = out.ctx.createGain();
      source.connect(gain).connect(out.input);
      this.amps.set(peerId, { stream, source, gain });
    }
    const amp = this.amps.get(peerId);
    if (amp) amp.gain.gain.value = this.volume;
    // Amplified sound plays through Web Audio; held-back sound waits for the tap.
    video.muted = !!amp || mutedUntilTap(video);
    video.volume = Math.min(1, this.volume);
  }

  /** @param {string} peerId */
  unamplify(peerId) {
    const amp = this.amps.get(peerId);
    if (!amp) return;
    amp.source.disconnect();
    amp.gain.disconnect();
    this.amps.delete(peerId);
  }

  /** Amplified sound meets a limiter (loud voices must not distort), then the speakers. */
  output() {
    if (!this.out) {
      const ctx = new AudioContext();
      const limiter = ctx.createDynamicsCompressor();
      limiter.threshold.value = -6;
      limiter.knee.value = 3;
      limiter.ratio.value = 20;
      const analyser = ctx.createAnalyser();
      limiter.connect(analyser).connect(ctx.destination);
      this.out = { ctx, input: limiter, analyser };
    }
    this.resumeSound();
    return this.out;
  }

  /** After the one tap browsers ask for before they play sound. */
  resumeSound() {
    if (this.out?.ctx.state === "suspended") this.out.ctx.resume().catch(() => {});
  }

  /** Peak level (0..1) of the amplified sound right now; 0 when not amplifying. For support and tests. */
  amplifiedLevel() {
    if (!this.out || this.amps.size === 0) return 0;
    const samples = new Float32Array(this.out.analyser.fftSize);
    this.out.analyser.getFloatTimeDomainData(samples);
    return samples.reduce((peak, v) => Math.max(peak, Math.abs(v)), 0);
  }

  /**
   * Binds the microphone, camera and leave buttons.
   * @param {() => MediaStream | null} local
   * @param {() => void} onLeave
   */
  bindControls(local, onLeave) {
    const toggle = (/** @type {string} */ id, /** @type {"audio" | "video"} */ kind, /** @type {string} */ onKey, /** @type {string} */ offKey) => {
      const button = /** @type {HTMLButtonElement} */ ($(id));
      if (!button) return;
      button.onclick = () => {
        const tracks = kind === "audio" ? local()?.getAudioTracks() : local()?.getVideoTracks();
        if (!tracks?.length) return;
        const enabled = !tracks[0].enabled;
        for (const track of tracks) track.enabled = enabled;
        if (kind === "video") this.mesh.sendVideo(enabled);
        button.setAttribute("aria-pressed", String(!enabled));
        const label = button.querySelector(".label");
        if (label) label.textContent = t(enabled ? onKey : offKey);
      };
    };
    toggle("mic", "audio", "micOn", "micOff");
    toggle("cam", "video", "camOn", "camOff");
    const leave = $("leave");
    if (leave) leave.onclick = onLeave;
  }

  /** @param {string} endsAt RFC 3339 @param {string | undefined} serverNow RFC 3339 */
  setTimes(endsAt, serverNow) {
    this.endsAt = Date.parse(endsAt);
    if (serverNow) this.serverOffset = Date.parse(serverNow) - Date.now();
    this.noticed.clear();
    this.checkEnding();
    this.showRemaining();
  }

  /** Whole minutes until the visit ends on the server's clock (rounded up), or null. */
  minutesLeft() {
    if (this.endsAt === null || Number.isNaN(this.endsAt)) return null;
    return Math.max(0, Math.ceil((this.endsAt - (Date.now() + this.serverOffset)) / 60000));
  }

  /**
   * The call bar's steady "12 min left": the toasts come only at 5 and 1 minutes and
   * go again, and people want to glance at the time left whenever they like. Rounded
   * up, so it reads "5" when the 5-minute notice comes. It lives inside #call, so it
   * is seen only during the call.
   */
  showRemaining() {
    const line = $("remaining");
    if (!line) return;
    const minutes = this.minutesLeft();
    line.hidden = minutes === null;
    if (minutes !== null) line.textContent = t("remaining").replace("{minutes}", String(minutes));
  }

  checkEnding() {
    if (this.endsAt === null) return;
    const left = (this.endsAt - (Date.now() + this.serverOffset)) / 60000;
    for (const minutes of [5, 1]) {
      if (left <= minutes && left > minutes - 1 && !this.noticed.has(minutes)) {
        this.noticed.add(minutes);
        const notice = $("notice");
        notice.textContent = t(minutes === 5 ? "notice5" : "notice1");
        notice.hidden = false;
        setTimeout(() => { notice.hidden = true; }, 20000);
      }
    }
  }

  /**
   * A peer connected for a while that sends no picture (no camera, blocked, or its
   * camera stopped or went quiet mid-call) gets a clear placeholder instead of a black
   * or frozen tile. For the resident's tablet it also says staff know (the tablet
   * reports it, and Today shows it); a family member is shown by their name, large in
   * the middle of the tile, with a plain "No camera" under it, so the resident sees
   * who is talking.
   * @param {HTMLElement} tile @param {{ state: string, framesDecoded: number, audioBytes: number, role: string, name: string }} s
   */
  markSilence(tile, s) {
    const connected = s.state === "connected";
    if (connected && !tile.dataset.connectedAt) tile.dataset.connectedAt = String(Date.now());
    const settled = connected && Date.now() - Number(tile.dataset.connectedAt ?? Date.now()) >= 4000;
    const device = s.role === "ward" || s.role === "entrance";
    // A family member's picture can also stop mid-call (a phone's camera taken by
    // another app, a webcam unplugged): its remote track is then muted (no picture
    // arrives) or ended. Not for a device: its note says staff were told, which holds
    // for a tablet that never sent a picture (it reports that), not for a stalled track.
    const video = /** @type {HTMLVideoElement | null} */ (tile.querySelector("video"));
    const stream = video?.srcObject instanceof MediaStream ? video.srcObject : null;
    const arriving = stream?.getVideoTracks().some((v) => v.readyState === "live" && !v.muted) ?? false;
    const noPicture = settled && (s.framesDecoded === 0 || (!device && !arriving));
    tile.classList.toggle("no-video", noPicture);
    let note = /** @type {HTMLElement | null} */ (tile.querySelector(".no-picture"));
    if (!noPicture) {
      if (note) note.hidden = true;
      return;
    }
    if (!note) {
      note = document.createElement("p");
      note.className = "no-picture";
      note.setAttribute("role", "status");
      tile.append(note);
    }
    const key = s.audioBytes > 0 ? (device ? "noPictureDevice" : "noPictureGuest") : device ? "noMediaDevice" : "noMediaGuest";
    // Rewritten only when it changes: a status region announces every rewrite.
    const shown = `${key}\n${s.name}`;
    if (note.dataset.shown !== shown) {
      note.dataset.shown = shown;
      note.classList.toggle("by-name", !device);
      if (device) {
        note.textContent = t(key);
      } else {
        const name = document.createElement("span");
        name.className = "no-picture-name";
        name.textContent = s.name;
        const what = document.createElement("span");
        what.className = "no-picture-what";
        what.textContent = t(key);
        note.replaceChildren(name, what);
      }
    }
    note.hidden = false;
    const paused = /** @type {HTMLElement | null} */ (tile.querySelector(".video-paused"));
    if (paused) paused.hidden = true;
  }

  /**
   * Whether a peer's connection has had time to show how it really is. Every call
   * starts "new"/"connecting" for a moment and its first round trips and losses are
   * noisy: judged then, every call began with a red "poor". A peer is judged once it
   * has been connected for QUALITY_SETTLE_MS, or once it has failed to connect for
   * QUALITY_NEVER_MS (that is worth saying).
   * @param {string} peerId @param {string} state
   */
  judged(peerId, state) {
    const since = this.track(peerId, state);
    const now = Date.now();
    return since.connected !== null ? now - since.connected >= QUALITY_SETTLE_MS : now - since.seen >= QUALITY_NEVER_MS;
  }

  /**
   * Notes when a peer was first seen, and first seen connected.
   * @param {string} peerId @param {string} state
   */
  track(peerId, state) {
    const now = Date.now();
    let since = this.since.get(peerId);
    if (!since) {
      since = { seen: now, connected: null };
      this.since.set(peerId, since);
    }
    if (state === "connected" && since.connected === null) since.connected = now;
    return since;
  }

  /** Good, fair or poor, from round trip and loss; and "picture paused" where video stalls. */
  async refreshQuality() {
    const stats = await this.mesh.stats();
    /** @type {number | null} nothing to say until some peer is judged */
    let worst = null;
    for (const s of stats) {
      const lossRate = s.received > 0 ? s.lost / (s.received + s.lost) : 0;
      const level = s.state !== "connected" ? 2 : (s.rtt ?? 0) > 0.4 || lossRate > 0.08 ? 2 : (s.rtt ?? 0) > 0.2 || lossRate > 0.03 ? 1 : 0;
      if (this.judged(s.peerId, s.state)) worst = Math.max(worst ?? 0, level);
      // A peer that sends nothing at all never fires `track`: give it a tile anyway,
      // so it can say why it is silent instead of not being there.
      if (!this.tiles.has(s.peerId) && s.state === "connected") {
        this.addStream({ peer_id: s.peerId, role: s.role, name: s.name }, new MediaStream());
      }
      const tile = this.tiles.get(s.peerId);
      const previous = Number(tile?.dataset.frames ?? 0);
      if (tile) this.markSilence(tile, s);
      if (tile) {
        const paused = /** @type {HTMLElement} */ (tile.querySelector(".video-paused"));
        // Sound keeps going when pictures cannot get through: say so instead of freezing
        // silently. Only once no frame came for two checks in a row: at the start of a
        // call the first picture routinely comes a moment after the first sound.
        const stalled = s.state === "connected" && s.framesDecoded === previous && s.audioBytes > 0;
        const checks = stalled ? Number(tile.dataset.stalled ?? 0) + 1 : 0;
        tile.dataset.stalled = String(checks);
        paused.hidden = tile.classList.contains("reconnecting") || tile.classList.contains("no-video") || checks < 2;
        tile.dataset.frames = String(s.framesDecoded);
      }
    }
    const quality = $("quality");
    if (!quality) return;
    if (worst === null) {
      // Still connecting, or just connected: say nothing rather than a false "poor".
      quality.textContent = "";
      delete quality.dataset.level;
      return;
    }
    const name = ["good", "fair", "poor"][worst];
    quality.dataset.level = name;
    // "Relayed" in plain words, for staff troubleshooting a call on the phone.
    const relayed = stats.some((s) => s.relayed);
    quality.dataset.relayed = String(relayed);
    quality.textContent = t(`quality${name[0].toUpperCase()}${name.slice(1)}`) + (relayed ? ` · ${t("relayed")}` : "");
  }
}

/** Camera and microphone, or the reason there are none. */
export async function openMedia() {
  if (!navigator.mediaDevices?.getUserMedia) return { stream: null, problem: "insecure" };
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } },
    });
    return { stream, problem: null };
  } catch (err) {
    const name = /** @type {Error} */ (err).name;
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      // No camera: try sound alone.
      try {
        return { stream: await navigator.mediaDevices.getUserMedia({ audio: true }), problem: "noCamera" };
      } catch {
        return { stream: null, problem: "noDevices" };
      }
    }
    return { stream: null, problem: name === "NotAllowedError" ? "denied" : "noDevices" };
  }
}
