// @ts-check
// One RTCPeerConnection per other endpoint of the visit, each negotiated with the W3C
// "perfect negotiation" pattern: either side may offer at any time, and glare is
// settled by politeness (the peer with the smaller id yields). When two endpoints meet,
// the impolite one offers first and the polite one waits for that offer: no glare on
// the first exchange (Chromium sometimes gathered no candidates after one), and the
// DTLS roles it settles stay the same in every later exchange, whoever offers.

/**
 * @typedef {import("../../types/protocol").PeerInfo} PeerInfo
 * @typedef {import("../../types/protocol").ServerFrame} ServerFrame
 * @typedef {import("../../types/protocol").SignalData} SignalData
 * @typedef {{ pc: RTCPeerConnection, info: PeerInfo, polite: boolean, makingOffer: boolean,
 *             ignoreOffer: boolean, waitForOffer: boolean, stream: MediaStream,
 *             sentCandidates?: number, gotCandidates?: number }} Link
 */

export class Mesh {
  /**
   * @param {(to: string, data: SignalData) => void} send
   * @param {{ onStream: (info: PeerInfo, stream: MediaStream) => void,
   *           onGone: (peerId: string) => void,
   *           onState: (peerId: string, state: RTCPeerConnectionState) => void }} events
   */
  constructor(send, events) {
    this.send = send;
    this.events = events;
    /** @type {string} */
    this.me = "";
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** "relay" when the server wants relayed paths only (its `relay_only`). */
    /** @type {RTCIceTransportPolicy} */
    this.iceTransportPolicy = "all";
    /** @type {MediaStream | null} */
    this.local = null;
    /** @type {Map<string, Link>} */
    this.links = new Map();
    /** The family turned their camera off: no picture is sent (see `sendVideo`). */
    this.videoOff = false;
    /**
     * Recent negotiation events, for support and tests.
     * @type {string[]}
     */
    this.log = [];
  }

  /** @param {string} line */
  note(line) {
    this.log.push(`${Math.round(performance.now())} ${line}`);
    if (this.log.length > 200) this.log.shift();
  }

  /** @param {MediaStream | null} stream */
  setLocal(stream) {
    this.local = stream;
    // Links made before the camera was open only receive: start sending on them (the
    // direction change renegotiates through the usual perfect-negotiation path).
    if (!stream) return;
    for (const link of this.links.values()) {
      for (const track of stream.getTracks()) {
        const transceiver = link.pc
          .getTransceivers()
          .find((t) => t.receiver.track.kind === track.kind && !t.sender.track && t.direction !== "stopped");
        if (!transceiver) continue;
        transceiver.sender.replaceTrack(track);
        transceiver.sender.setStreams(stream);
        transceiver.direction = "sendrecv";
      }
    }
  }

  /**
   * Starts or stops sending our picture. A disabled track alone would still send black
   * frames, which the other side cannot tell from a dark room; a transceiver that no
   * longer sends mutes the track on the other side (after the usual renegotiation), so
   * its screen shows the person's name instead of a black tile.
   * @param {boolean} on
   */
  sendVideo(on) {
    this.videoOff = !on;
    for (const link of this.links.values()) this.applyVideo(link);
  }

  /** @param {Link} link */
  applyVideo(link) {
    for (const t of link.pc.getTransceivers()) {
      if (t.receiver.track.kind !== "video" || !t.sender.track || t.direction === "stopped") continue;
      const wanted = this.videoOff ? "recvonly" : "sendrecv";
      if (t.direction !== wanted) t.direction = wanted;
    }
  }

