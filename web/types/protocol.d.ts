// The signaling wire protocol (docs/PROTOCOL.md) as the browser pages see it: one JSON
// object per WebSocket text frame, told apart by `type`. The server's own types are in
// signaling/src/signaling/protocol.rs; keep the two in step.
//
// Only for the type checker (`tsc -p web/jsconfig.json`): nothing here is served or
// embedded. Scripts import the types in JSDoc, e.g.
//   /** @typedef {import("../../types/protocol").ServerFrame} ServerFrame */

export type Role = "guest" | "ward" | "entrance";

/** `scheduled → open → live → ended`, or `cancelled`. */
export type VisitState = "scheduled" | "open" | "live" | "ended" | "cancelled";

/** `remote`: the family joins from home by link; `entrance`: at the entrance kiosk. */
export type VisitMode = "remote" | "entrance";

/** Codes of `error` frames (docs/PROTOCOL.md, "Error codes"). */
export type ErrorCode =
  | "invalid_token"
  | "link_expired"
  | "link_replaced"
  | "visit_cancelled"
  | "too_early"
  | "visit_full"
  | "bad_message"
  | "message_too_large"
  | "rate_limited"
  | "unknown_peer"
  | "internal"
  // The same invitation was opened on another device, which took the seat; this
  // (older) socket is closed next.
  | "joined_elsewhere"
  // Staff revoked this device; its socket is closed next.
  | "device_revoked";

export interface PeerInfo {
  peer_id: string;
  role: Role;
  name: string;
}

export interface VisitInfo {
  id: string;
  resident: string;
  /** RFC 3339 */
  starts_at: string;
  /** RFC 3339 */
  ends_at: string;
  state: VisitState;
}

/** From the config file's `[[ice_servers]]` (or the embedded relay); fits `RTCIceServer`. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface ScheduleEntry {
  id: string;
  resident: string;
  /** RFC 3339 */
  starts_at: string;
  /** RFC 3339 */
  ends_at: string;
  mode: VisitMode;
}

/**
 * What `signal` frames carry from one endpoint to another. The server relays it byte
 * for byte without reading it; Menkai's clients (these pages and menkai-peer) send
 * exactly these three shapes.
 */
export type SignalData =
  /** An offer or an answer (W3C perfect negotiation). */
  | { description: RTCSessionDescriptionInit }
  /** One ICE candidate, with the `sdpMid` of the first media section (all bundled). */
  | { candidate: RTCIceCandidateInit }
  /** "Rebuild our connection": it never found a path. */
  | { reset: true };

// ---- Server → client ----

export interface WelcomeFrame {
  type: "welcome";
  peer_id: string;
  role: Role;
  /** Sent back in the next `hello` after a drop, to take the same seat again. */
  resume: string;
  /** `null` for a device between visits. */
  visit: VisitInfo | null;
  peers: PeerInfo[];
  ice_servers: IceServer[];
  /** `"relay"`: use relayed paths only (the server's `relay_only`, to prove a relay). */
  ice_transport_policy?: RTCIceTransportPolicy;
  /** Devices only (an extension): the rest of today's visits. */
  schedule?: ScheduleEntry[];
  /** Devices only (an extension): playback volume, 1 = full, above 1 amplified. */
  volume?: number;
  /** The server's clock, RFC 3339 (an extension). */
  now: string;
}

export interface PeerJoinedFrame {
  type: "peer-joined";
  peer: PeerInfo;
}

export interface PeerLeftFrame {
  type: "peer-left";
  peer_id: string;
}

export interface SignalFrame {
  type: "signal";
  from: string;
  data: SignalData;
}

/** On every change of the visit's state or times. */
export interface VisitFrame {
  type: "visit";
  state: VisitState;
  starts_at: string;
  ends_at: string;
  /** Present when the frame puts a device into (or out of) a visit. */
  id?: string;
  resident?: string;
  /** With `id`, for a device: fresh STUN/TURN servers for this visit. */
  ice_servers?: IceServer[];
  /** The server's clock, RFC 3339 (an extension). */
  now: string;
}

export interface PongFrame {
  type: "pong";
}

export interface ErrorFrame {
  type: "error";
  code: ErrorCode;
  /** English, for logs; pages show their own translated text per code. */
  message: string;
}

/** Devices only (an extension): staff changed the volume (0.5, 0.75, 1, 1.5, 2 or 3). */
export interface ControlFrame {
  type: "control";
  volume: number;
}

/** Devices only (an extension): today's visits changed. */
export interface ScheduleFrame {
  type: "schedule";
  schedule: ScheduleEntry[];
}

export type ServerFrame =
  | WelcomeFrame
  | PeerJoinedFrame
  | PeerLeftFrame
  | SignalFrame
  | VisitFrame
  | PongFrame
  | ErrorFrame
  | ControlFrame
  | ScheduleFrame;

// ---- Client → server ----

export interface HelloFrame {
  type: "hello";
  /** An invitation token (from `/v/{token}`) or a device token. */
  token: string;
  /** From an earlier `welcome`, to take the same seat back. */
  resume?: string;
}

export interface OutgoingSignalFrame {
  type: "signal";
  to: string;
  data: SignalData;
}

export interface PingFrame {
  type: "ping";
}

export interface LeaveFrame {
  type: "leave";
}

/**
 * A device's health report (the device-health contract in DESIGN.md): fields it cannot
 * know are left out. Not yet sent by the pages nor accepted by the server (which answers
 * `bad_message` today).
 */
export type MediaProblem = "insecure" | "denied" | "missing";

export interface HealthFrame {
  type: "health";
  camera?: boolean;
  microphone?: boolean;
  /** Why not, when known. */
  camera_problem?: MediaProblem;
  microphone_problem?: MediaProblem;
  app?: string;
  browser?: string;
  /** 0..1 */
  battery?: number;
  charging?: boolean;
  uptime_s?: number;
  restarts?: number;
  /** In a call: whether its media goes through a relay. */
  relayed?: boolean;
}

export type ClientFrame = HelloFrame | OutgoingSignalFrame | PingFrame | LeaveFrame | HealthFrame;
