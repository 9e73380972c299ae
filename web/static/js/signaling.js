// @ts-check
// The signaling socket (docs/PROTOCOL.md): says hello with a token, reconnects by
// itself with its resume token after a drop or a server restart, and notices a dead
// connection by its own pings.
//
// The resume token is kept in memory only: a reloaded page is a new peer (its old
// connections are gone), while a page that merely lost its socket is the same peer.

/**
 * @typedef {import("../../types/protocol").ServerFrame} ServerFrame
 * @typedef {import("../../types/protocol").ClientFrame} ClientFrame
 * @typedef {import("../../types/protocol").HelloFrame} HelloFrame
 * @typedef {import("../../types/protocol").SignalData} SignalData
 */

const PING_EVERY_MS = 15000;
const DEAD_AFTER_MS = 10000;

// Reconnecting. When the server restarts, every page loses its socket at the same
// moment, so each one waits a random time and they come back spread out, not in
// lockstep. The first try is quick (100–250 ms: a restart takes about a second, and a
// blip of Wi-Fi is often over at once); after it the wait doubles from 250 ms, each a
// random time in [base/2, base]. For the first 30 s of an outage the base stops at
// 0.8 s, so a restarted server has its pages back within a second of answering (the
// wait plus a handshake); an outage
// longer than that is the network's or a long one, and the base grows to 3 s.
const FIRST_RETRY_MS = { min: 100, max: 250 };
const BACKOFF_FROM_MS = 250;
const QUICK_CAP_MS = 800;
const QUICK_FOR_MS = 30000;
const SLOW_CAP_MS = 3000;

export class Signaling {
  /**
   * @param {string} token invitation or device token
   * @param {(msg: ServerFrame) => void} onMessage every server frame but `pong`
   * @param {(connected: boolean) => void} onLink socket up or down
   * @param {(error: unknown) => void} onCrash `onMessage` threw: the page has stopped
   *   (see `fail`) and must say so
   */
  constructor(token, onMessage, onLink, onCrash) {
    this.token = token;
    this.onMessage = onMessage;
    this.onLink = onLink;
    this.onCrash = onCrash;
    /** @type {string | null} */
    this.resume = null;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** Tries since the server last welcomed us. */
    this.retry = 0;
    /** When the current outage began (Date.now()). */
    this.downSince = 0;
    this.stopped = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.deadTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    addEventListener("pagehide", () => this.leave());
    // The network is back, or the person looks at the page again (a phone that slept
    // kept waiting out its backoff, or holds a socket that died in its sleep).
    addEventListener("online", () => this.soon());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.soon();
    });
  }

  connect() {
    if (this.stopped) return;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      /** @type {HelloFrame} */
      const hello = { type: "hello", token: this.token };
      if (this.resume) hello.resume = this.resume;
      ws.send(JSON.stringify(hello));
      this.onLink(true);
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
    };
    ws.onmessage = (event) => {
      clearTimeout(this.deadTimer);
      /** @type {ServerFrame} */
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg.type === "welcome") {
        this.resume = msg.resume;
        // Only a welcome resets the backoff: a socket that opens and is closed at once
        // (a full visit, say) must not be retried every 100 ms.
        this.retry = 0;
      }
      if (msg.type === "pong") return;
      try {
        this.onMessage(msg);
      } catch (error) {
        this.fail(error);
      }
    };
    ws.onclose = () => {
      clearInterval(this.pingTimer);
      clearTimeout(this.deadTimer);
      // Closed on purpose (the visit ended, the person left): nothing to report.
      if (this.ws !== ws || this.stopped) return;
      this.onLink(false);
      this.scheduleRetry();
    };
  }

  /** Connects again after the next wait of the backoff (see the top of this file). */
  scheduleRetry() {
    const attempt = this.retry++;
    let delay;
    if (attempt === 0) {
      this.downSince = Date.now();
      delay = FIRST_RETRY_MS.min + Math.random() * (FIRST_RETRY_MS.max - FIRST_RETRY_MS.min);
    } else {
      const cap = Date.now() - this.downSince < QUICK_FOR_MS ? QUICK_CAP_MS : SLOW_CAP_MS;
      const base = Math.min(cap, BACKOFF_FROM_MS * 2 ** (attempt - 1));
      delay = base / 2 + Math.random() * (base / 2);
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
  }

  /**
   * Reconnects soon instead of waiting out the backoff; with a socket that looks open,
   * checks that it still is. The short jittered wait matters for `online`, which every
   * tablet of a facility sees at once when its Wi-Fi comes back.
   */
  soon() {
    if (this.stopped) return;
    if (this.retryTimer !== undefined) {
      this.retry = 0;
      this.scheduleRetry();
    } else {
      this.ping();
    }
  }

  ping() {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.send({ type: "ping" });
    // Any frame clears this; a pong that never comes means a dead socket: close it,
    // and onclose reconnects.
    clearTimeout(this.deadTimer);
    this.deadTimer = setTimeout(() => this.ws?.close(), DEAD_AFTER_MS);
  }

  /** @param {ClientFrame} frame sent if the socket is open, else dropped */
  send(frame) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** @param {string} to peer id @param {SignalData} data */
  signal(to, data) {
    this.send({ type: "signal", to, data });
  }

  /** Says goodbye (the others see us leave at once) and stops reconnecting. */
  leave() {
    if (this.stopped) return;
    this.send({ type: "leave" });
    this.stop();
  }

  /**
   * The page stopped on an error of its own while handling a frame. Carrying on would
   * leave it half-working (the family "present" to staff while nothing happens here,
   * the ward rebuilding a connection nobody answers): tell the server, which takes this
   * peer out of the visit, stop reconnecting, and let the page say so.
   * @param {unknown} error
   */
  fail(error) {
    const message = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 300);
    this.send({ type: "client_error", message });
    this.stop();
    this.onCrash(error);
  }

  /** Stops without saying goodbye (the visit ended, or the server refused us for good). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.ws?.close();
  }
}
