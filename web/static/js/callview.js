// @ts-check
// The call screen, shared by the family's page and the ward/entrance device page:
// the resident's side large, other family homes smaller, your own picture small,
// three big labelled buttons, a connection-quality sign, and gentle notices before
// the end. All text comes from the page (data-* attributes), already translated.

import { Mesh } from "./mesh.js";

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Translated strings rendered into #strings by the server. @param {string} key */
export function t(key) {
  return $("strings")?.dataset[key] ?? key;
}

/** Plays a media element; if the browser wants a tap first, shows the sound button. @param {HTMLMediaElement} el */
export async function play(el) {
  try {
    await el.play();
  } catch (err) {
    // Only a browser that wants a tap first says NotAllowedError; an interrupted
    // play() (the stream changed) is harmless.
    if (/** @type {Error} */ (err).name !== "NotAllowedError") return;
    const button = $("tap-for-sound");
    if (!button) return;
    button.hidden = false;
    button.onclick = () => {
      button.hidden = true;
      for (const media of document.querySelectorAll("video")) media.play().catch(() => {});
    };
  }
}

export class CallView {
  /** @param {Mesh} mesh */
  constructor(mesh) {
    this.mesh = mesh;
    this.remotes = $("remotes");
    /** @type {Map<string, HTMLElement>} */
    this.tiles = new Map();
    this.volume = 1;
    /** @type {number | null} */
    this.endsAt = null;
    /** @type {Set<number>} */
    this.noticed = new Set();
    this.serverOffset = 0;
    /** The resident's name, shown on the ward tablet's picture. */
    this.residentName = "";
    setInterval(() => this.refreshQuality(), 3000);
    setInterval(() => this.checkEnding(), 5000);
  }

  /** @param {MediaStream | null} stream */
  showSelf(stream) {
    const self = /** @type {HTMLVideoElement} */ ($("self"));
    if (!self) return;
    self.srcObject = stream;
    self.hidden = !stream || stream.getVideoTracks().length === 0;
  }

  /** @param {{ peer_id: string, role: string, name: string }} info @param {MediaStream} stream */
  addStream(info, stream) {
    let tile = this.tiles.get(info.peer_id);
    if (!tile) {
      tile = document.createElement("figure");
      tile.className = `tile role-${info.role}`;
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      const caption = document.createElement("figcaption");
      caption.textContent = info.role === "ward" && this.residentName ? this.residentName : info.name;
      const paused = document.createElement("p");
      paused.className = "video-paused";
      paused.textContent = t("videoPaused");
      paused.hidden = true;
      tile.append(video, caption, paused);
      // The resident's side first and large.
      if (info.role === "guest") this.remotes.append(tile);
      else this.remotes.prepend(tile);
      this.tiles.set(info.peer_id, tile);
    }
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector("video"));
    if (video.srcObject !== stream) video.srcObject = stream;
    video.volume = this.volume;
    play(video);
    this.layout();
  }

  /** @param {string} peerId */
  removePeer(peerId) {
    this.tiles.get(peerId)?.remove();
    this.tiles.delete(peerId);
    this.layout();
  }

  layout() {
    this.remotes.dataset.count = String(this.tiles.size);
    $("alone").hidden = this.tiles.size > 0;
  }

  /** @param {number} volume 0..1 */
  setVolume(volume) {
    this.volume = Math.max(0, Math.min(1, volume));
    for (const video of this.remotes.querySelectorAll("video")) /** @type {HTMLVideoElement} */ (video).volume = this.volume;
  }

  /** Binds the microphone, camera and leave buttons. @param {() => MediaStream | null} local @param {() => void} onLeave */
  bindControls(local, onLeave) {
    const toggle = (/** @type {string} */ id, /** @type {"audio" | "video"} */ kind, /** @type {string} */ onKey, /** @type {string} */ offKey) => {
      const button = /** @type {HTMLButtonElement} */ ($(id));
      if (!button) return;
      button.onclick = () => {
        const tracks = kind === "audio" ? local()?.getAudioTracks() : local()?.getVideoTracks();
        if (!tracks?.length) return;
        const enabled = !tracks[0].enabled;
        for (const track of tracks) track.enabled = enabled;
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

  /** Good, fair or poor, from round trip and loss; and "picture paused" where video stalls. */
  async refreshQuality() {
    const stats = await this.mesh.stats();
    let worst = 0;
    for (const s of stats) {
      const lossRate = s.received > 0 ? s.lost / (s.received + s.lost) : 0;
      const level = s.state !== "connected" ? 2 : (s.rtt ?? 0) > 0.4 || lossRate > 0.08 ? 2 : (s.rtt ?? 0) > 0.2 || lossRate > 0.03 ? 1 : 0;
      worst = Math.max(worst, level);
      const tile = this.tiles.get(s.peerId);
      const previous = Number(tile?.dataset.frames ?? 0);
      if (tile) {
        const paused = /** @type {HTMLElement} */ (tile.querySelector(".video-paused"));
        // Sound keeps going when pictures cannot get through: say so instead of freezing silently.
        paused.hidden = !(s.state === "connected" && s.framesDecoded === previous && s.audioBytes > 0);
        tile.dataset.frames = String(s.framesDecoded);
      }
    }
    const quality = $("quality");
    if (!quality || stats.length === 0) return;
    const name = ["good", "fair", "poor"][worst];
    quality.dataset.level = name;
    quality.textContent = t(`quality${name[0].toUpperCase()}${name.slice(1)}`);
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