  /**
   * A peer to talk to; an existing connection to it is kept (a resumed peer).
   * @param {PeerInfo} info
   */
  add(info) {
    const existing = this.links.get(info.peer_id);
    if (existing) {
      existing.info = info;
      return existing;
    }
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy });
    const polite = this.me < info.peer_id;
    /** @type {Link} */
    const link = { pc, info, polite, makingOffer: false, ignoreOffer: false, waitForOffer: polite, stream: new MediaStream() };
    this.links.set(info.peer_id, link);
    const tracks = this.local?.getTracks() ?? [];
    const kinds = new Set(tracks.map((t) => t.kind));
    for (const track of tracks) pc.addTrack(track, /** @type {MediaStream} */ (this.local));
    // Receive both kinds even when we have no camera or microphone.
    for (const kind of ["audio", "video"]) if (!kinds.has(kind)) pc.addTransceiver(kind, { direction: "recvonly" });
    if (this.videoOff) this.applyVideo(link);
    pc.ontrack = ({ track }) => {
      link.stream.addTrack(track);
      this.events.onStream(link.info, link.stream);
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) {
        link.sentCandidates = (link.sentCandidates ?? 0) + 1;
        this.send(info.peer_id, { candidate: candidate.toJSON() });
      }
    };
    pc.onnegotiationneeded = () => {
      if (!link.waitForOffer) this.offer(link);
    };
    this.note(`link to ${info.peer_id} (${info.role}), polite ${link.polite}`);
    this.watch(link);
    pc.onconnectionstatechange = () => {
      this.events.onState(info.peer_id, pc.connectionState);
      // A path that failed may come back over another route: try ICE again.
      if (pc.connectionState === "failed") pc.restartIce();
    };
    return link;
  }

  /** @param {Link} link */
  async offer(link) {
    const { pc } = link;
    if (link.makingOffer || pc.signalingState !== "stable") return;
    try {
      link.makingOffer = true;
      await pc.setLocalDescription();
      this.sendDescription(link);
    } catch (err) {
      this.note(`offer failed: ${err}`);
    } finally {
      link.makingOffer = false;
    }
  }

  /**
   * Sends our local description (the offer or answer just set) to the link's peer.
   * @param {Link} link
   */
  sendDescription(link) {
    const description = link.pc.localDescription;
    if (!description) return;
    this.note(`sent ${description.type} to ${link.info.peer_id}`);
    this.send(link.info.peer_id, { description: { type: description.type, sdp: description.sdp } });
  }

  /**
   * Signals can be lost (a socket dropped in between, a peer not yet known to the
   * other side). A link whose offer went unanswered, or that never got going, offers
   * again; perfect negotiation makes a repeated offer harmless.
   * @param {Link} link
   */
  watch(link) {
    const { pc } = link;
    let since = performance.now();
    let lastState = "";
    let stalls = 0;
    const timer = setInterval(async () => {
      if (pc.connectionState === "closed" || this.links.get(link.info.peer_id) !== link) {
        clearInterval(timer);
        return;
      }
      const state = `${pc.signalingState}/${pc.connectionState}`;
      if (state !== lastState) {
        lastState = state;
        since = performance.now();
        return;
      }
      if (performance.now() - since < 5000 || pc.connectionState === "connected") return;
      since = performance.now();
      stalls += 1;
      const counts = `candidates sent ${link.sentCandidates ?? 0}, got ${link.gotCandidates ?? 0}`;
      try {
        if (stalls >= 2 && !link.polite && pc.connectionState === "new") {
          // A connection that never gathered a path is replaced on both sides.
          this.note(`link to ${link.info.peer_id} stuck (${counts}): rebuilding`);
          this.send(link.info.peer_id, { reset: true });
          this.rebuild(link.info.peer_id);
        } else if (pc.signalingState === "have-local-offer") {
          this.note(`offer to ${link.info.peer_id} unanswered: offering again`);
          await pc.setLocalDescription({ type: "rollback" });
          pc.restartIce();
        } else if (pc.signalingState === "stable" && pc.connectionState === "new") {
          this.note(`link to ${link.info.peer_id} idle (${counts}): offering`);
          link.waitForOffer = false;
          pc.restartIce();
          await this.offer(link);
        } else if (pc.connectionState === "disconnected" || pc.connectionState === "failed") {
          // The path went away and did not come back by itself (a relay restarted, a
          // phone changed networks): gather new paths now rather than after the 30 s
          // a browser waits before calling it failed.
          this.note(`link to ${link.info.peer_id} ${pc.connectionState}: restarting ICE`);
          pc.restartIce();
        }
      } catch (err) {
        this.note(`retry failed: ${err}`);
      }
    }, 1000);
  }

  /**
   * Replaces the connection to a peer with a fresh one.
   * @param {string} peerId
   */
  rebuild(peerId) {
    const link = this.links.get(peerId);
    if (!link) return;
    link.pc.close();
    this.links.delete(peerId);
    this.add(link.info);
  }

  /** @param {string} from @param {SignalData} data */
  async receive(from, data) {
    const link = this.links.get(from);
    if (!link) {
      this.note(`dropped ${"description" in data ? data.description.type : "reset" in data ? "reset" : "candidate"} from unknown ${from}`);
      return;
    }
    const { pc } = link;
    try {
      if ("reset" in data) {
        this.note(`${from} asked to rebuild the connection`);
        this.rebuild(from);
      } else if ("description" in data) {
        const description = data.description;
        link.waitForOffer = false;
        const collision = description.type === "offer" && (link.makingOffer || pc.signalingState !== "stable");
        link.ignoreOffer = !link.polite && collision;
        this.note(`got ${description.type} from ${from} (${pc.signalingState}, polite ${link.polite}, collision ${collision})`);
        if (link.ignoreOffer) return;
        await pc.setRemoteDescription(description);
        if (description.type === "offer") {
          await pc.setLocalDescription();
          this.sendDescription(link);
        }
      } else if ("candidate" in data) {
        link.gotCandidates = (link.gotCandidates ?? 0) + 1;
        try {
          await pc.addIceCandidate(data.candidate);
        } catch (err) {
          if (!link.ignoreOffer) throw err;
        }
      }
    } catch (err) {
      this.note(`negotiation failed: ${err}`);
    }
  }

  /**
   * Handles the frames about peers (joined, left, signal); says whether it did.
   * @param {ServerFrame} msg
   */
  handle(msg) {
    switch (msg.type) {
      case "peer-joined":
        this.add(msg.peer);
        return true;
      case "peer-left":
        this.remove(msg.peer_id);
        return true;
      case "signal":
        this.receive(msg.from, msg.data);
        return true;
      default:
        return false;
    }
  }

  /** After our socket came back: find fresh paths to everyone. */
  restartIce() {
    for (const { pc } of this.links.values()) pc.restartIce();
  }

  /** @param {string} peerId */
  remove(peerId) {
    const link = this.links.get(peerId);
    if (!link) return;
    link.pc.close();
    this.links.delete(peerId);
    this.events.onGone(peerId);
  }

  closeAll() {
    for (const peerId of [...this.links.keys()]) this.remove(peerId);
  }

  /** Per peer: connection state, video frames decoded, audio bytes received, round trip. */
  async stats() {
    const out = [];
    for (const [peerId, { pc, info }] of this.links) {
      let framesDecoded = 0;
      let audioBytes = 0;
      let videoBytes = 0;
      /** @type {number | null} */
      let rtt = null;
      let lost = 0;
      let received = 0;
      /** @type {string | undefined} */
      let pairLocal;
      /** @type {string | undefined} */
      let pairRemote;
      /** @type {Map<string, string>} */
      const candidateTypes = new Map();
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") {
          framesDecoded += s.framesDecoded ?? 0;
          videoBytes += s.bytesReceived ?? 0;
        }
        if (s.type === "inbound-rtp" && s.kind === "audio") audioBytes += s.bytesReceived ?? 0;
        if (s.type === "inbound-rtp") {
          lost += s.packetsLost ?? 0;
          received += s.packetsReceived ?? 0;
        }
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
          rtt = s.currentRoundTripTime ?? null;
          pairLocal = s.localCandidateId;
          pairRemote = s.remoteCandidateId;
        }
        if (s.type === "local-candidate" || s.type === "remote-candidate") candidateTypes.set(s.id, s.candidateType);
      });
      // The candidate types of the path in use (host, srflx, prflx, relay), ours first;
      // through a relay when either end is a relay's address.
      const path = [pairLocal, pairRemote].map((id) => (id === undefined ? "" : (candidateTypes.get(id) ?? "")));
      const relayed = path.includes("relay");
      out.push({ peerId, role: info.role, name: info.name, state: pc.connectionState, framesDecoded, audioBytes, videoBytes, rtt, lost, received, relayed, path });
    }
    return out;
  }
}
