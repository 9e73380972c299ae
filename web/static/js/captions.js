// @ts-check
// Live captions. The family's page (`CaptionSender`) sends its own microphone's audio
// to the server, only while captions are on for the visit and not paused, and says so
// on screen; the resident's devices (`CaptionView`) show what was said in very large
// type: the last two lines, a partial line only as far as it has stopped changing.

/**
 * What the sender needs of the signaling connection.
 * @typedef {{ send: (frame: import("../../types/protocol").ClientFrame) => void, readonly ws: WebSocket | null }} Signaling
 */

/** The part two texts share from their start. */
export function stablePrefix(/** @type {string} */ a, /** @type {string} */ b) {
  let i = 0;
  const x = [...a];
  const y = [...b];
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return x.slice(0, i).join("");
}

export class CaptionSender {
  /**
   * @param {Signaling} signaling
   * @param {string} lang "ja" or "en": the page's language, taken as the speaker's
   */
  constructor(signaling, lang) {
    this.signaling = signaling;
    this.lang = lang === "en" ? "en" : "ja";
    /** Captions are on for the visit (the server says so). */
    this.on = false;
    /** The family paused them. */
    this.paused = false;
    /** @type {AudioContext | null} */
    this.context = null;
    /** @type {MediaStreamTrack | null} */
    this.track = null;
    /** Audio frames sent (for tests and support). */
    this.sent = 0;
    this.box = document.getElementById("captions-family");
    this.button = document.getElementById("captions-pause");
    this.button?.addEventListener("click", () => this.setPaused(!this.paused));
  }

  /** @param {MediaStream | null} stream the family's own camera and microphone */
  setStream(stream) {
    this.track = stream?.getAudioTracks()[0] ?? null;
  }

  /** The visit's captions setting, from `welcome` and `visit` frames. */
  setOn(/** @type {boolean} */ on) {
    this.on = on;
    if (this.box) this.box.hidden = !on;
    this.update();
  }

  setPaused(/** @type {boolean} */ paused) {
    this.paused = paused;
    if (this.button) {
      this.button.setAttribute("aria-pressed", String(paused));
      this.button.textContent = (paused ? this.button.dataset.resume : this.button.dataset.pause) ?? "";
    }
    this.box?.classList.toggle("paused", paused);
    this.update();
  }

  /** Tells the server (again, after a reconnect) whether we are sending. */
  update() {
    const sending = this.on && !this.paused && !!this.track;
    if (sending) {
      this.signaling.send({ type: "captions", lang: this.lang });
      this.start().catch(() => {});
    } else {
      this.signaling.send({ type: "captions", paused: true });
      this.context?.suspend().catch(() => {});
    }
  }

  async start() {
    if (!this.track) return;
    if (this.context) {
      await this.context.resume();
      return;
    }
    const context = new AudioContext();
    this.context = context;
    await context.audioWorklet.addModule("/static/js/captions-worklet.js");
    const source = context.createMediaStreamSource(new MediaStream([this.track]));
    const node = new AudioWorkletNode(context, "menkai-downsampler");
    node.port.onmessage = (event) => {
      if (!this.on || this.paused) return;
      const ws = this.signaling.ws;
      if (ws?.readyState === WebSocket.OPEN && ws.bufferedAmount < 64 * 1024) {
        ws.send(event.data);
        this.sent++;
      }
    };
    source.connect(node);
    // Nothing is played: the node's output goes nowhere audible.
    const mute = context.createGain();
    mute.gain.value = 0;
    node.connect(mute).connect(context.destination);
    await context.resume();
  }
}

/** @typedef {{ from: string, seq: number, text: string, final: boolean, shown: string }} Line */

export class CaptionView {
  /** @param {(peerId: string) => string} nameOf */
  constructor(nameOf) {
    this.nameOf = nameOf;
    this.box = document.getElementById("captions");
    this.notice = document.getElementById("captions-notice");
    /** @type {Line[]} */
    this.lines = [];
    /** Speakers heard in this visit: names are shown once there are two. */
    this.speakers = new Set();
    /** Every caption frame of this visit, as it came (for tests and support: when,
     * and what), at most the last 200.
     * @type {{ at: number, from: string, seq: number, text: string, final: boolean }[]} */
    this.heard = [];
  }

  /** Captions on or off for the visit now. */
  setOn(/** @type {boolean} */ on) {
    if (this.box) this.box.hidden = !on;
    if (!on) this.clear();
  }

  setAvailable(/** @type {boolean} */ available) {
    if (this.notice) this.notice.hidden = available;
  }

  clear() {
    this.heard = [];
    this.lines = [];
    this.speakers.clear();
    this.render();
  }

  /** @param {{ from: string, text: string, final: boolean, seq: number }} msg */
  add(msg) {
    this.setAvailable(true);
    this.heard.push({ at: Date.now(), from: msg.from, seq: msg.seq, text: msg.text, final: msg.final });
    if (this.heard.length > 200) this.heard.shift();
    let line = this.lines.find((l) => l.from === msg.from && l.seq === msg.seq);
    if (!line) {
      if (msg.text === "") return;
      line = { from: msg.from, seq: msg.seq, text: "", final: false, shown: "" };
      this.lines.push(line);
    }
    if (line.final) return;
    if (msg.final) {
      line.final = true;
      line.shown = msg.text;
      if (msg.text === "") this.lines = this.lines.filter((l) => l !== line);
    } else {
      // Only what two partials in a row agree on: the text grows, it never flickers.
      line.shown = line.text ? stablePrefix(line.text, msg.text) || line.shown : "";
      line.text = msg.text;
    }
    if (line.shown || line.final) this.speakers.add(msg.from);
    this.lines = this.lines.slice(-2);
    this.render();
  }

  render() {
    if (!this.box) return;
    const rows = this.box.querySelectorAll(".caption-line");
    const shown = this.lines.filter((l) => l.shown);
    const named = this.speakers.size > 1;
    rows.forEach((row, i) => {
      const line = shown[shown.length - rows.length + i];
      row.replaceChildren();
      if (line && named) {
        const who = document.createElement("span");
        who.className = "who";
        who.textContent = `${this.nameOf(line.from)}: `;
        row.append(who);
      }
      if (line) row.append(line.shown);
      row.classList.toggle("partial", !!line && !line.final);
    });
  }
}
