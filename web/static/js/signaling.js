// @ts-check
// The signaling socket (docs/PROTOCOL.md): says hello with a token, reconnects by
// itself with its resume token after a drop or a server restart, and notices a dead
// connection by its own pings.
//
// The resume token is kept in memory only: a reloaded page is a new peer (its old
// connections are gone), while a page that merely lost its socket is the same peer.

const PING_EVERY_MS = 15000;
const DEAD_AFTER_MS = 10000;

export class Signaling {
  /**
   * @param {string} token invitation or device token
   * @param {(msg: any) => void} onMessage every server frame
   * @param {(connected: boolean) => void} onLink socket up or down
   */
  constructor(token, onMessage, onLink) {
    this.token = token;
    this.onMessage = onMessage;
    this.onLink = onLink;
    /** @type {string | null} */
    this.resume = null;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.retry = 0;
    this.stopped = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.deadTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    addEventListener("pagehide", () => this.leave());
  }

  connect() {
    if (this.stopped) return;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      /** @type {Record<string, string>} */
      const hello = { type: "hello", token: this.token };
      if (this.resume) hello.resume = this.resume;
      ws.send(JSON.stringify(hello));
      this.onLink(true);
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
    };
    ws.onmessage = (event) => {
      clearTimeout(this.deadTimer);
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg.type === "welcome") this.resume = msg.resume;
      if (msg.type !== "pong") this.onMessage(msg);
    };
    ws.onclose = () => {
      clearInterval(this.pingTimer);
      clearTimeout(this.deadTimer);
      // Closed on purpose (the visit ended, the person left): nothing to report.
      if (this.ws !== ws || this.stopped) return;
      this.onLink(false);
      // 0.5 s, 1 s, 2 s … at most 5 s: a restarted server is found again quickly.
      const delay = Math.min(5000, 500 * 2 ** this.retry++);
      setTimeout(() => this.connect(), delay);
    };
  }

  ping() {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ type: "ping" }));
    clearTimeout(this.deadTimer);
    this.deadTimer = setTimeout(() => this.ws?.close(), DEAD_AFTER_MS);
  }

  /** @param {string} to @param {any} data */
  signal(to, data) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "signal", to, data }));
  }

  /** Says goodbye (the others see us leave at once) and stops reconnecting. */
  leave() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "leave" }));
    this.ws?.close();
  }

  /** Stops without saying goodbye (the visit ended; the server closes anyway). */
  stop() {
    this.stopped = true;
    this.ws?.close();
  }
}
