// @ts-check
// One RTCPeerConnection per other endpoint of the visit, each negotiated with the W3C
// "perfect negotiation" pattern: either side may offer at any time, and glare is
// settled by politeness (the peer with the smaller id yields).

/**
 * @typedef {{ peer_id: string, role: string, name: string }} PeerInfo
 * @typedef {{ pc: RTCPeerConnection, info: PeerInfo, polite: boolean, makingOffer: boolean,
 *             ignoreOffer: boolean, stream: MediaStream }} Link
 */

export class Mesh {
  /**
   * @param {(to: string, data: any) => void} send
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
    /** @type {MediaStream | null} */
    this.local = null;
    /** @type {Map<string, Link>} */
    this.links = new Map();
  }

  /** @param {MediaStream | null} stream */
  setLocal(stream) {
    this.local = stream;
  }

  /** A peer to talk to; an existing connection to it is kept (a resumed peer). @param {PeerInfo} info */
  add(info) {
    const existing = this.links.get(info.peer_id);
    if (existing) {
      existing.info = info;
      return existing;
    }
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    /** @type {Link} */
    const link = { pc, info, polite: this.me < info.peer_id, makingOffer: false, ignoreOffer: false, stream: new MediaStream() };
    this.links.set(info.peer_id, link);
    const tracks = this.local?.getTracks() ?? [];
    const kinds = new Set(tracks.map((t) => t.kind));
    for (const track of tracks) pc.addTrack(track, /** @type {MediaStream} */ (this.local));
    // Receive both kinds even when we have no camera or microphone.
    for (const kind of ["audio", "video"]) if (!kinds.has(kind)) pc.addTransceiver(kind, { direction: "recvonly" });
    pc.ontrack = ({ track }) => {
      link.stream.addTrack(track);
      this.events.onStream(link.info, link.stream);
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.send(info.peer_id, { candidate: candidate.toJSON() });
    };
    pc.onnegotiationneeded = async () => {
      try {
        link.makingOffer = true;
        await pc.setLocalDescription();
        this.send(info.peer_id, { description: pc.localDescription?.toJSON() });
      } catch (err) {
        console.warn("offer failed", err);
      } finally {
        link.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => {
      this.events.onState(info.peer_id, pc.connectionState);
      // A path that failed may come back over another route: try ICE again.
      if (pc.connectionState === "failed") pc.restartIce();
    };
    return link;
  }

  /** @param {string} from @param {any} data */
  async receive(from, data) {
    const link = this.links.get(from);
    if (!link) return;
    const { pc } = link;
    try {
      if (data.description) {
        const description = data.description;
        const collision = description.type === "offer" && (link.makingOffer || pc.signalingState !== "stable");
        link.ignoreOffer = !link.polite && collision;
        if (link.ignoreOffer) return;
        await pc.setRemoteDescription(description);
        if (description.type === "offer") {
          await pc.setLocalDescription();
          this.send(from, { description: pc.localDescription?.toJSON() });
        }
      } else if (data.candidate) {
        try {
          await pc.addIceCandidate(data.candidate);
        } catch (err) {
          if (!link.ignoreOffer) throw err;
        }
      }
    } catch (err) {
      console.warn("negotiation failed", err);
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
      let rtt = null;
      let lost = 0;
      let received = 0;
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
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") rtt = s.currentRoundTripTime ?? null;
      });
      out.push({ peerId, role: info.role, name: info.name, state: pc.connectionState, framesDecoded, audioBytes, videoBytes, rtt, lost, received });
    }
    return out;
  }
}
